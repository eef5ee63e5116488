"""The notification slice's guarantees, in the database itself.

- notice: one per (county, recipient, dedupe key) — a replayed change, a second run of a cron or a
  second approval batch writes nothing (``INSERT … ON CONFLICT DO NOTHING``); a closed vocabulary
  of kinds; the county is known (> 0); only ``read_at`` ever changes, and only once (NULL → a time);
  notices are never deleted.
- notice_delivery: one per (notice, channel); closed status and channel vocabularies; a claimed
  delivery carries its token and lease; never deleted.
- notice_attempt: the delivery log, append-only (UPDATE, DELETE, TRUNCATE refused).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T16:05:49:000000"
VERSION = "1.38.0"
DESCRIPTION = "notifications guarantees"

KINDS = ("('event_recorded', 'event_pending', 'event_approved', 'event_rejected', 'rating_publicity', "
         "'rating_objection_decided', 'objection_decided', 'repair_decided', 'bank_pull', 'commitment_due')")
CHANNELS = "('logging', 'sms', 'wechat')"

STATEMENTS = [
    "ALTER TABLE notice ADD CONSTRAINT notice_county_known CHECK (county_id > 0)",
    f"ALTER TABLE notice ADD CONSTRAINT notice_kind CHECK (kind IN {KINDS})",
    "ALTER TABLE notice ADD CONSTRAINT notice_dedupe_key CHECK (dedupe_key <> '')",
    "CREATE UNIQUE INDEX notice_once ON notice (county_id, recipient_person_id, dedupe_key)",
    "CREATE INDEX notice_inbox ON notice (county_id, recipient_person_id, id DESC)",
    """CREATE OR REPLACE FUNCTION cunxin_notice_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN
           RAISE EXCEPTION 'notice is never deleted' USING ERRCODE = 'insufficient_privilege';
         END IF;
         IF (to_jsonb(NEW) - 'read_at') IS DISTINCT FROM (to_jsonb(OLD) - 'read_at')
            OR (OLD.read_at IS NOT NULL AND NEW.read_at IS DISTINCT FROM OLD.read_at) THEN
           RAISE EXCEPTION 'notice %: only read_at changes, once', OLD.id USING ERRCODE = 'insufficient_privilege';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER notice_guard BEFORE UPDATE OR DELETE ON notice
       FOR EACH ROW EXECUTE FUNCTION cunxin_notice_guard()""",
    """CREATE TRIGGER notice_no_truncate BEFORE TRUNCATE ON notice
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
    "ALTER TABLE notice_delivery ADD CONSTRAINT notice_delivery_county_known CHECK (county_id > 0)",
    f"ALTER TABLE notice_delivery ADD CONSTRAINT notice_delivery_channel CHECK (channel IN {CHANNELS})",
    """ALTER TABLE notice_delivery ADD CONSTRAINT notice_delivery_status CHECK (
          status IN ('pending', 'sending', 'sent', 'failed', 'skipped')
          AND (status = 'sending') = (claim_token <> '' AND lease_until IS NOT NULL)
          AND (status = 'sent') = (sent_at IS NOT NULL))""",
    "CREATE UNIQUE INDEX notice_delivery_one ON notice_delivery (notice, channel)",
    "CREATE INDEX notice_delivery_due ON notice_delivery (due_at, id) WHERE status IN ('pending', 'sending')",
    """CREATE OR REPLACE FUNCTION cunxin_notice_delivery_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'notice_delivery is never deleted' USING ERRCODE = 'insufficient_privilege';
       END $$""",
    """CREATE TRIGGER notice_delivery_guard BEFORE DELETE ON notice_delivery
       FOR EACH ROW EXECUTE FUNCTION cunxin_notice_delivery_guard()""",
    """CREATE TRIGGER notice_delivery_no_truncate BEFORE TRUNCATE ON notice_delivery
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
    "ALTER TABLE notice_attempt ADD CONSTRAINT notice_attempt_county_known CHECK (county_id > 0)",
    f"ALTER TABLE notice_attempt ADD CONSTRAINT notice_attempt_channel CHECK (channel IN {CHANNELS})",
    "ALTER TABLE notice_attempt ADD CONSTRAINT notice_attempt_outcome CHECK (outcome IN ('sent', 'failed', 'skipped'))",
    "CREATE INDEX notice_attempt_county ON notice_attempt (county_id, id DESC)",
    """CREATE TRIGGER notice_attempt_append_only BEFORE UPDATE OR DELETE ON notice_attempt
       FOR EACH ROW EXECUTE FUNCTION cunxin_refuse_change()""",
    """CREATE TRIGGER notice_attempt_no_truncate BEFORE TRUNCATE ON notice_attempt
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="notifications", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
