from piccolo.conf.apps import AppConfig

from backend.objections.tables import EntryObjection
from backend.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="objections",
    migrations_folder_path=PROJECT_ROOT / "migrations" / "objections",
    table_classes=[EntryObjection],
    migration_dependencies=["backend.registry.piccolo_app", "backend.auth.piccolo_app", "backend.audit.piccolo_app",
                            "backend.ledger.piccolo_app", "backend.ratings.piccolo_app", "backend.consent.piccolo_app"],
)
