from piccolo.conf.apps import AppConfig

from backend.commitments.tables import CommitmentTemplate, CreditCommitment
from backend.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="commitments",
    migrations_folder_path=PROJECT_ROOT / "migrations" / "commitments",
    table_classes=[CommitmentTemplate, CreditCommitment],
    migration_dependencies=["backend.registry.piccolo_app", "backend.auth.piccolo_app", "backend.audit.piccolo_app",
                            "backend.ledger.piccolo_app", "backend.ratings.piccolo_app", "backend.consent.piccolo_app",
                            "backend.evidence.piccolo_app"],
)
