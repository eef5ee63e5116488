from piccolo.conf.apps import AppConfig

from backend.notifications.tables import Notice, NoticeAttempt, NoticeDelivery
from backend.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="notifications",
    migrations_folder_path=PROJECT_ROOT / "migrations" / "notifications",
    table_classes=[Notice, NoticeDelivery, NoticeAttempt],
    migration_dependencies=["backend.registry.piccolo_app", "backend.auth.piccolo_app", "backend.audit.piccolo_app",
                            "backend.ledger.piccolo_app", "backend.ratings.piccolo_app", "backend.consent.piccolo_app",
                            "backend.objections.piccolo_app", "backend.repair.piccolo_app", "backend.bank.piccolo_app",
                            "backend.commitments.piccolo_app"],
)
