from piccolo.conf.apps import AppConfig

from backend.settings import PROJECT_ROOT
from backend.village_rules.tables import VillagePointsEntry, VillageRuleLimits, VillageRuleVersion

APP_CONFIG = AppConfig(
    app_name="village_rules",
    migrations_folder_path=PROJECT_ROOT / "migrations" / "village_rules",
    table_classes=[VillageRuleLimits, VillageRuleVersion, VillagePointsEntry],
    migration_dependencies=["backend.registry.piccolo_app", "backend.auth.piccolo_app", "backend.audit.piccolo_app",
                            "backend.evidence.piccolo_app"],
)
