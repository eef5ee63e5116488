"""Foreign keys restrict deletes (issue 9, point 3).

A photo keeps the account that uploaded it: deleting that account is refused instead of taking
the evidence with it.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete
from piccolo.columns.column_types import ForeignKey

ID = "2026-12-02T08:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "foreign keys restrict deletes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="evidence", description=DESCRIPTION)
    manager.alter_column(
        table_class_name="Evidence", tablename="evidence", column_name="uploaded_by", db_column_name="uploaded_by",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    return manager
