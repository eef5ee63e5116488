"""The feed slice's guarantees, in the database itself.

- feed_record: one row per (source, source record id) — the idempotency claim a concurrent double
  post races for; closed vocabularies of action and status; never deleted (a source record is
  evidence of where an entry came from, art. 35); a removal names a record of the same source.
- feed_batch: a signature is accepted once (UNIQUE, the replay store); never changed or deleted.
- feed_source: closed kinds; a source is never deleted (deactivate it).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T06:16:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "feeds guarantees"

STATUSES = ("('recorded', 'unmatched', 'dismissed', 'withdrawn', 'removed', 'removal_pending', 'removal_done', "
            "'removal_unknown')")

STATEMENTS = [
    "CREATE UNIQUE INDEX feed_record_once ON feed_record (source, record_id)",
    "ALTER TABLE feed_record ADD CONSTRAINT feed_record_action CHECK (action IN ('add', 'remove'))",
    f"ALTER TABLE feed_record ADD CONSTRAINT feed_record_status CHECK (status IN {STATUSES})",
    "CREATE INDEX feed_record_queue ON feed_record (county_id, township_id) WHERE status = 'unmatched'",
    """ALTER TABLE feed_source ADD CONSTRAINT feed_source_kind
       CHECK (kind IN ('court_defaulters', 'wage_arrears', 'volunteer_hours', 'other'))""",
    "ALTER TABLE feed_batch ADD CONSTRAINT feed_batch_channel CHECK (channel IN ('api', 'xlsx'))",
    """CREATE OR REPLACE FUNCTION cunxin_feed_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION '% rows are never deleted', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
       END $$""",
    """CREATE TRIGGER feed_record_no_delete BEFORE DELETE OR TRUNCATE ON feed_record
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_feed_no_delete()""",
    """CREATE TRIGGER feed_source_no_delete BEFORE DELETE OR TRUNCATE ON feed_source
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_feed_no_delete()""",
    """CREATE TRIGGER feed_batch_no_change BEFORE DELETE OR TRUNCATE ON feed_batch
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_feed_no_delete()""",
    """CREATE OR REPLACE FUNCTION cunxin_feed_record_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF (NEW.source, NEW.record_id, NEW.action, NEW.digest, NEW.county_id, NEW.created_at)
            IS DISTINCT FROM (OLD.source, OLD.record_id, OLD.action, OLD.digest, OLD.county_id, OLD.created_at) THEN
           RAISE EXCEPTION 'a feed record''s source, id, action and content never change'
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER feed_record_guard BEFORE UPDATE ON feed_record
       FOR EACH ROW EXECUTE FUNCTION cunxin_feed_record_guard()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="feeds", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
