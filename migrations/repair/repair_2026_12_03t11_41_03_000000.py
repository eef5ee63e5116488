"""The credit-repair guarantees in the database itself (art. 35 no tampering, art. 45 repair).

- one pending (incomplete or open) application per event; a paper form's photo serves one application;
- closed vocabularies; an open application has its deadline, an incomplete one none; a decided one
  carries its written reasons and its decision instant, a pending one neither; only an approved one
  names a replacement event; a paper application carries the photo of its form;
- the filing (who, what, why, when) never changes; a decided application never changes at all; no
  application is ever deleted.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T11:41:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "repair guarantees"

MUTABLE = ("ARRAY['status', 'documents', 'photo_ids', 'commitment_id', 'missing', 'complete_on', 'decide_by', "
           "'warn_on', 'warned_at', 'escalated_at', 'decided_by', 'decided_at', 'decided_on', 'decision_reason', "
           "'replacement_event_id']")

STATEMENTS = [
    """ALTER TABLE repair_application ADD CONSTRAINT repair_application_status
       CHECK (status IN ('incomplete', 'open', 'approved', 'refused', 'withdrawn'))""",
    "ALTER TABLE repair_application ADD CONSTRAINT repair_application_channel CHECK (channel IN ('app', 'paper'))",
    """ALTER TABLE repair_application ADD CONSTRAINT repair_application_route
       CHECK (route IN ('commitment', 'rectification', 'training', 'public_interest'))""",
    """ALTER TABLE repair_application ADD CONSTRAINT repair_application_severity
       CHECK (severity IN ('minor', 'general', 'serious'))""",
    """ALTER TABLE repair_application ADD CONSTRAINT repair_application_subject_kind
       CHECK (subject_kind IN ('person', 'household', 'organisation'))""",
    """ALTER TABLE repair_application ADD CONSTRAINT repair_application_documents
       CHECK (jsonb_typeof(documents) = 'object' AND jsonb_typeof(photo_ids) = 'array'
              AND jsonb_typeof(missing) = 'array')""",
    """ALTER TABLE repair_application ADD CONSTRAINT repair_application_incomplete
       CHECK (status <> 'incomplete' OR (complete_on IS NULL AND decide_by IS NULL AND warn_on IS NULL
                                         AND jsonb_array_length(missing) > 0))""",
    """ALTER TABLE repair_application ADD CONSTRAINT repair_application_open
       CHECK (status <> 'open' OR (decide_by IS NOT NULL AND complete_on < decide_by AND warn_on <= decide_by
                                   AND jsonb_array_length(missing) = 0))""",
    """ALTER TABLE repair_application ADD CONSTRAINT repair_application_decided
       CHECK ((status IN ('incomplete', 'open')) = (decided_at IS NULL)
              AND (status IN ('incomplete', 'open') OR (decided_on IS NOT NULL AND char_length(decision_reason) >= 2))
              AND (replacement_event_id IS NULL OR status = 'approved'))""",
    """ALTER TABLE repair_application ADD CONSTRAINT repair_application_paper_form
       CHECK (channel = 'app' OR (form_evidence_id IS NOT NULL AND signed_on IS NOT NULL))""",
    """ALTER TABLE repair_application ADD CONSTRAINT repair_application_dates
       CHECK (corrected_on <= filed_on AND char_length(statement) >= 2)""",
    """CREATE UNIQUE INDEX repair_application_one_pending ON repair_application (event_id)
       WHERE status IN ('incomplete', 'open')""",
    """CREATE UNIQUE INDEX repair_application_form_photo ON repair_application (form_evidence_id)
       WHERE form_evidence_id IS NOT NULL""",
    "CREATE INDEX repair_application_photos ON repair_application USING gin (photo_ids jsonb_path_ops)",
    f"""CREATE OR REPLACE FUNCTION cunxin_repair_application_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN
           RAISE EXCEPTION 'repair_application is never deleted' USING ERRCODE = 'insufficient_privilege';
         END IF;
         IF OLD.status NOT IN ('incomplete', 'open') AND to_jsonb(NEW) IS DISTINCT FROM to_jsonb(OLD) THEN
           RAISE EXCEPTION 'repair_application % is decided and cannot change', OLD.id
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         IF (to_jsonb(NEW) - {MUTABLE}) IS DISTINCT FROM (to_jsonb(OLD) - {MUTABLE}) THEN
           RAISE EXCEPTION 'the filing of repair_application % cannot change', OLD.id
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER repair_application_guard BEFORE UPDATE OR DELETE ON repair_application
       FOR EACH ROW EXECUTE FUNCTION cunxin_repair_application_guard()""",
    """CREATE TRIGGER repair_application_no_truncate BEFORE TRUNCATE ON repair_application
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="repair", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
