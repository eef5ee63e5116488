from piccolo.conf.apps import AppConfig

from backend.catalogue import tables
from backend.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="catalogue",
    migrations_folder_path=PROJECT_ROOT / "migrations" / "catalogue",
    table_classes=[tables.CountyCatalogueVersion],
    migration_dependencies=["backend.registry.piccolo_app", "backend.auth.piccolo_app", "backend.ledger.piccolo_app"],
)
