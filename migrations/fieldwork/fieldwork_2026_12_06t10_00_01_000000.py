"""``county_id`` on party_activity, patrol_report: existing rows get their county, then the database holds it.

Each row's county comes from the columns it had before (see ``BACKFILL``: a village's township, a
household's village, a person's current — else last — household, an event's township, a proposal's
period…). A row whose county cannot be found is given the database's only county when there is just
one; with several counties the migration refuses (name the row's county by hand first), rather than
guess. Append-only guards are off for this transaction only, while the new column is filled in.

Then ``CHECK (county_id > 0)`` (the column's default is 0: an INSERT that does not name its county
is refused, so a forgotten write path fails in tests, not in a split) and indexes led by ``county_id``.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-06T10:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "backfill county_id on party_activity, patrol_report, NOT NULL > 0, indexes"

BACKFILL = {'party_activity': ['UPDATE party_activity x SET county_id = t.county FROM township t WHERE t.id = x.township_id'], 'patrol_report': ['UPDATE patrol_report x SET county_id = t.county FROM township t WHERE t.id = x.township_id']}

INDEXES = {'party_activity': ['(county_id, township_id)'], 'patrol_report': ['(county_id, township_id)']}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="fieldwork", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        async with engine.transaction():
            for table, statements in BACKFILL.items():
                count = await engine.run_ddl(f"SELECT count(*) AS n FROM {table}")
                if count and count[0]["n"]:
                    await engine.run_ddl(f"ALTER TABLE {table} DISABLE TRIGGER USER")
                    for statement in statements:
                        await engine.run_ddl(statement)
                    missing = await engine.run_ddl(f"SELECT count(*) AS n FROM {table} WHERE county_id = 0")
                    if missing[0]["n"]:
                        counties = await engine.run_ddl("SELECT id FROM county ORDER BY id")
                        if len(counties) != 1:
                            raise RuntimeError(f"{missing[0]['n']} rows of {table} have no county that can be "
                                               "derived; set their county_id before this upgrade")
                        await engine.run_ddl(f"UPDATE {table} SET county_id = {int(counties[0]['id'])} "
                                             "WHERE county_id = 0")
                    await engine.run_ddl(f"ALTER TABLE {table} ENABLE TRIGGER USER")
                await engine.run_ddl(f"ALTER TABLE {table} ADD CONSTRAINT {table}_county_known CHECK (county_id > 0)")
                for n, columns in enumerate(INDEXES.get(table, ())):
                    await engine.run_ddl(f"CREATE INDEX IF NOT EXISTS {table}_county_{n} ON {table} {columns}")

    manager.add_raw(run)
    return manager
