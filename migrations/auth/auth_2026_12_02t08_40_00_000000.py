"""Foreign keys restrict deletes (issue 9, point 3).

Account and bank-client foreign keys were made RESTRICT in SQL by an earlier migration; this one
records it in Piccolo's migration history (the tables declare it too). Sessions keep CASCADE: they
are not history.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete
from piccolo.columns.column_types import ForeignKey

ID = "2026-12-02T08:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "foreign keys restrict deletes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="auth", description=DESCRIPTION)
    manager.alter_column(
        table_class_name="BankClient", tablename="bank_client", column_name="county", db_column_name="county",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="Account", tablename="account", column_name="county", db_column_name="county",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="Account", tablename="account", column_name="township", db_column_name="township",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="Account", tablename="account", column_name="person", db_column_name="person",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="GridAssignment", tablename="grid_assignment", column_name="account", db_column_name="account",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="GridAssignment", tablename="grid_assignment", column_name="grid", db_column_name="grid",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    return manager
