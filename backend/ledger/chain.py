"""The hash chains over ``ledger_entry`` — one per county — and their verification.

Each county's entries form a chain in ``id`` order: a row's ``hash`` = SHA-256 of the previous row's
hash (of the same county; the genesis hash for its first) and a canonical rendering of the row, its
``county_id`` included — so changing, removing, reordering or moving any row between counties breaks
every link after it. Appends take one transaction-scoped advisory lock per county they touch (in
county order, so two batches never deadlock), so counties append side by side and each county's ids
and links are assigned in one order.

The database holds the same invariant for any writer (migrations ``ledger_2026_12_02…`` and
``ledger_2026_12_04…``): every row's ``prev_hash`` is the hash of the row before it of the same county
in ``id`` order (the genesis hash for the first), and no two rows of a county share a ``prev_hash`` —
so an INSERT that bypasses ``append`` with a wrong or copied link, or that slips in between two rows,
is refused.

An entry belongs to the county where its event was recorded (the event's township); a reversal
without an event to the county of the entry it reverses.
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
CHAIN_LOCKS = 1  # (1, county id): that county's chain end
SUBJECT_LOCKS = 2  # (2, hashtext('subject:<kind>:<id>')): one subject's set of events
STANDING_LOCKS = 3  # (3, hashtext('standing:village:<id>')), …: roll-ups of live standing
COLUMNS = (
    "id", "county_id", "event", "subject_kind", "subject_id", "person_id", "household_id", "item_code", "catalogue_version",
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


async def counties_of(rows: list[dict[str, Any]]) -> list[int]:
    """The county of each row (see the module docstring), in one or two queries."""
    conn = transaction_connection()
    events = sorted({r["event"] for r in rows if r.get("event") is not None})
    by_event = {r["id"]: r["county"] for r in await conn.fetch(
        "SELECT e.id, t.county FROM credit_event e JOIN township t ON t.id = e.township_id WHERE e.id = ANY($1)",
        events)} if events else {}
    reversed_ids = sorted({r["reverses_entry"] for r in rows if r.get("event") is None and r.get("reverses_entry")})
    by_entry = {r["id"]: r["county_id"] for r in await conn.fetch(
        "SELECT id, county_id FROM ledger_entry WHERE id = ANY($1)", reversed_ids)} if reversed_ids else {}
    out = []
    for r in rows:
        county = r.get("county_id") or (by_event.get(r["event"]) if r.get("event") is not None
                                          else by_entry.get(r.get("reverses_entry")))
        if not county:
            raise ValueError(f"ledger entry for {r.get('subject_kind')} {r.get('subject_id')} has no county "
                             "(neither an event nor a reversed entry)")
        out.append(county)
    return out


def last_in_county(county_id: int) -> str:
    """The query of a county's last entry, with the county as a literal (an int, never text from outside).
    As a parameter, the statement soon runs on a generic plan that guesses a county's rows are
    everywhere and walks the primary key backwards past every later county's entries — 0.2–1.2 s a
    lookup beside a county of 0.5–1.5 million entries; with the literal the plan reads the (county_id,
    id) index: microseconds."""
    return f"SELECT id, hash FROM ledger_entry WHERE county_id = {int(county_id)} ORDER BY id DESC LIMIT 1"


async def append(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert entries (dicts with every column but id/prev_hash/hash; ``county_id`` is derived when
    absent) at the end of their counties' chains, in one statement per batch.

    Must run inside the caller's transaction; returns the rows, in the order given, with county, id
    and hashes filled in.
    """
    if not rows:
        return []
    conn = transaction_connection()
    counties = await counties_of(rows)
    done: list[dict[str, Any] | None] = [None] * len(rows)
    for county in sorted(set(counties)):
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", CHAIN_LOCKS, county)
        positions = [i for i, c in enumerate(counties) if c == county]
        last = await conn.fetchrow(last_in_county(county))
        prev = last["hash"] if last else GENESIS_HASH
        ids = [r[0] for r in await conn.fetch(
            "SELECT nextval(pg_get_serial_sequence('ledger_entry', 'id')) FROM generate_series(1, $1)", len(positions))]
        for entry_id, i in zip(ids, positions):
            row = {**rows[i], "id": entry_id, "county_id": county}
            row["hash"] = entry_hash(prev, row)
            row["prev_hash"] = prev
            prev = row["hash"]
            done[i] = row
    names = list(COLUMNS) + ["prev_hash", "hash"]
    placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    in_id_order = sorted(done, key=lambda r: r["id"])  # each county's rows after their predecessors
    await conn.executemany(
        f"INSERT INTO ledger_entry ({', '.join(names)}) VALUES ({placeholders})",
        [[json.dumps(r[n], ensure_ascii=False) if n == "explanation" else r[n] for n in names] for r in in_id_order],
    )
    return done  # type: ignore[return-value]


async def head(county_id: int) -> dict:
    """The end of a county's chain: its last entry's id and hash (0 and the genesis hash when empty)."""
    rows = await fetch(last_in_county(county_id))
    return {"id": rows[0]["id"], "hash": rows[0]["hash"]} if rows else {"id": 0, "hash": GENESIS_HASH}


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str = ""
    county_id: int | None = None          # the broken chain's county (None: all intact)
    counties: int = 0                     # chains walked


async def chain_counties() -> list[int]:
    return [r["county_id"] for r in await fetch("SELECT DISTINCT county_id FROM ledger_entry ORDER BY county_id")]


async def verify_county(county_id: int, batch: int = 5000,
                        progress: Callable[[int], None] | None = None) -> VerifyResult:
    """Re-walk one county's chain from its first entry; report the first broken link."""
    prev = GENESIS_HASH
    last_id = 0
    checked = 0
    while True:
        rows = await fetch(
            f"""SELECT {', '.join(COLUMNS)}, prev_hash, hash FROM ledger_entry WHERE county_id = {{}} AND id > {{}}
                ORDER BY id LIMIT {{}}""",
            county_id, last_id, batch,
        )
        if not rows:
            return VerifyResult(ok=True, checked=checked, counties=1)
        for row in rows:
            if row["prev_hash"] != prev:
                return VerifyResult(False, checked, row["id"], "previous-hash link does not match (row missing or reordered)",
                                    county_id, 1)
            if entry_hash(prev, row) != row["hash"]:
                return VerifyResult(False, checked, row["id"], "row content does not match its hash (row changed)",
                                    county_id, 1)
            prev = row["hash"]
            checked += 1
        last_id = rows[-1]["id"]
        if progress:
            progress(len(rows))


async def verify(batch: int = 5000, progress: Callable[[int], None] | None = None) -> VerifyResult:
    """Re-walk every county's chain; the first broken link of the first broken chain (counties in id order)."""
    checked = 0
    counties = await chain_counties()
    for county_id in counties:
        result = await verify_county(county_id, batch, progress)
        checked += result.checked
        if not result.ok:
            return VerifyResult(False, checked, result.first_broken_id, result.reason, county_id, len(counties))
    return VerifyResult(ok=True, checked=checked, counties=len(counties))


async def total_entries() -> int:
    return (await fetch("SELECT count(*) AS n FROM ledger_entry"))[0]["n"]
