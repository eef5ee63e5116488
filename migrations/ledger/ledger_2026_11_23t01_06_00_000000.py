"""The ledger's guarantees, in the database itself (art. 35; DESIGN invariants 1 and 4).

- ledger_entry: UPDATE, DELETE and TRUNCATE refused; a reversal may not itself be reversed,
  and must carry the negated points and the same validity as the entry it reverses.
- credit_event: DELETE/TRUNCATE refused; an UPDATE may change only the review columns.
- One event per (recorder, idempotency key).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T01:06:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger guarantees"

STATEMENTS = [
    "CREATE UNIQUE INDEX credit_event_idempotency ON credit_event (recorded_by, idempotency_key)",
    "CREATE INDEX ledger_entry_subject ON ledger_entry (subject_kind, subject_id)",
    "CREATE INDEX credit_event_subject ON credit_event (subject_kind, subject_id)",
    """CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry
       FOR EACH ROW EXECUTE FUNCTION cunxin_refuse_change()""",
    """CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON ledger_entry
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
    """CREATE OR REPLACE FUNCTION cunxin_check_reversal() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE original ledger_entry%ROWTYPE;
       BEGIN
         IF NEW.reverses_entry IS NULL THEN RETURN NEW; END IF;
         SELECT * INTO original FROM ledger_entry WHERE id = NEW.reverses_entry;
         IF NOT FOUND THEN
           RAISE EXCEPTION 'reversal of unknown entry %', NEW.reverses_entry USING ERRCODE = 'foreign_key_violation';
         END IF;
         IF original.reverses_entry IS NOT NULL THEN
           RAISE EXCEPTION 'entry % is a reversal and cannot be reversed', original.id USING ERRCODE = 'check_violation';
         END IF;
         IF NEW.points <> -original.points OR NEW.valid_from <> original.valid_from
            OR NEW.valid_until <> original.valid_until OR NEW.subject_kind <> original.subject_kind
            OR NEW.subject_id <> original.subject_id THEN
           RAISE EXCEPTION 'reversal of % must negate it exactly', original.id USING ERRCODE = 'check_violation';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER ledger_entry_reversal_check BEFORE INSERT ON ledger_entry
       FOR EACH ROW EXECUTE FUNCTION cunxin_check_reversal()""",
    # Every column except the review workflow's own is frozen, including any column added later
    # (listing the frozen columns instead left township_id, catalogue_version, evidence_ids… open).
    """CREATE OR REPLACE FUNCTION cunxin_credit_event_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE review_columns text[] := ARRAY['status', 'flag_reason', 'review_reason', 'reviewed_by', 'reviewed_at'];
       BEGIN
         IF TG_OP = 'DELETE' THEN
           RAISE EXCEPTION 'credit_event rows are never deleted' USING ERRCODE = 'insufficient_privilege';
         END IF;
         IF (to_jsonb(NEW) - review_columns) IS DISTINCT FROM (to_jsonb(OLD) - review_columns) THEN
           RAISE EXCEPTION 'only the review columns of credit_event may change' USING ERRCODE = 'insufficient_privilege';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER credit_event_guard BEFORE UPDATE OR DELETE ON credit_event
       FOR EACH ROW EXECUTE FUNCTION cunxin_credit_event_guard()""",
    """CREATE TRIGGER credit_event_no_truncate BEFORE TRUNCATE ON credit_event
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
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
