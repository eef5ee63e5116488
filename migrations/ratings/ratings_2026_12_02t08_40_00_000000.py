"""Foreign keys restrict deletes (issue 9, point 3).

Rating history is never deleted by a cascade: a county with rating periods, a period with
proposals, a proposal with decisions or objections cannot be deleted.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete
from piccolo.columns.column_types import ForeignKey

ID = "2026-12-02T08:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "foreign keys restrict deletes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ratings", description=DESCRIPTION)
    manager.alter_column(
        table_class_name="RatingPeriod", tablename="rating_period", column_name="county", db_column_name="county",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="RatingProposal", tablename="rating_proposal", column_name="period", db_column_name="period",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="RatingDecision", tablename="rating_decision", column_name="proposal", db_column_name="proposal",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="RatingObjection", tablename="rating_objection", column_name="proposal", db_column_name="proposal",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    return manager
