"""This package's tables in the back office (``admin.build_admin`` adds them).

Party activities are read-only there (recorded through the scoped API): a branch's activity —
kind, item, date, place, description, photo id — names no villager (the attendees are only in
the ledger's events, which the admin reads with their own logging). Patrol reports are left out:
their free-text notes from the field may name villagers, and no ``admin.audit.CONCERNS`` entry
logs admin reads of them.
"""

from __future__ import annotations

MENU = "党建网格 Field work"


def table_configs() -> list:
    from piccolo_admin.endpoints import TableConfig

    from admin import READ_ONLY  # imported when the admin is built: admin/__init__ is complete by then
    from backend.fieldwork.tables import PartyActivity

    return [TableConfig(PartyActivity, menu_group=MENU, validators=READ_ONLY)]
