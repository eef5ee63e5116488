"""This package's tables in the back office (``admin.build_admin`` adds them).

Repair applications are read-only there (filing, documents and decisions go through the scoped API;
the database refuses changes to a filing and to a decided application anyway). They are personal
data, so the table is listed only while ``admin.audit.CONCERNS`` logs admin reads of it.
"""

from __future__ import annotations

MENU = "信用修复 Repair"


def table_configs() -> list:
    from piccolo_admin.endpoints import TableConfig

    from admin import READ_ONLY  # imported when the admin is built: admin/__init__ is complete by then
    from admin.audit import PERSONAL_TABLES
    from backend.repair.tables import RepairApplication

    if RepairApplication._meta.tablename not in PERSONAL_TABLES:
        return []  # never an unlogged read of personal data
    return [TableConfig(RepairApplication, menu_group=MENU, validators=READ_ONLY)]
