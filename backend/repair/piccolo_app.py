from piccolo.conf.apps import AppConfig

from backend.settings import PROJECT_ROOT
from backend.repair.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookOutbox

APP_CONFIG = AppConfig(
    app_name="repair",
    migrations_folder_path=PROJECT_ROOT / "migrations" / "repair",
    table_classes=[WebhookEndpoint, WebhookOutbox, WebhookDelivery, WebhookAttempt],
    migration_dependencies=["backend.registry.piccolo_app", "backend.auth.piccolo_app", "backend.audit.piccolo_app",
                            "backend.ledger.piccolo_app", "backend.ratings.piccolo_app", "backend.consent.piccolo_app"],
)
