"""Patrol reports in the database itself: one per recorder and idempotency key (a replay finds the
same report, so the same finding events); one report per photo; a report is never deleted."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T07:43:41:000000"
VERSION = "1.38.0"
DESCRIPTION = "fieldwork patrol report guarantees"

STATEMENTS = [
    "CREATE UNIQUE INDEX patrol_report_key ON patrol_report (recorded_by, idempotency_key)",
    "CREATE UNIQUE INDEX patrol_report_photo ON patrol_report (photo) WHERE photo IS NOT NULL",
    """CREATE TRIGGER patrol_report_no_delete BEFORE DELETE ON patrol_report
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
