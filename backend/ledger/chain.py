"""The hash chain over ``ledger_entry`` (in ``id`` order) and its verification.

Each row's ``hash`` = SHA-256 of the previous row's hash and a canonical rendering of the row,
so changing, removing or reordering any row breaks every link after it. Appends take one
transaction-scoped advisory lock, so ids and links are assigned in one order.

The database holds the same invariant for any writer (migration ``ledger_2026_12_02…``): every
row's ``prev_hash`` is the hash of the row before it in ``id`` order (the genesis hash for the
first), and no two rows share a ``prev_hash`` — so an INSERT that bypasses ``append`` with a wrong
or copied link, or that slips in between two rows, is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from backend.db import fetch, transaction_connection

GENESIS_HASH = "0" * 64
# Advisory locks use the two-key form (namespace, key): a namespace per kind of lock, so a
# subject's hashtext() key can never equal the chain's (the one-bigint form shared one key space).
CHAIN_LOCKS = 1  # (1, 0): the chain's end
SUBJECT_LOCKS = 2  # (2, hashtext('subject:<kind>:<id>')): one subject's set of events
STANDING_LOCKS = 3  # (3, hashtext('standing:village:<id>')), …: roll-ups of live standing
COLUMNS = (
    "id", "event", "subject_kind", "subject_id", "person_id", "household_id", "item_code", "catalogue_version",
    "points", "valid_from", "valid_until", "grade_override", "quantity", "act_id", "reverses_entry", "reason",
    "explanation_zh", "explanation", "created_by", "created_at",
)


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


def entry_hash(prev_hash: str, row: dict[str, Any]) -> str:
    explanation = row["explanation"]
    if isinstance(explanation, str):
        explanation = json.loads(explanation)
    body = {name: _canonical(row[name]) for name in COLUMNS if name != "explanation"}
    body["explanation"] = explanation
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + "|" + text).encode()).hexdigest()


async def append(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert entries (dicts with every column but id/prev_hash/hash) at the chain's end.

    Must run inside the caller's transaction; returns the rows with id and hashes filled in.
    """
    if not rows:
        return []
    conn = transaction_connection()
    await conn.execute("SELECT pg_advisory_xact_lock($1, 0)", CHAIN_LOCKS)
    prev = await conn.fetchval("SELECT hash FROM ledger_entry ORDER BY id DESC LIMIT 1") or GENESIS_HASH
    ids = [r[0] for r in await conn.fetch(
        "SELECT nextval(pg_get_serial_sequence('ledger_entry', 'id')) FROM generate_series(1, $1)", len(rows))]
    done = []
    for entry_id, row in zip(ids, rows):
        row = {**row, "id": entry_id}
        row["hash"] = entry_hash(prev, row)
        row["prev_hash"] = prev
        prev = row["hash"]
        done.append(row)
    names = list(COLUMNS) + ["prev_hash", "hash"]
    placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    await conn.executemany(
        f"INSERT INTO ledger_entry ({', '.join(names)}) VALUES ({placeholders})",
        [[json.dumps(r[n], ensure_ascii=False) if n == "explanation" else r[n] for n in names] for r in done],
    )
    return done


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str = ""


async def verify(batch: int = 5000, progress: Callable[[int], None] | None = None) -> VerifyResult:
    """Re-walk the whole chain from the first entry; report the first broken link."""
    prev = GENESIS_HASH
    last_id = 0
    checked = 0
    while True:
        rows = await fetch(
            f"SELECT {', '.join(COLUMNS)}, prev_hash, hash FROM ledger_entry WHERE id > {{}} ORDER BY id LIMIT {{}}",
            last_id, batch,
        )
        if not rows:
            return VerifyResult(ok=True, checked=checked)
        for row in rows:
            if row["prev_hash"] != prev:
                return VerifyResult(False, checked, row["id"], "previous-hash link does not match (row missing or reordered)")
            if entry_hash(prev, row) != row["hash"]:
                return VerifyResult(False, checked, row["id"], "row content does not match its hash (row changed)")
            prev = row["hash"]
            checked += 1
        last_id = rows[-1]["id"]
        if progress:
            progress(len(rows))


async def total_entries() -> int:
    return (await fetch("SELECT count(*) AS n FROM ledger_entry"))[0]["n"]
