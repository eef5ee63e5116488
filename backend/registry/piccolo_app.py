from piccolo.conf.apps import AppConfig

from backend.registry import tables
from backend.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="registry",
    migrations_folder_path=PROJECT_ROOT / "migrations" / "registry",
    table_classes=[
        tables.County,
        tables.Township,
        tables.Village,
        tables.Grid,
        tables.PartyBranch,
        tables.Household,
        tables.HouseholdResidence,
        tables.Person,
        tables.HouseholdMembership,
        tables.PartyMemberLink,
        tables.Organisation,
    ],
)
