"""The tables as declared and the tables the migrations build are the same.

Otherwise the next ``piccolo migrations new APP --auto`` would quietly undo a change that was made
in SQL only (an ``ON DELETE RESTRICT`` turned back into Piccolo's default CASCADE, say), or a table
change would reach production without a migration.
"""

import pytest
from piccolo.apps.migrations.commands.new import AutoMigrationManager
from piccolo.conf.apps import Finder

APPS = [config.app_name for config in Finder().get_app_registry().app_configs.values()
        if config.table_classes and config.table_classes[0].__module__.startswith("backend.")]


def test_every_backend_app_is_checked():
    assert {"registry", "auth", "audit", "ledger", "evidence", "ratings"} <= set(APPS)


@pytest.mark.parametrize("app_name", APPS)
async def test_migrations_build_the_declared_tables(app_name):
    app_config = Finder().get_app_config(app_name)
    statements = await AutoMigrationManager().get_alter_statements(app_config=app_config)
    pending = [line for alter in statements for line in alter.statements]
    assert pending == [], f"{app_name}: tables differ from their migrations; run `piccolo migrations new {app_name} --auto`"
