"""The consent slice's guarantees, in the database itself (PIPL arts. 13–15; art. 35 no tampering).

- consent_event: append-only (UPDATE, DELETE, TRUNCATE refused); closed vocabularies; a withdrawal
  names a grant, copies its subject, recipient and purpose, and each grant is withdrawn at most
  once; a grant names a notice of its own county, recipient kind and purpose, at that notice's
  version; a paper consent carries its photo, and no photo serves two consents.
- consent_notice: the database numbers versions per (county, recipient kind, purpose) and stores
  the SHA-256 of the text; a notice a consent names can no longer change (or be deleted).
- signing_key: never deleted; the only change is retiring an active key; one active key at a time.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T08:07:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "consent guarantees"

KINDS = "('bank', 'subsidy_office', 'honour_roll')"
PURPOSES = "('credit_application', 'credit_line_review', 'subsidy_eligibility', 'honour_roll')"
PAIRS = ("(recipient_kind = 'bank' AND purpose IN ('credit_application', 'credit_line_review')) OR "
         "(recipient_kind = 'subsidy_office' AND purpose = 'subsidy_eligibility') OR "
         "(recipient_kind = 'honour_roll' AND purpose = 'honour_roll')")
SCOPES = "('grade', 'grade_score', 'grade_score_entries')"

STATEMENTS = [
    f"ALTER TABLE consent_recipient ADD CONSTRAINT consent_recipient_kind CHECK (kind IN {KINDS})",
    """ALTER TABLE consent_recipient ADD CONSTRAINT consent_recipient_bank_client
       CHECK (bank_client IS NULL OR kind = 'bank')""",
    "CREATE UNIQUE INDEX consent_recipient_code ON consent_recipient (county, kind, code)",
    f"ALTER TABLE consent_notice ADD CONSTRAINT consent_notice_kind CHECK (recipient_kind IN {KINDS})",
    f"ALTER TABLE consent_notice ADD CONSTRAINT consent_notice_purpose CHECK (purpose IN {PURPOSES})",
    f"ALTER TABLE consent_notice ADD CONSTRAINT consent_notice_pair CHECK ({PAIRS})",
    "ALTER TABLE consent_notice ADD CONSTRAINT consent_notice_days CHECK (consent_days BETWEEN 1 AND 3650)",
    """ALTER TABLE consent_notice ADD CONSTRAINT consent_notice_names_recipient
       CHECK (position('{recipient}' in text_zh) > 0)""",
    "CREATE UNIQUE INDEX consent_notice_version ON consent_notice (county, recipient_kind, purpose, version)",
    """CREATE OR REPLACE FUNCTION cunxin_consent_notice_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'INSERT' THEN
           PERFORM pg_advisory_xact_lock(hashtext('consent_notice:' || NEW.county || ':' || NEW.recipient_kind
                                                  || ':' || NEW.purpose));
           SELECT COALESCE(max(version), 0) + 1 INTO NEW.version FROM consent_notice
            WHERE county = NEW.county AND recipient_kind = NEW.recipient_kind AND purpose = NEW.purpose;
         ELSE
           IF EXISTS (SELECT 1 FROM consent_event WHERE notice = OLD.id) THEN
             RAISE EXCEPTION 'consent_notice % is named by a consent and cannot change', OLD.id
               USING ERRCODE = 'restrict_violation';
           END IF;
           IF (NEW.county, NEW.recipient_kind, NEW.purpose, NEW.version, NEW.created_at)
              IS DISTINCT FROM (OLD.county, OLD.recipient_kind, OLD.purpose, OLD.version, OLD.created_at) THEN
             RAISE EXCEPTION 'only the title, text and term of consent_notice % may change', OLD.id
               USING ERRCODE = 'restrict_violation';
           END IF;
         END IF;
         NEW.text_sha256 := encode(sha256(convert_to(NEW.text_zh, 'UTF8')), 'hex');
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER consent_notice_guard BEFORE INSERT OR UPDATE ON consent_notice
       FOR EACH ROW EXECUTE FUNCTION cunxin_consent_notice_guard()""",
    "ALTER TABLE consent_event ADD CONSTRAINT consent_event_action CHECK (action IN ('grant', 'withdraw'))",
    """ALTER TABLE consent_event ADD CONSTRAINT consent_event_withdraws
       CHECK ((action = 'withdraw') = (withdraws IS NOT NULL))""",
    """ALTER TABLE consent_event ADD CONSTRAINT consent_event_withdraws_fk
       FOREIGN KEY (withdraws) REFERENCES consent_event (id) ON DELETE RESTRICT""",
    "CREATE UNIQUE INDEX consent_event_one_withdrawal ON consent_event (withdraws) WHERE withdraws IS NOT NULL",
    "ALTER TABLE consent_event ADD CONSTRAINT consent_event_subject CHECK (subject_kind IN ('person', 'household'))",
    f"ALTER TABLE consent_event ADD CONSTRAINT consent_event_kind CHECK (recipient_kind IN {KINDS})",
    f"ALTER TABLE consent_event ADD CONSTRAINT consent_event_purpose CHECK (purpose IN {PURPOSES})",
    f"ALTER TABLE consent_event ADD CONSTRAINT consent_event_pair CHECK ({PAIRS})",
    f"ALTER TABLE consent_event ADD CONSTRAINT consent_event_scope CHECK (data_scope IN {SCOPES})",
    "ALTER TABLE consent_event ADD CONSTRAINT consent_event_channel CHECK (channel IN ('app', 'paper'))",
    """ALTER TABLE consent_event ADD CONSTRAINT consent_event_capacity
       CHECK ((channel = 'app' AND capacity = 'self') OR (channel = 'paper' AND capacity IN ('witness', 'delegate')))""",
    """ALTER TABLE consent_event ADD CONSTRAINT consent_event_delegate
       CHECK ((capacity = 'delegate') = (delegate_name <> ''))""",
    """ALTER TABLE consent_event ADD CONSTRAINT consent_event_paper_photo
       CHECK (channel <> 'paper' OR evidence_id IS NOT NULL)""",
    """ALTER TABLE consent_event ADD CONSTRAINT consent_event_expiry
       CHECK ((action = 'grant') = (expires_on IS NOT NULL) AND (expires_on IS NULL OR expires_on >= signed_on))""",
    "ALTER TABLE consent_event ADD CONSTRAINT consent_event_hash CHECK (notice_sha256 ~ '^[0-9a-f]{64}$')",
    "CREATE UNIQUE INDEX consent_event_photo ON consent_event (evidence_id) WHERE evidence_id IS NOT NULL",
    "CREATE INDEX consent_event_subject_idx ON consent_event (subject_kind, subject_id)",
    "CREATE INDEX consent_event_household_idx ON consent_event (household_id)",
    "CREATE INDEX consent_event_person_idx ON consent_event (person_id)",
    "CREATE INDEX consent_event_township_idx ON consent_event (township_id)",
    """CREATE OR REPLACE FUNCTION cunxin_consent_event_check() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE granted consent_event%ROWTYPE; shown consent_notice%ROWTYPE; receiver consent_recipient%ROWTYPE;
       BEGIN
         SELECT * INTO shown FROM consent_notice WHERE id = NEW.notice;
         SELECT * INTO receiver FROM consent_recipient WHERE id = NEW.recipient;
         IF shown.county <> NEW.county_id OR receiver.county <> NEW.county_id
            OR shown.recipient_kind <> NEW.recipient_kind OR receiver.kind <> NEW.recipient_kind
            OR shown.purpose <> NEW.purpose OR shown.version <> NEW.notice_version THEN
           RAISE EXCEPTION 'consent_event: notice or recipient does not match its county, kind, purpose or version'
             USING ERRCODE = 'check_violation';
         END IF;
         IF NEW.action = 'withdraw' THEN
           SELECT * INTO granted FROM consent_event WHERE id = NEW.withdraws;
           IF granted.action <> 'grant' OR (granted.subject_kind, granted.subject_id, granted.recipient, granted.purpose,
                                            granted.data_scope, granted.notice)
              IS DISTINCT FROM (NEW.subject_kind, NEW.subject_id, NEW.recipient, NEW.purpose, NEW.data_scope, NEW.notice)
              OR NEW.recorded_at < granted.recorded_at THEN
             RAISE EXCEPTION 'a withdrawal must follow and match the grant it withdraws (%)', NEW.withdraws
               USING ERRCODE = 'check_violation';
           END IF;
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER consent_event_check BEFORE INSERT ON consent_event
       FOR EACH ROW EXECUTE FUNCTION cunxin_consent_event_check()""",
    """CREATE TRIGGER consent_event_append_only BEFORE UPDATE OR DELETE ON consent_event
       FOR EACH ROW EXECUTE FUNCTION cunxin_refuse_change()""",
    """CREATE TRIGGER consent_event_no_truncate BEFORE TRUNCATE ON consent_event
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
    "CREATE UNIQUE INDEX signing_key_one_active ON signing_key ((true)) WHERE retired_at IS NULL",
    """CREATE OR REPLACE FUNCTION cunxin_signing_key_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN
           RAISE EXCEPTION 'signing keys are never deleted (old statements must still verify)'
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         IF OLD.retired_at IS NOT NULL OR NEW.retired_at IS NULL
            OR (to_jsonb(NEW) - 'retired_at') IS DISTINCT FROM (to_jsonb(OLD) - 'retired_at') THEN
           RAISE EXCEPTION 'a signing key can only be retired, once' USING ERRCODE = 'insufficient_privilege';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER signing_key_guard BEFORE UPDATE OR DELETE ON signing_key
       FOR EACH ROW EXECUTE FUNCTION cunxin_signing_key_guard()""",
    """CREATE TRIGGER signing_key_no_truncate BEFORE TRUNCATE ON signing_key
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="consent", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
