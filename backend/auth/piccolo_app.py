from piccolo.conf.apps import AppConfig

from backend.auth import tables
from backend.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="auth",
    migrations_folder_path=PROJECT_ROOT / "migrations" / "auth",
    table_classes=[tables.BankClient, tables.Account, tables.GridAssignment, tables.AuthSession],
    migration_dependencies=["backend.registry.piccolo_app"],
)
