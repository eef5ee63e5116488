"""The entry-objection guarantees in the database itself (art. 35 no tampering, art. 46 objections).

- one open objection per disputed event (or per entry with no event); a paper form's photo serves
  one objection;
- closed vocabularies; a decided objection carries its written reasons and its decision instant,
  an open one neither; a paper objection carries the photo of its form;
- the filing (who, what, why, when and the deadlines) never changes; a decided objection never
  changes at all; no objection is ever deleted.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T06:16:31:000000"
VERSION = "1.38.0"
DESCRIPTION = "objections guarantees"

MUTABLE = ("ARRAY['status', 'warned_at', 'escalated_at', 'decided_by', 'decided_at', 'decided_on', "
           "'decision_reason', 'correction_entry_id']")

STATEMENTS = [
    """ALTER TABLE entry_objection ADD CONSTRAINT entry_objection_status
       CHECK (status IN ('open', 'upheld', 'refused'))""",
    "ALTER TABLE entry_objection ADD CONSTRAINT entry_objection_channel CHECK (channel IN ('app', 'paper'))",
    """ALTER TABLE entry_objection ADD CONSTRAINT entry_objection_subject_kind
       CHECK (subject_kind IN ('person', 'household', 'organisation'))""",
    """ALTER TABLE entry_objection ADD CONSTRAINT entry_objection_decided
       CHECK ((status = 'open') = (decided_at IS NULL)
              AND (status = 'open' OR (decided_on IS NOT NULL AND char_length(decision_reason) >= 2))
              AND (correction_entry_id IS NULL OR status = 'upheld'))""",
    """ALTER TABLE entry_objection ADD CONSTRAINT entry_objection_paper_form
       CHECK (channel = 'app' OR form_evidence_id IS NOT NULL)""",
    """ALTER TABLE entry_objection ADD CONSTRAINT entry_objection_deadlines
       CHECK (filed_on < mark_by AND mark_by <= warn_on AND warn_on < respond_by)""",
    """CREATE UNIQUE INDEX entry_objection_one_open_event ON entry_objection (event_id)
       WHERE status = 'open' AND event_id IS NOT NULL""",
    "CREATE UNIQUE INDEX entry_objection_one_open_entry ON entry_objection (entry_id) WHERE status = 'open'",
    """CREATE UNIQUE INDEX entry_objection_form_photo ON entry_objection (form_evidence_id)
       WHERE form_evidence_id IS NOT NULL""",
    f"""CREATE OR REPLACE FUNCTION cunxin_entry_objection_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN
           RAISE EXCEPTION 'entry_objection is never deleted' USING ERRCODE = 'insufficient_privilege';
         END IF;
         IF OLD.status <> 'open' AND to_jsonb(NEW) IS DISTINCT FROM to_jsonb(OLD) THEN
           RAISE EXCEPTION 'entry_objection % is decided and cannot change', OLD.id
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         IF (to_jsonb(NEW) - {MUTABLE}) IS DISTINCT FROM (to_jsonb(OLD) - {MUTABLE}) THEN
           RAISE EXCEPTION 'the filing of entry_objection % cannot change', OLD.id
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER entry_objection_guard BEFORE UPDATE OR DELETE ON entry_objection
       FOR EACH ROW EXECUTE FUNCTION cunxin_entry_objection_guard()""",
    """CREATE OR REPLACE FUNCTION cunxin_entry_objection_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'entry_objection is never truncated' USING ERRCODE = 'insufficient_privilege';
       END $$""",
    """CREATE TRIGGER entry_objection_no_truncate BEFORE TRUNCATE ON entry_objection
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_entry_objection_no_truncate()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="objections", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
