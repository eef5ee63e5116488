"""Path/query parameter types shared by controllers (bounds match the database column types, so
an out-of-range id is a 400, never an integer overflow in PostgreSQL)."""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes
from datetime import date
from typing import Annotated

from litestar import Request
from litestar.params import Parameter

from backend.auth.roles import Actor
from backend.errors import InvalidInput
from backend.requests import assign_request_id
from backend.schemas import CONTROL_CHARACTER_CODE, CONTROL_CHARACTER_EN, CONTROL_CHARACTER_ZH, MAX_PAGE_SIZE

AuthRequest = Request[Actor, object, object]
IntId = Annotated[int, Parameter(ge=1, le=2**31 - 1)]  # serial columns
BigId = Annotated[int, Parameter(ge=1, le=2**63 - 1)]  # bigserial columns (events, entries, evidence, proposals)
OptionalIntId = Annotated[int | None, Parameter(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE, description="page size (≤ 200)")]
Offset = Annotated[int, Parameter(ge=0, le=10_000_000)]

# Taken as text and parsed by ``as_of_date``: Litestar's own date parsing would answer a bad date
# with its generic 400, and clients need one stable 422 code for "this is not a date".
AsOf = Annotated[str | None, Parameter(
    description="YYYY-MM-DD — the day to evaluate, past or future (default: today in the county's zone, "
                "CUNXIN_TZ); an invalid date is a 422 AS_OF_INVALID, a day before the first catalogue "
                "version a 422 RULES_NO_CATALOGUE",
)]

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def as_of_date(raw: str | None) -> date | None:
    """The ``as_of`` query parameter as a date (``None`` when absent); anything but a real
    calendar day written YYYY-MM-DD is refused — never silently replaced by today."""
    if raw is None:
        return None
    if _ISO_DAY.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:  # 2026-02-30, month 13, year 0000
            pass
    raise InvalidInput("as_of 须为 YYYY-MM-DD 格式的有效日期", "as_of must be a valid date written YYYY-MM-DD",
                       code="AS_OF_INVALID", details={"field": "as_of"})


def refuse_nul_in_url(request: Request) -> None:
    """No path or query string may carry a NUL (``%00``): PostgreSQL text cannot hold it, so it
    is refused here, before any parameter reaches a query — one check for every route."""
    query = unquote_to_bytes(request.scope.get("query_string", b"") or b"")
    if "\x00" in request.scope.get("path", "") or b"\x00" in query or b"%00" in (request.scope.get("raw_path") or b""):
        raise InvalidInput(CONTROL_CHARACTER_ZH, CONTROL_CHARACTER_EN, code=CONTROL_CHARACTER_CODE,
                           details={"where": "url"})


async def before_request(request: Request) -> None:
    """The app's ``before_request`` hook: a request id first (so even a refusal carries it), then
    the URL check. A coroutine: Litestar runs a plain function hook in a worker thread, a thread
    hop on every request for two string checks."""
    assign_request_id(request)
    refuse_nul_in_url(request)
