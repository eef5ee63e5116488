"""The bank slice's guarantees, in the database itself (art. 35 no tampering; DESIGN invariants 4, 6).

- bank_rating_pull: append-only (UPDATE, DELETE, TRUNCATE refused); one pull per (bank client,
  Idempotency-Key) — however many identical requests race, one row; closed vocabularies; an
  answer with rating data (``rated``) names its consent, its rating and its attestation's jti.
- bank_product: a product's code is unique per bank (recipient); closed purposes and scopes; a
  product belongs to a bank recipient of its own county.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T06:09:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "bank guarantees"

PURPOSES = "('credit_application', 'credit_line_review')"
SCOPES = "('grade', 'grade_score', 'grade_score_entries')"

STATEMENTS = [
    "CREATE UNIQUE INDEX bank_product_code ON bank_product (recipient, code)",
    f"ALTER TABLE bank_product ADD CONSTRAINT bank_product_scope CHECK (data_scope IN {SCOPES})",
    "ALTER TABLE bank_product ADD CONSTRAINT bank_product_stale_days CHECK (stale_days BETWEEN 1 AND 3650)",
    """ALTER TABLE bank_product ADD CONSTRAINT bank_product_purposes CHECK (
         jsonb_typeof(purposes) = 'array' AND jsonb_array_length(purposes) >= 1
         AND purposes <@ '["credit_application", "credit_line_review"]'::jsonb)""",
    """CREATE OR REPLACE FUNCTION cunxin_bank_product_check() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NOT EXISTS (SELECT 1 FROM consent_recipient r WHERE r.id = NEW.recipient AND r.kind = 'bank'
                        AND r.county = NEW.county) THEN
           RAISE EXCEPTION 'bank_product: recipient % is not a bank of county %', NEW.recipient, NEW.county
             USING ERRCODE = 'check_violation';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER bank_product_check BEFORE INSERT OR UPDATE ON bank_product
       FOR EACH ROW EXECUTE FUNCTION cunxin_bank_product_check()""",
    "CREATE UNIQUE INDEX bank_rating_pull_idempotency ON bank_rating_pull (bank_client, idempotency_key)",
    "CREATE INDEX bank_rating_pull_county ON bank_rating_pull (county_id, id)",
    "ALTER TABLE bank_rating_pull ADD CONSTRAINT bank_rating_pull_purpose CHECK (purpose <> '')",
    """ALTER TABLE bank_rating_pull ADD CONSTRAINT bank_rating_pull_outcome
       CHECK (outcome IN ('rated', 'check_failed', 'refused'))""",
    """ALTER TABLE bank_rating_pull ADD CONSTRAINT bank_rating_pull_rated CHECK (
         outcome <> 'rated' OR (consent_event_id IS NOT NULL AND proposal_id IS NOT NULL AND jti IS NOT NULL
                                AND attestation <> '' AND household_id IS NOT NULL))""",
    "CREATE UNIQUE INDEX bank_rating_pull_jti ON bank_rating_pull (jti) WHERE jti IS NOT NULL",
    """CREATE TRIGGER bank_rating_pull_append_only BEFORE UPDATE OR DELETE ON bank_rating_pull
       FOR EACH ROW EXECUTE FUNCTION cunxin_refuse_change()""",
    """CREATE TRIGGER bank_rating_pull_no_truncate BEFORE TRUNCATE ON bank_rating_pull
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="bank", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
