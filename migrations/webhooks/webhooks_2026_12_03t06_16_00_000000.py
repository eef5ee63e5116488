"""The webhook slice's guarantees, in the database itself (DESIGN invariant 12: nothing is lost
between the database and Redis).

- webhook_outbox: append-only (UPDATE, DELETE, TRUNCATE refused): a message once written is sent
  byte for byte, and stays as the record of what was announced.
- webhook_delivery: one per (message, endpoint); closed status vocabulary; a claimed delivery has
  its claim token and lease; its county is its message's and its endpoint's.
- webhook_attempt: append-only.
- webhook_endpoint: closed event-type list, a disabled endpoint says why (flipping ``enabled`` alone
  fills or clears the reason), a secret is never empty, its recipient is of its county.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T06:16:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhooks guarantees"

EVENT_TYPES = '["rating.effective", "objection.decided", "consent.granted", "consent.withdrawn"]'

STATEMENTS = [
    f"""ALTER TABLE webhook_endpoint ADD CONSTRAINT webhook_endpoint_event_types CHECK (
          jsonb_typeof(event_types) = 'array' AND jsonb_array_length(event_types) >= 1
          AND event_types <@ '{EVENT_TYPES}'::jsonb)""",
    """ALTER TABLE webhook_endpoint ADD CONSTRAINT webhook_endpoint_disabled CHECK (
          disabled_reason IN ('', 'admin', 'failing') AND enabled = (disabled_reason = '')
          AND enabled = (disabled_at IS NULL))""",
    "ALTER TABLE webhook_endpoint ADD CONSTRAINT webhook_endpoint_secret CHECK (secret_cipher <> '')",
    """ALTER TABLE webhook_endpoint ADD CONSTRAINT webhook_endpoint_previous CHECK (
          (previous_secret_cipher = '') = (previous_valid_until IS NULL))""",
    "ALTER TABLE webhook_endpoint ADD CONSTRAINT webhook_endpoint_url CHECK (url ~ '^https?://')",
    """CREATE OR REPLACE FUNCTION cunxin_webhook_endpoint_check() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.recipient IS NOT NULL AND NOT EXISTS (
              SELECT 1 FROM consent_recipient r WHERE r.id = NEW.recipient AND r.county = NEW.county) THEN
           RAISE EXCEPTION 'webhook_endpoint: recipient % is not of county %', NEW.recipient, NEW.county
             USING ERRCODE = 'check_violation';
         END IF;
         IF TG_OP = 'UPDATE' AND NEW.county <> OLD.county THEN
           RAISE EXCEPTION 'webhook_endpoint: the county never changes' USING ERRCODE = 'check_violation';
         END IF;
         -- the back office flips ``enabled`` only: the reason, the instant and the counters follow
         IF TG_OP = 'UPDATE' AND NEW.enabled AND NOT OLD.enabled THEN
           NEW.disabled_reason := ''; NEW.disabled_at := NULL; NEW.consecutive_failures := 0;
           NEW.failing_since := NULL;
         ELSIF TG_OP = 'UPDATE' AND NOT NEW.enabled AND OLD.enabled AND NEW.disabled_reason = '' THEN
           NEW.disabled_reason := 'admin'; NEW.disabled_at := COALESCE(NEW.disabled_at, now());
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER webhook_endpoint_check BEFORE INSERT OR UPDATE ON webhook_endpoint
       FOR EACH ROW EXECUTE FUNCTION cunxin_webhook_endpoint_check()""",
    """CREATE TRIGGER webhook_outbox_append_only BEFORE UPDATE OR DELETE ON webhook_outbox
       FOR EACH ROW EXECUTE FUNCTION cunxin_refuse_change()""",
    """CREATE TRIGGER webhook_outbox_no_truncate BEFORE TRUNCATE ON webhook_outbox
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
    "ALTER TABLE webhook_outbox ADD CONSTRAINT webhook_outbox_msg_id CHECK (msg_id ~ '^msg_[A-Za-z0-9]+$')",
    "CREATE UNIQUE INDEX webhook_delivery_one ON webhook_delivery (message, endpoint)",
    """ALTER TABLE webhook_delivery ADD CONSTRAINT webhook_delivery_status CHECK (
          status IN ('pending', 'delivering', 'delivered', 'failed')
          AND (status = 'delivering') = (lease_until IS NOT NULL AND claim_token <> '')
          AND (status <> 'delivered' OR delivered_at IS NOT NULL))""",
    """CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at)
       WHERE status IN ('pending', 'delivering')""",
    """CREATE OR REPLACE FUNCTION cunxin_webhook_delivery_check() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NOT EXISTS (SELECT 1 FROM webhook_outbox m JOIN webhook_endpoint e ON e.id = NEW.endpoint
                        WHERE m.id = NEW.message AND m.county_id = NEW.county_id AND e.county = NEW.county_id) THEN
           RAISE EXCEPTION 'webhook_delivery: message, endpoint and county do not match'
             USING ERRCODE = 'check_violation';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER webhook_delivery_check BEFORE INSERT ON webhook_delivery
       FOR EACH ROW EXECUTE FUNCTION cunxin_webhook_delivery_check()""",
    """CREATE TRIGGER webhook_attempt_append_only BEFORE UPDATE OR DELETE ON webhook_attempt
       FOR EACH ROW EXECUTE FUNCTION cunxin_refuse_change()""",
    """CREATE TRIGGER webhook_attempt_no_truncate BEFORE TRUNCATE ON webhook_attempt
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="webhooks", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
