"""``county_id`` on village, grid, party_branch, household, household_residence, household_membership, person, party_member_link, organisation: existing rows get their county, then the database holds it.

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
DESCRIPTION = "backfill county_id on village, grid, party_branch, household, household_residence, household_membership, person, party_member_link, organisation, NOT NULL > 0, indexes"

BACKFILL = {'village': ['UPDATE village x SET county_id = t.county FROM township t WHERE t.id = x.township'], 'grid': ['UPDATE grid x SET county_id = t.county FROM village v JOIN township t ON t.id = v.township WHERE v.id = x.village'], 'party_branch': ['UPDATE party_branch x SET county_id = t.county FROM village v JOIN township t ON t.id = v.township WHERE v.id = x.village'], 'household': ['UPDATE household x SET county_id = t.county FROM village v JOIN township t ON t.id = v.township WHERE v.id = x.village'], 'household_residence': ['UPDATE household_residence x SET county_id = h.county_id FROM household h WHERE h.id = x.household'], 'household_membership': ['UPDATE household_membership x SET county_id = h.county_id FROM household h WHERE h.id = x.household'], 'person': ['UPDATE person x SET county_id = COALESCE((SELECT t.county FROM household_membership m JOIN household h ON h.id = m.household JOIN village v ON v.id = h.village JOIN township t ON t.id = v.township WHERE m.person = x.id ORDER BY (m.valid_to IS NULL) DESC, m.valid_from DESC, m.id DESC LIMIT 1), 0)', 'UPDATE person x SET county_id = v.county_id FROM party_branch b JOIN village v ON v.id = b.village WHERE x.county_id = 0 AND b.id = x.party_branch', 'UPDATE person x SET county_id = COALESCE((SELECT COALESCE((SELECT t.county FROM township t WHERE t.id = e.township_id), 0) FROM credit_event e WHERE e.person_id = x.id ORDER BY e.id DESC LIMIT 1), 0) WHERE x.county_id = 0'], 'party_member_link': ['UPDATE party_member_link x SET county_id = h.county_id FROM household h WHERE h.id = x.household'], 'organisation': ['UPDATE organisation x SET county_id = t.county FROM township t WHERE t.id = x.township']}

INDEXES = {'village': ['(county_id, township)'], 'grid': ['(county_id, village)'], 'household': ['(county_id, village)', '(county_id, grid)'], 'household_membership': ['(county_id, person)', '(county_id, household)'], 'person': ['(county_id)'], 'organisation': ['(county_id, township)']}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

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
