"""Accounts (issue 9, point 3): the role is one of the known roles, and deleting a county,
township, person, grid or account that accounts or grid assignments point at is refused.

A role typed by hand (``County_admin``) used to be stored and gave that user a 500 on every
request. The list is ``backend.auth.roles.ACCOUNT_ROLES``; a test compares the two.
Sessions still go with their account (they are not history).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T23:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "account role constraint, auth foreign keys restrict deletes"

FOREIGN_KEYS = [
    ("bank_client", "county", "county"),
    ("account", "county", "county"),
    ("account", "township", "township"),
    ("account", "person", "person"),
    ("grid_assignment", "account", "account"),
    ("grid_assignment", "grid", "grid"),
]

STATEMENTS = [
    """ALTER TABLE account ADD CONSTRAINT account_role
       CHECK (role IN ('grid_worker', 'villager', 'township_admin', 'county_admin', 'auditor'))""",
    *(f"""ALTER TABLE {table} DROP CONSTRAINT {table}_{column}_fkey,
          ADD CONSTRAINT {table}_{column}_fkey FOREIGN KEY ({column}) REFERENCES {target} (id)
          ON DELETE RESTRICT ON UPDATE CASCADE"""
      for table, column, target in FOREIGN_KEYS),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="auth", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
