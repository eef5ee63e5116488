"""One hash chain per county (issue 14 item 2).

``ledger_entry.county_id`` (added by the migration before this one): the county where the entry's event was recorded (a reversal without an
event: the county of the entry it reverses). Each county's entries form their own chain, appended
under their own lock, so counties no longer serialise each other; ``county_id`` is part of each
row's hash.

Existing rows (a database that had entries before this version) get their county and are re-linked
into per-county chains here, once: with the append-only guard disabled for this transaction only,
``prev_hash`` and ``hash`` are recomputed county by county in ``id`` order. Run ``cunxin ledger verify``
before upgrading (the old single chain must be intact: this migration refuses to re-link a broken
chain) and after (every county chain verifies).

The database's own check follows: ``prev_hash`` unique per county, and the AFTER INSERT trigger
compares a row's ``prev_hash`` with the hash of the row before it *of the same county*.
"""

import hashlib
import json
from datetime import date, datetime, timezone
from decimal import Decimal

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T19:31:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one hash chain per county"

GENESIS = "0" * 64
# The row rendering as of this version (frozen here: a later change to backend.ledger.chain must
# not change what this migration computed).
OLD_COLUMNS = (
    "id", "event", "subject_kind", "subject_id", "person_id", "household_id", "item_code", "catalogue_version",
    "points", "valid_from", "valid_until", "grade_override", "quantity", "act_id", "reverses_entry", "reason",
    "explanation_zh", "explanation", "created_by", "created_at",
)
NEW_COLUMNS = OLD_COLUMNS[:1] + ("county_id",) + OLD_COLUMNS[1:]


def _canonical(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


def _hash(prev: str, row: dict, columns) -> str:
    explanation = row["explanation"]
    if isinstance(explanation, str):
        explanation = json.loads(explanation)
    body = {name: _canonical(row[name]) for name in columns if name != "explanation"}
    body["explanation"] = explanation
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev + "|" + text).encode()).hexdigest()


TRIGGER = """CREATE OR REPLACE FUNCTION cunxin_check_chain_link() RETURNS trigger LANGUAGE plpgsql AS $$
   DECLARE previous text;
   BEGIN
     SELECT hash INTO previous FROM ledger_entry WHERE county_id = NEW.county_id AND id < NEW.id
       ORDER BY id DESC LIMIT 1;
     IF NOT FOUND THEN
       previous := repeat('0', 64);
     END IF;
     IF NEW.prev_hash IS DISTINCT FROM previous THEN
       RAISE EXCEPTION 'ledger entry % does not link to the chain of county %: prev_hash must be the hash of the county''s entry before it',
         NEW.id, NEW.county_id USING ERRCODE = 'check_violation';
     END IF;
     IF NEW.hash !~ '^[0-9a-f]{64}$' THEN
       RAISE EXCEPTION 'ledger entry % has no SHA-256 hash', NEW.id USING ERRCODE = 'check_violation';
     END IF;
     RETURN NULL;
   END $$"""


async def _relink(engine) -> None:
    rows = await engine.run_ddl("SELECT count(*) AS n FROM ledger_entry")
    if not rows or not rows[0]["n"]:
        return
    # The county of each entry: its event's township's; a reversal without an event: its original's.
    await engine.run_ddl("""UPDATE ledger_entry e SET county_id = t.county FROM credit_event ev
                            JOIN township t ON t.id = ev.township_id WHERE ev.id = e.event""")
    for _ in range(8):
        await engine.run_ddl("""UPDATE ledger_entry e SET county_id = o.county_id FROM ledger_entry o
                                WHERE e.county_id = 0 AND e.event IS NULL AND o.id = e.reverses_entry
                                  AND o.county_id <> 0""")
    missing = await engine.run_ddl("SELECT count(*) AS n FROM ledger_entry WHERE county_id = 0")
    if missing[0]["n"]:
        raise RuntimeError(f"{missing[0]['n']} ledger entries have no county (no event, no reversed entry)")
    names = ", ".join(OLD_COLUMNS)
    entries = await engine.run_ddl(f"SELECT {names}, county_id, prev_hash, hash FROM ledger_entry ORDER BY id")
    prev = GENESIS
    for row in entries:  # the old single chain must be intact before it is re-linked
        if row["prev_hash"] != prev or _hash(prev, row, OLD_COLUMNS) != row["hash"]:
            raise RuntimeError(f"the ledger's chain is broken at entry {row['id']}: run `cunxin ledger verify` "
                               "and resolve it before this upgrade")
        prev = row["hash"]
    heads: dict[int, str] = {}
    for row in entries:
        prev = heads.get(row["county_id"], GENESIS)
        new_hash = _hash(prev, row, NEW_COLUMNS)
        await engine.run_ddl(f"UPDATE ledger_entry SET prev_hash = '{prev}', hash = '{new_hash}' WHERE id = {int(row['id'])}")
        heads[row["county_id"]] = new_hash


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)
    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        async with engine.transaction():
            await engine.run_ddl("ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_append_only")
            await engine.run_ddl("ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_chain_link")
            await engine.run_ddl("ALTER TABLE ledger_entry DROP CONSTRAINT ledger_entry_prev_hash_unique")
            await _relink(engine)
            await engine.run_ddl("ALTER TABLE ledger_entry ADD CONSTRAINT ledger_entry_county_prev_hash_unique "
                                 "UNIQUE (county_id, prev_hash)")
            await engine.run_ddl("ALTER TABLE ledger_entry ADD CONSTRAINT ledger_entry_county_known CHECK (county_id > 0)")
            await engine.run_ddl("CREATE INDEX IF NOT EXISTS ledger_entry_county_id_id ON ledger_entry (county_id, id)")
            await engine.run_ddl(TRIGGER)
            await engine.run_ddl("ALTER TABLE ledger_entry ENABLE TRIGGER ledger_entry_chain_link")
            await engine.run_ddl("ALTER TABLE ledger_entry ENABLE TRIGGER ledger_entry_append_only")

    manager.add_raw(run)
    return manager
