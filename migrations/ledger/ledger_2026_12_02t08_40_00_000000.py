"""Foreign keys restrict deletes (issue 9, point 3).

A credit event keeps the account that recorded it: deleting that account is refused (it was a
CASCADE that would have taken the account's events — and broken the hash chain — with it).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete
from piccolo.columns.column_types import ForeignKey

ID = "2026-12-02T08:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "foreign keys restrict deletes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)
    manager.alter_column(
        table_class_name="CreditEvent", tablename="credit_event", column_name="recorded_by", db_column_name="recorded_by",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    return manager
