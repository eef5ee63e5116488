"""The app's pool hands connections back without asyncpg's reset query (``backend.db.release_as_is``):
that is sound only while no code leaves session state on a connection. This scan fails on the
statements that would: a session-level advisory lock, a ``SET`` without ``LOCAL``, ``LISTEN``,
``set_config(…, false)``, a ``DECLARE``d cursor ``WITH HOLD``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SESSION_STATE = [
    re.compile(r"pg_(try_)?advisory_lock(_shared)?\s*\(", re.I),
    re.compile(r"[\"']\s*SET\s+(?!LOCAL\b)(SESSION\s+)?[a-z_.]+\s*(=|TO\b)", re.I),
    re.compile(r"[\"']\s*LISTEN\s", re.I),
    re.compile(r"set_config\s*\([^)]*,\s*false\s*\)", re.I),
    re.compile(r"WITH\s+HOLD", re.I),
]


def _offences(text: str) -> list[str]:
    return [m.group(0) for pattern in SESSION_STATE for m in pattern.finditer(text)]


@pytest.mark.parametrize("snippet", [
    'await conn.execute("SELECT pg_advisory_lock(1)")',
    "fetch('SET statement_timeout = 5')",
    'execute("SET search_path TO x")',
    'execute("LISTEN catalogue")',
    "fetch(\"SELECT set_config('app.x', '1', false)\")",
    'execute("DECLARE c CURSOR WITH HOLD FOR SELECT 1")',
])
def test_the_scan_catches_session_state(snippet: str) -> None:
    assert _offences(snippet)


@pytest.mark.parametrize("snippet", [
    'execute("SELECT pg_advisory_xact_lock(1)")',
    'execute("SET LOCAL statement_timeout = 5")',
    '"UPDATE account SET failed_logins = 0"',
])
def test_the_scan_lets_transaction_state_through(snippet: str) -> None:
    assert not _offences(snippet)


def test_no_code_leaves_session_state_on_a_pooled_connection() -> None:
    found = {}
    for folder in ("backend", "admin"):
        for path in (ROOT / folder).rglob("*.py"):
            offences = _offences(path.read_text(encoding="utf-8"))
            if offences:
                found[str(path.relative_to(ROOT))] = offences
    assert not found, f"session state on pooled connections (see backend.db.release_as_is): {found}"
