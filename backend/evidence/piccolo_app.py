from piccolo.conf.apps import AppConfig

from backend.evidence import tables
from backend.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="evidence",
    migrations_folder_path=PROJECT_ROOT / "migrations" / "evidence",
    table_classes=[tables.Evidence],
    migration_dependencies=["backend.auth.piccolo_app"],
)
