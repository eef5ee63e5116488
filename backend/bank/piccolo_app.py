from piccolo.conf.apps import AppConfig

from backend.bank.tables import BankProduct, RatingPull
from backend.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="bank",
    migrations_folder_path=PROJECT_ROOT / "migrations" / "bank",
    table_classes=[BankProduct, RatingPull],
    migration_dependencies=["backend.registry.piccolo_app", "backend.auth.piccolo_app", "backend.audit.piccolo_app",
                            "backend.ratings.piccolo_app", "backend.consent.piccolo_app"],
)
