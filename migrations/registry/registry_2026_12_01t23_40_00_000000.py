"""Registry foreign keys become ON DELETE RESTRICT (issue 9, point 3).

Piccolo's default is CASCADE: deleting a household in the admin silently took its memberships,
residences and 党员联户 history with it. History is never deleted by a cascade; a household or
village that still has rows pointing at it cannot be deleted at all.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T23:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "registry foreign keys restrict deletes"

# (table, column, referenced table)
FOREIGN_KEYS = [
    ("township", "county", "county"),
    ("village", "township", "township"),
    ("grid", "village", "village"),
    ("party_branch", "village", "village"),
    ("organisation", "township", "township"),
    ("organisation", "village", "village"),
    ("household", "village", "village"),
    ("household", "grid", "grid"),
    ("household_residence", "household", "household"),
    ("household_residence", "grid", "grid"),
    ("person", "party_branch", "party_branch"),
    ("household_membership", "person", "person"),
    ("household_membership", "household", "household"),
    ("party_member_link", "member", "person"),
    ("party_member_link", "household", "household"),
]

STATEMENTS = [
    f"""ALTER TABLE {table} DROP CONSTRAINT {table}_{column}_fkey,
        ADD CONSTRAINT {table}_{column}_fkey FOREIGN KEY ({column}) REFERENCES {target} (id)
        ON DELETE RESTRICT ON UPDATE CASCADE"""
    for table, column, target in FOREIGN_KEYS
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
