from piccolo.conf.apps import AppConfig

from backend.ledger import tables
from backend.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="ledger",
    migrations_folder_path=PROJECT_ROOT / "migrations" / "ledger",
    table_classes=[tables.CreditEvent, tables.LedgerEntry],
    migration_dependencies=["backend.auth.piccolo_app", "backend.audit.piccolo_app"],
)
