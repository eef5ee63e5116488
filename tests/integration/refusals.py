"""Run a statement the database must refuse, on its own connection, always rolled back."""

from __future__ import annotations

import os

import asyncpg
import pytest


async def refused(sql: str, *args) -> asyncpg.PostgresError:
    """Run ``sql`` in a transaction that is always rolled back and return the database's refusal
    (the test fails if the statement was accepted), so a missing guard cannot damage the shared
    session database."""
    conn = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            with pytest.raises(asyncpg.PostgresError) as refusal:
                await conn.execute(sql, *args)
        finally:
            await transaction.rollback()
    finally:
        await conn.close()
    return refusal.value
