"""``county_id`` on standing_household, standing_person, standing_village, standing_township, rating_proposal, rating_decision, rating_objection: existing rows get their county, then the database holds it.

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
DESCRIPTION = "backfill county_id on standing_household, standing_person, standing_village, standing_township, rating_proposal, rating_decision, rating_objection, NOT NULL > 0, indexes"

BACKFILL = {'standing_household': ['UPDATE standing_household x SET county_id = t.county FROM township t WHERE t.id = x.township_id'], 'standing_person': ['UPDATE standing_person x SET county_id = COALESCE((SELECT t.county FROM household h JOIN village v ON v.id = h.village JOIN township t ON t.id = v.township WHERE h.id = x.household_id), (SELECT t.county FROM household_membership m JOIN household h ON h.id = m.household JOIN village v ON v.id = h.village JOIN township t ON t.id = v.township WHERE m.person = x.person_id ORDER BY (m.valid_to IS NULL) DESC, m.valid_from DESC, m.id DESC LIMIT 1), 0)'], 'standing_village': ['UPDATE standing_village x SET county_id = t.county FROM township t WHERE t.id = x.township_id'], 'standing_township': ['UPDATE standing_township x SET county_id = t.county FROM township t WHERE t.id = x.township_id'], 'rating_proposal': ['UPDATE rating_proposal x SET county_id = p.county FROM rating_period p WHERE p.id = x.period'], 'rating_decision': ['UPDATE rating_decision x SET county_id = p.county_id FROM rating_proposal p WHERE p.id = x.proposal'], 'rating_objection': ['UPDATE rating_objection x SET county_id = p.county_id FROM rating_proposal p WHERE p.id = x.proposal']}

INDEXES = {'standing_household': ['(county_id, township_id)', '(county_id, village_id)'], 'standing_person': ['(county_id, household_id)'], 'standing_village': ['(county_id, township_id)'], 'standing_township': ['(county_id)'], 'rating_proposal': ['(county_id, period, level, subject_id)', '(county_id, status)'], 'rating_decision': ['(county_id, proposal)'], 'rating_objection': ['(county_id, proposal)']}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ratings", description=DESCRIPTION)

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
