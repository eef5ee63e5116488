"""The reader's organisation in words (a snapshot at read time) and the reader's own person.

Adding columns with constant defaults rewrites no row, so the append-only triggers are not
involved; rows written before this migration have ``actor_org_zh = ''`` and the villager's
view names the kind of body instead (``backend.audit.words.org_zh``).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T22:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "access_log: reader's organisation (words) and person"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="audit", description=DESCRIPTION)

    manager.add_column(
        table_class_name="AccessLog",
        tablename="access_log",
        column_name="actor_org_zh",
        db_column_name="actor_org_zh",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 128,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="AccessLog",
        tablename="access_log",
        column_name="actor_person_id",
        db_column_name="actor_person_id",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
