"""The history slice's guarantees, in the database: closed vocabularies for an import run's
status, channel, file kind and mode; a SHA-256 that is one; counts never negative; a run that has
ended keeps no copy of the file; runs are never deleted (they are the record of who imported what)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T10:31:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "history guarantees"

STATEMENTS = [
    "ALTER TABLE history_import ADD CONSTRAINT history_import_status CHECK (status IN ('queued', 'running', 'done', 'rejected', 'failed'))",
    "ALTER TABLE history_import ADD CONSTRAINT history_import_channel CHECK (channel IN ('api', 'cli'))",
    "ALTER TABLE history_import ADD CONSTRAINT history_import_kind CHECK (file_kind IN ('xlsx', 'csv'))",
    "ALTER TABLE history_import ADD CONSTRAINT history_import_mode CHECK (mode IN ('all_or_nothing', 'valid_rows'))",
    "ALTER TABLE history_import ADD CONSTRAINT history_import_sha CHECK (file_sha256 ~ '^[0-9a-f]{64}$')",
    """ALTER TABLE history_import ADD CONSTRAINT history_import_counts CHECK (progress_done >= 0
       AND coalesce(rows_read, 0) >= 0 AND coalesce(rows_invalid, 0) >= 0 AND coalesce(rows_imported, 0) >= 0
       AND coalesce(rows_already, 0) >= 0)""",
    """ALTER TABLE history_import ADD CONSTRAINT history_import_file_released
       CHECK (status IN ('queued', 'running') OR content IS NULL)""",
    """CREATE TRIGGER history_import_no_delete BEFORE DELETE OR TRUNCATE ON history_import
       FOR EACH STATEMENT EXECUTE FUNCTION cunxin_refuse_change()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="history", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
