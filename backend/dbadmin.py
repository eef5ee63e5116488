"""Server-level PostgreSQL chores (create/drop a database) for tests, benchmarks and tooling.

Deliberately free of settings and Piccolo: callers use it before the app's database exists.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg


def with_database(url: str, database: str) -> str:
    """The same server URL, pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


async def server_sql(url: str, sql: str) -> None:
    """Run one statement (e.g. CREATE DATABASE) through the server's ``postgres`` database."""
    conn = await asyncpg.connect(with_database(url, "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
