"""Party activities in the database itself: one activity per recorder and idempotency key (a
replay or a concurrent double post finds the same row, so the same attendee events); one
activity per photo; an activity is never deleted."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T07:37:53:000000"
VERSION = "1.38.0"
DESCRIPTION = "fieldwork guarantees"

STATEMENTS = [
    "CREATE UNIQUE INDEX party_activity_key ON party_activity (recorded_by, idempotency_key)",
    "CREATE UNIQUE INDEX party_activity_photo ON party_activity (photo) WHERE photo IS NOT NULL",
    """CREATE OR REPLACE FUNCTION cunxin_party_activity_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION '% rows are never deleted', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
       END $$""",
    """CREATE TRIGGER party_activity_no_delete BEFORE DELETE ON party_activity
       FOR EACH ROW EXECUTE FUNCTION cunxin_party_activity_no_delete()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="fieldwork", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
