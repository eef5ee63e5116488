"""Per-request helpers shared by controllers: request id, client address, paging limits."""

from __future__ import annotations

import re
import uuid

from litestar import Request

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def assign_request_id(request: Request) -> None:
    """``before_request`` hook: keep a sane client-supplied X-Request-ID, else make one."""
    supplied = request.headers.get("x-request-id", "")
    request.state.request_id = supplied if _SAFE_ID.match(supplied) else uuid.uuid4().hex


def request_id(request: Request) -> str:
    return getattr(request.state, "request_id", "")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
