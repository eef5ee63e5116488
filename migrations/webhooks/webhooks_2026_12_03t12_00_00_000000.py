"""Endpoints may subscribe to ``repair.decided`` (credit repair, art. 45)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhooks: repair.decided"

EVENT_TYPES = '["rating.effective", "objection.decided", "consent.granted", "consent.withdrawn", "repair.decided"]'

STATEMENTS = [
    "ALTER TABLE webhook_endpoint DROP CONSTRAINT webhook_endpoint_event_types",
    f"""ALTER TABLE webhook_endpoint ADD CONSTRAINT webhook_endpoint_event_types CHECK (
          jsonb_typeof(event_types) = 'array' AND jsonb_array_length(event_types) >= 1
          AND event_types <@ '{EVENT_TYPES}'::jsonb)""",
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
