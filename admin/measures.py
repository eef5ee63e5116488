"""This package's tables in the back office (``admin.build_admin`` adds them).

Measures and eligibility lists are read-only here: a measure changes only as a new version,
through the API (``POST /api/v1/measures/{id}/versions``), where its conditions are checked
against the closed set and the change is audited; piccolo-admin would overwrite a row in place
and could not check either. List entries (personal data) are not shown at all: they are read
through the API and its export, scoped and access-logged per household.
"""

from __future__ import annotations


def table_configs() -> list:
    from piccolo_admin.endpoints import TableConfig

    from admin import READ_ONLY  # imported here: admin/__init__ imports this module while it loads
    from backend.measures.tables import EligibilityList, Measure

    group = "激励惩戒 Measures"
    return [
        TableConfig(Measure, menu_group=group, validators=READ_ONLY),
        TableConfig(EligibilityList, menu_group=group, validators=READ_ONLY),
    ]
