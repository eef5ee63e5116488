"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from piccolo.engine import engine_finder

NOT_READY = ResponseSpec(data_container=dict[str, str], generate_examples=False,
                         description="未就绪：指明哪个依赖不可用 · Not ready, naming the dependency that failed")


@get("/healthz", operation_id="healthz", summary="存活检查 · Liveness", tags=["ops"], include_in_schema=True)
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/readyz", operation_id="readyz",
     summary="就绪检查（PostgreSQL 与 Redis）· Readiness (PostgreSQL and Redis)", tags=["ops"],
     responses={503: NOT_READY})
async def readyz(request: Request) -> Response[dict[str, str]]:
    """PostgreSQL and Redis both answer (503 otherwise, naming which)."""
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(engine_finder().run_ddl("SELECT 1"), timeout=2)
        checks["postgres"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["postgres"] = f"error: {type(exc).__name__}"
    try:
        await asyncio.wait_for(request.app.state.redis.ping(), timeout=2)
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return Response({"status": "ready" if ready else "not_ready", **checks}, status_code=200 if ready else 503)
