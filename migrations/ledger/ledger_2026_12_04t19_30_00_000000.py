"""``ledger_entry.county_id`` — the column of the per-county chains (the next migration fills it in for
existing rows and re-links them; see there)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-04T19:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger_entry.county_id"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)
    manager.add_column(
        table_class_name="LedgerEntry",
        tablename="ledger_entry",
        column_name="county_id",
        db_column_name="county_id",
        column_class_name="Integer",
        column_class=Integer,
        params={"default": 0, "null": False, "primary_key": False, "unique": False, "index": True,
                "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False},
        schema=None,
    )
    return manager
