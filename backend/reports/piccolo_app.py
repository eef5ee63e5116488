from piccolo.conf.apps import AppConfig

from backend.reports import tables
from backend.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="reports",
    migrations_folder_path=PROJECT_ROOT / "migrations" / "reports",
    table_classes=[tables.ReportRun],
    migration_dependencies=["backend.registry.piccolo_app", "backend.auth.piccolo_app", "backend.audit.piccolo_app",
                            "backend.ledger.piccolo_app", "backend.ratings.piccolo_app", "backend.consent.piccolo_app",
                            "backend.bank.piccolo_app", "backend.measures.piccolo_app",
                            "backend.objections.piccolo_app", "backend.repair.piccolo_app"],
)
