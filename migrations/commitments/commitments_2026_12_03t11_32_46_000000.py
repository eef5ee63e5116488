"""The credit-commitment guarantees in the database itself (art. 35 no tampering; 信用承诺).

- a template's text is immutable and ``text_sha256`` is its SHA-256 (set on insert, so a template
  added in the back office is hashed too): a new wording is a new row;
  only ``active`` changes; templates are never deleted;
- closed vocabularies (purpose, status, channel, subject kind); a term of 1..36 months ending on
  the check date; a paper commitment carries the photo of its signed sheet, and a photo serves one
  commitment; one commitment per recorder and idempotency key;
- a decided commitment carries its decision instant and its ledger event (one event, one
  commitment); a broken one at least one evidence photo; an open one none of these;
- the signing never changes; a decided commitment never changes at all; nothing is deleted.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T11:32:46:000000"
VERSION = "1.38.0"
DESCRIPTION = "commitments guarantees"

PURPOSES = "('repair', 'tolerance_acceptance', 'subsidy_claim', 'other')"
MUTABLE = ("ARRAY['status', 'decided_by', 'decided_at', 'decided_on', 'decision_evidence_ids', 'decision_note', "
           "'event_id']")

STATEMENTS = [
    f"ALTER TABLE commitment_template ADD CONSTRAINT commitment_template_purpose CHECK (purpose IN {PURPOSES})",
    """ALTER TABLE commitment_template ADD CONSTRAINT commitment_template_sha
       CHECK (text_sha256 = encode(sha256(convert_to(text, 'UTF8')), 'hex'))""",
    """ALTER TABLE commitment_template ADD CONSTRAINT commitment_template_content
       CHECK (char_length(title) >= 2 AND char_length(text) >= 10 AND term_months BETWEEN 1 AND 36)""",
    """CREATE OR REPLACE FUNCTION cunxin_commitment_template_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'INSERT' THEN
           NEW.text_sha256 := encode(sha256(convert_to(NEW.text, 'UTF8')), 'hex');
           RETURN NEW;
         END IF;
         IF TG_OP = 'DELETE' THEN
           RAISE EXCEPTION 'commitment_template is never deleted' USING ERRCODE = 'insufficient_privilege';
         END IF;
         IF (to_jsonb(NEW) - 'active') IS DISTINCT FROM (to_jsonb(OLD) - 'active') THEN
           RAISE EXCEPTION 'commitment_template % cannot change (a new wording is a new template)', OLD.id
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER commitment_template_guard BEFORE INSERT OR UPDATE OR DELETE ON commitment_template
       FOR EACH ROW EXECUTE FUNCTION cunxin_commitment_template_guard()""",
    f"ALTER TABLE credit_commitment ADD CONSTRAINT credit_commitment_purpose CHECK (purpose IN {PURPOSES})",
    """ALTER TABLE credit_commitment ADD CONSTRAINT credit_commitment_status
       CHECK (status IN ('signed', 'kept', 'broken'))""",
    "ALTER TABLE credit_commitment ADD CONSTRAINT credit_commitment_channel CHECK (channel IN ('app', 'paper'))",
    """ALTER TABLE credit_commitment ADD CONSTRAINT credit_commitment_subject_kind
       CHECK (subject_kind IN ('person', 'household', 'organisation'))""",
    """ALTER TABLE credit_commitment ADD CONSTRAINT credit_commitment_term
       CHECK (term_months BETWEEN 1 AND 36 AND check_on >= signed_on)""",
    """ALTER TABLE credit_commitment ADD CONSTRAINT credit_commitment_paper
       CHECK ((channel = 'paper') = (paper_evidence_id IS NOT NULL))""",
    """ALTER TABLE credit_commitment ADD CONSTRAINT credit_commitment_decided
       CHECK ((status = 'signed') = (decided_at IS NULL)
              AND (status = 'signed') = (event_id IS NULL)
              AND (status = 'signed' OR (decided_on IS NOT NULL AND decided_by IS NOT NULL))
              AND (status <> 'broken' OR jsonb_array_length(decision_evidence_ids) >= 1)
              AND (status <> 'kept' OR decided_on >= check_on))""",
    "CREATE UNIQUE INDEX credit_commitment_key ON credit_commitment (recorded_by, idempotency_key)",
    """CREATE UNIQUE INDEX credit_commitment_paper_photo ON credit_commitment (paper_evidence_id)
       WHERE paper_evidence_id IS NOT NULL""",
    "CREATE UNIQUE INDEX credit_commitment_event ON credit_commitment (event_id) WHERE event_id IS NOT NULL",
    "CREATE INDEX credit_commitment_subject ON credit_commitment (subject_kind, subject_id)",
    f"""CREATE OR REPLACE FUNCTION cunxin_credit_commitment_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN
           RAISE EXCEPTION 'credit_commitment is never deleted' USING ERRCODE = 'insufficient_privilege';
         END IF;
         IF OLD.status <> 'signed' AND to_jsonb(NEW) IS DISTINCT FROM to_jsonb(OLD) THEN
           RAISE EXCEPTION 'credit_commitment % is decided and cannot change', OLD.id
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         IF (to_jsonb(NEW) - {MUTABLE}) IS DISTINCT FROM (to_jsonb(OLD) - {MUTABLE}) THEN
           RAISE EXCEPTION 'the signing of credit_commitment % cannot change', OLD.id
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER credit_commitment_guard BEFORE UPDATE OR DELETE ON credit_commitment
       FOR EACH ROW EXECUTE FUNCTION cunxin_credit_commitment_guard()""",
    """CREATE OR REPLACE FUNCTION cunxin_commitments_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION '% is never truncated', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
       END $$""",
    """CREATE TRIGGER commitment_template_no_truncate BEFORE TRUNCATE ON commitment_template
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_commitments_no_truncate()""",
    """CREATE TRIGGER credit_commitment_no_truncate BEFORE TRUNCATE ON credit_commitment
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_commitments_no_truncate()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="commitments", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
