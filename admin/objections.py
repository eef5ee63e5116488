"""This package's tables in the back office (``admin.build_admin`` adds them).

Entry objections are read-only there (decisions go through the scoped API, which township admins
use; the database refuses changes to a filing and to a decided objection anyway). They are
personal data, so the table is listed only once ``admin.audit`` logs admin reads of it:
``CONCERN_SQL`` below is the entry for ``admin.audit.CONCERNS`` (the integrator adds it there).
"""

from __future__ import annotations

MENU = "异议 Objections"

# For admin.audit.CONCERNS["entry_objection"]: (row, subject_kind, subject_id, person_id, household_id,
# township_id) of the rows read. The township is the recording township, which handles the case.
CONCERN_SQL = """SELECT o.id AS row, o.subject_kind AS kind, o.subject_id AS subject, o.person_id AS person,
                 o.household_id AS household, o.township_id AS township
                 FROM entry_objection o WHERE o.id = ANY({})"""


def table_configs() -> list:
    from piccolo_admin.endpoints import TableConfig

    from admin import READ_ONLY  # imported when the admin is built: admin/__init__ is complete by then
    from admin.audit import PERSONAL_TABLES
    from backend.objections.tables import EntryObjection

    if EntryObjection._meta.tablename not in PERSONAL_TABLES:
        return []  # never an unlogged read of personal data
    return [TableConfig(EntryObjection, menu_group=MENU, validators=READ_ONLY)]
