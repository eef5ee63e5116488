"""Foreign keys restrict deletes (issue 9, point 3).

The registry's foreign keys were made RESTRICT in SQL by an earlier migration; this one records it
in Piccolo's migration history (and the tables declare it), so a future ``--auto`` migration sees
no difference and cannot silently turn them back into CASCADE.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete
from piccolo.columns.column_types import ForeignKey

ID = "2026-12-02T08:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "foreign keys restrict deletes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)
    manager.alter_column(
        table_class_name="Township", tablename="township", column_name="county", db_column_name="county",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="Village", tablename="village", column_name="township", db_column_name="township",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="Grid", tablename="grid", column_name="village", db_column_name="village",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="PartyBranch", tablename="party_branch", column_name="village", db_column_name="village",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="Household", tablename="household", column_name="village", db_column_name="village",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="Household", tablename="household", column_name="grid", db_column_name="grid",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="HouseholdResidence", tablename="household_residence", column_name="household", db_column_name="household",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="HouseholdResidence", tablename="household_residence", column_name="grid", db_column_name="grid",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="Person", tablename="person", column_name="party_branch", db_column_name="party_branch",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="HouseholdMembership", tablename="household_membership", column_name="person", db_column_name="person",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="HouseholdMembership", tablename="household_membership", column_name="household", db_column_name="household",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="PartyMemberLink", tablename="party_member_link", column_name="member", db_column_name="member",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="PartyMemberLink", tablename="party_member_link", column_name="household", db_column_name="household",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="Organisation", tablename="organisation", column_name="township", db_column_name="township",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    manager.alter_column(
        table_class_name="Organisation", tablename="organisation", column_name="village", db_column_name="village",
        params={"on_delete": OnDelete.restrict}, old_params={"on_delete": OnDelete.cascade},
        column_class=ForeignKey, old_column_class=ForeignKey, schema=None,
    )
    return manager
