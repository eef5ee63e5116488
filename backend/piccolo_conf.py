"""Piccolo configuration: the engine and the apps whose migrations live under ``migrations/``."""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from backend.settings import get_settings

DB = PostgresEngine(config={"dsn": get_settings().database_url}, log_queries=False)

APP_REGISTRY = AppRegistry(
    apps=[
        "backend.registry.piccolo_app",
        "backend.auth.piccolo_app",
        "backend.audit.piccolo_app",
        "backend.ledger.piccolo_app",
        "backend.evidence.piccolo_app",
        "backend.ratings.piccolo_app",
        "backend.consent.piccolo_app",
        "backend.bank.piccolo_app",
        "backend.measures.piccolo_app",
        "backend.webhooks.piccolo_app",
        "backend.feeds.piccolo_app",
        "backend.objections.piccolo_app",
        "backend.repair.piccolo_app",
        "backend.commitments.piccolo_app",
        "backend.history.piccolo_app",
        "backend.reports.piccolo_app",
        "backend.fieldwork.piccolo_app",
        "backend.catalogue.piccolo_app",
        "backend.village_rules.piccolo_app",
        "backend.notifications.piccolo_app",
        "piccolo.apps.user.piccolo_app",
        "piccolo_admin.piccolo_app",
    ]
)
