"""This package's tables in the back office (``admin.build_admin`` adds them).

The county's limits and the village rule versions are read-only here: limits are saved and versions
proposed and decided through the API, which checks them (every problem at once) and keeps the
maker-checker rule; the database refuses changes anyway. Village points entries are personal data:
listed only while ``admin.audit.CONCERNS`` logs admin reads of them (it does not yet — the lead may
add a ``village_points_entry`` concern), so until then they are not in the admin at all.
"""

from __future__ import annotations

MENU = "村规民约 Village rules"


def table_configs() -> list:
    from piccolo_admin.endpoints import TableConfig

    from admin import READ_ONLY  # imported when the admin is built: admin/__init__ is complete by then
    from admin.audit import PERSONAL_TABLES
    from backend.village_rules.tables import VillagePointsEntry, VillageRuleLimits, VillageRuleVersion

    configs = [TableConfig(VillageRuleLimits, menu_group=MENU, validators=READ_ONLY),
               TableConfig(VillageRuleVersion, menu_group=MENU, validators=READ_ONLY)]
    if VillagePointsEntry._meta.tablename in PERSONAL_TABLES:  # never an unlogged read of personal data
        configs.append(TableConfig(VillagePointsEntry, menu_group=MENU, validators=READ_ONLY))
    return configs
