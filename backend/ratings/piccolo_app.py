from piccolo.conf.apps import AppConfig

from backend.ratings import tables
from backend.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="ratings",
    migrations_folder_path=PROJECT_ROOT / "migrations" / "ratings",
    table_classes=[
        tables.StandingPerson, tables.StandingHousehold, tables.StandingVillage, tables.StandingTownship,
        tables.RatingPeriod, tables.RatingProposal, tables.RatingDecision, tables.RatingObjection,
        tables.CalendarOverride,
    ],
    migration_dependencies=["backend.registry.piccolo_app", "backend.audit.piccolo_app"],
)
