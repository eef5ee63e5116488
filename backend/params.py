"""Path/query parameter types shared by controllers (bounds match the database column types, so
an out-of-range id is a 400, never an integer overflow in PostgreSQL)."""

from __future__ import annotations

from typing import Annotated

from litestar import Request
from litestar.params import Parameter

from backend.auth.roles import Actor
from backend.schemas import MAX_PAGE_SIZE

AuthRequest = Request[Actor, object, object]
IntId = Annotated[int, Parameter(ge=1, le=2**31 - 1)]  # serial columns
BigId = Annotated[int, Parameter(ge=1, le=2**63 - 1)]  # bigserial columns (events, entries, evidence, proposals)
OptionalIntId = Annotated[int | None, Parameter(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE, description="page size (≤ 200)")]
Offset = Annotated[int, Parameter(ge=0, le=10_000_000)]
