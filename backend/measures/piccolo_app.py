from piccolo.conf.apps import AppConfig

from backend.measures import tables
from backend.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="measures",
    migrations_folder_path=PROJECT_ROOT / "migrations" / "measures",
    table_classes=[tables.Measure, tables.EligibilityList, tables.EligibilityListEntry],
    migration_dependencies=["backend.registry.piccolo_app", "backend.ratings.piccolo_app",
                            "backend.ledger.piccolo_app", "backend.audit.piccolo_app"],
)
