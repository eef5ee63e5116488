"""``county_id`` on evidence (issue 14 item 6: ready to shard by county).

The column only; the next migration fills it in for existing rows, then makes the database refuse a
row without a county (``CHECK (county_id > 0)``) and adds the indexes led by it."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-06T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "county_id on evidence"

TABLES = [('Evidence', 'evidence')]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="evidence", description=DESCRIPTION)
    for class_name, tablename in TABLES:
        manager.add_column(
            table_class_name=class_name,
            tablename=tablename,
            column_name="county_id",
            db_column_name="county_id",
            column_class_name="Integer",
            column_class=Integer,
            params={"default": 0, "null": False, "primary_key": False, "unique": False, "index": False,
                    "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False},
            schema=None,
        )
    return manager
