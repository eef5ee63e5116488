"""Small helpers over Piccolo's engine for the few places that need raw SQL."""

from __future__ import annotations

from typing import Any

from piccolo.engine import engine_finder
from piccolo.querystring import QueryString


async def fetch(sql: str, *args: Any) -> list[dict]:
    """Run SQL with ``{}`` placeholders (Piccolo QueryString style) and return dict rows."""
    return [dict(r) for r in await engine_finder().run_querystring(QueryString(sql, *args))]


def transaction_connection():
    """The asyncpg connection of the current Piccolo transaction (for executemany/COPY)."""
    transaction = engine_finder().current_transaction.get()
    if transaction is None:
        raise RuntimeError("must be called inside `async with engine_finder().transaction()`")
    return transaction.connection
