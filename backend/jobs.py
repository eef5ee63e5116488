"""Enqueueing background jobs. One arq pool per process, created on first use.

Enqueueing never makes a request fail: if Redis is down the work stays recorded in PostgreSQL
(e.g. an evidence row in ``pending``) and the worker's sweep cron picks it up later.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings

from backend.settings import get_settings

logger = logging.getLogger("cunxin.jobs")
_pool: ArqRedis | None = None
_suppressed: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("suppressed_jobs", default=frozenset())


@contextlib.contextmanager
def suppressed(*functions: str):
    """Bulk work (seeding, imports) that will run the job's work itself once at the end."""
    token = _suppressed.set(_suppressed.get() | frozenset(functions))
    try:
        yield
    finally:
        _suppressed.reset(token)


def is_suppressed(function: str) -> bool:
    return function in _suppressed.get()


async def _get_pool() -> ArqRedis:
    global _pool
    if _pool is None:
        settings = RedisSettings.from_dsn(get_settings().redis_url)
        settings.conn_retries = 0
        settings.conn_timeout = 2
        _pool = await create_pool(settings)
    return _pool


async def enqueue(function: str, *args, job_id: str | None = None) -> bool:
    """Queue a job; ``job_id`` makes repeated enqueues of the same work collapse into one."""
    global _pool
    if function in _suppressed.get():
        return False
    try:
        pool = await _get_pool()
        await pool.enqueue_job(function, *args, _job_id=job_id)
        return True
    except Exception as exc:  # noqa: BLE001 - any Redis failure: fall back to the sweep
        logger.warning("could not enqueue %s%r: %r (the sweep will retry)", function, args, exc)
        broken, _pool = _pool, None
        if broken is not None:
            with contextlib.suppress(Exception):
                await broken.aclose()
        return False


async def close() -> None:
    global _pool
    if _pool is not None:
        await _pool.aclose()
        _pool = None
