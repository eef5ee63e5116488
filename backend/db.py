"""Small helpers over Piccolo's engine for the few places that need raw SQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
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


async def upsert(table: str, key: str, columns: list[str], records: list[tuple], *,
                 unless_newer: str | None = None) -> None:
    """Bulk insert-or-update through COPY into a temporary table (fast for 100,000s of rows).

    With ``unless_newer`` (a timestamp column), a stored row stays when its value is later than
    the new one's — it came from a computation that read newer data. Must run inside a
    transaction (the temporary table is dropped at commit).
    """
    if not records:
        return
    conn = transaction_connection()
    staging = f"_staging_{table}"
    await conn.execute(f"CREATE TEMP TABLE {staging} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
    await conn.copy_records_to_table(staging, records=records, columns=columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
    await conn.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM {staging} "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
        + (f" WHERE {table}.{unless_newer} <= EXCLUDED.{unless_newer}" if unless_newer else "")
    )
    await conn.execute(f"DROP TABLE {staging}")


async def release_as_is(connection) -> None:
    """The pool's ``reset`` for the app: a released connection is not sent asyncpg's default
    ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` — a second round trip after
    every query run outside a transaction. Nothing here leaves session state behind: advisory
    locks are transaction-scoped (``pg_advisory_xact_lock``), no ``SET`` without ``LOCAL``, no
    ``LISTEN``, cursors only inside transactions (tests/unit/test_session_state.py keeps it so).
    asyncpg still rolls back a transaction left open before calling this."""


async def claim_leased(due_sql: str, claim_sql: str, *, limit: int, lease: timedelta) -> tuple[str, list[dict]]:
    """Claim due work rows for one worker, in one short transaction (the outbox relays' pattern):
    ``due_sql`` (placeholders: now, now, limit) selects the due ids ``FOR UPDATE SKIP LOCKED``;
    ``claim_sql`` (placeholders: token, lease end, ids) marks them claimed and returns them.
    Two workers never claim the same row; one that dies leaves its rows to be reclaimed when the
    lease is over. Returns (the claim token, the claimed rows)."""
    from backend import clock

    now = clock.now()
    token = uuid.uuid4().hex
    async with engine_finder().transaction():
        due = [r["id"] for r in await fetch(due_sql, now, now, limit)]
        if not due:
            return token, []
        return token, await fetch(claim_sql, token, now + lease, due)
