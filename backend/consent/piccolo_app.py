from piccolo.conf.apps import AppConfig

from backend.consent import tables
from backend.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="consent",
    migrations_folder_path=PROJECT_ROOT / "migrations" / "consent",
    table_classes=[tables.ConsentRecipient, tables.ConsentNotice, tables.ConsentEvent, tables.SigningKey],
    migration_dependencies=["backend.registry.piccolo_app", "backend.auth.piccolo_app", "backend.audit.piccolo_app",
                            "backend.evidence.piccolo_app"],
)
