from piccolo.conf.apps import AppConfig

from backend.audit import tables
from backend.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="audit",
    migrations_folder_path=PROJECT_ROOT / "migrations" / "audit",
    table_classes=[tables.AccessLog, tables.SecurityEvent],
)
