"""The hash chain's links, in the database itself (DESIGN invariant 3; issue 9.5).

``chain.append`` links each row to the one before it under the chain lock; this holds the same
for any INSERT, however it is written:

- ``prev_hash`` is unique: no two rows link to one predecessor (a copied link, or a row slipped
  in between two rows, is refused);
- an AFTER INSERT trigger checks that ``prev_hash`` is the hash of the row before it in ``id``
  order (the genesis hash for the first row) and that ``hash`` is 64 hex digits.

AFTER, not BEFORE: the row's own checks (the reversal rules, one reversal per entry) answer
first with their own errors; the link is checked once the statement's rows are all in, so a
multi-row INSERT that chains its own rows is accepted. The SHA-256 over the row's content is not
recomputed here (its canonical JSON is Python's rendering); ``chain.verify`` re-checks it.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T00:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "hash chain links checked in the database"

STATEMENTS = [
    "ALTER TABLE ledger_entry ADD CONSTRAINT ledger_entry_prev_hash_unique UNIQUE (prev_hash)",
    """CREATE OR REPLACE FUNCTION cunxin_check_chain_link() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE previous text;
       BEGIN
         SELECT hash INTO previous FROM ledger_entry WHERE id < NEW.id ORDER BY id DESC LIMIT 1;
         IF NOT FOUND THEN
           previous := repeat('0', 64);
         END IF;
         IF NEW.prev_hash IS DISTINCT FROM previous THEN
           RAISE EXCEPTION 'ledger entry % does not link to the chain: prev_hash must be the hash of entry before it',
             NEW.id USING ERRCODE = 'check_violation';
         END IF;
         IF NEW.hash !~ '^[0-9a-f]{64}$' THEN
           RAISE EXCEPTION 'ledger entry % has no SHA-256 hash', NEW.id USING ERRCODE = 'check_violation';
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER ledger_entry_chain_link AFTER INSERT ON ledger_entry
       FOR EACH ROW EXECUTE FUNCTION cunxin_check_chain_link()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
