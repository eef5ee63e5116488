"""This package's tables in the back office (``admin.build_admin`` adds them).

Entry objections are read-only there (decisions go through the scoped API, which township admins
use; the database refuses changes to a filing and to a decided objection anyway). They are
personal data, so the table is listed only while ``admin.audit.CONCERNS`` logs admin reads of it.
"""

from __future__ import annotations

MENU = "异议 Objections"

def table_configs() -> list:
    from piccolo_admin.endpoints import TableConfig

    from admin import READ_ONLY  # imported when the admin is built: admin/__init__ is complete by then
    from admin.audit import PERSONAL_TABLES
    from backend.objections.tables import EntryObjection

    if EntryObjection._meta.tablename not in PERSONAL_TABLES:
        return []  # never an unlogged read of personal data
    return [TableConfig(EntryObjection, menu_group=MENU, validators=READ_ONLY)]
