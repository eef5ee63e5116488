"""Test session set-up: a fresh database on real PostgreSQL and a real Redis.

With ``DATABASE_URL`` and ``REDIS_URL`` set (CI, a developer's services) a new database
``cunxin_test_<random>`` is created on that server and dropped afterwards. Without them the
embedded servers are started in a temporary directory. This happens in ``pytest_configure``,
before test modules are imported, because table classes bind to the engine at import.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from backend.dbadmin import server_sql, with_database

_state: dict = {}


def pytest_configure(config) -> None:
    if "DATABASE_URL" in os.environ and "_CUNXIN_TEST_DB" in os.environ:
        return  # already configured (xdist worker or nested run)
    name = f"cunxin_test_{secrets.token_hex(4)}"
    os.environ.setdefault("CUNXIN_VAR_DIR", tempfile.mkdtemp(prefix="cunxin-test-var-"))
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        server_url = os.environ["DATABASE_URL"]
    else:
        from dev.embedded import start_embedded

        var_dir = Path(tempfile.mkdtemp(prefix="cxt-", dir="/tmp"))
        servers = start_embedded(var_dir, database="postgres")
        _state["embedded"] = servers
        _state["embedded_dir"] = var_dir
        server_url = servers.database_url
        os.environ["REDIS_URL"] = servers.redis_url
    asyncio.run(server_sql(server_url, f'CREATE DATABASE "{name}"'))
    _state["server_url"] = server_url
    _state["database"] = name
    os.environ["DATABASE_URL"] = with_database(server_url, name)
    os.environ["_CUNXIN_TEST_DB"] = name


def pytest_unconfigure(config) -> None:
    if "database" in _state:
        try:
            asyncio.run(server_sql(_state["server_url"], f'DROP DATABASE IF EXISTS "{_state["database"]}" WITH (FORCE)'))
        except Exception as exc:  # noqa: BLE001 - leave a note, never mask the test result
            print(f"warning: could not drop test database {_state['database']}: {exc}")
    if "embedded" in _state:
        _state["embedded"].stop()
        shutil.rmtree(_state["embedded_dir"], ignore_errors=True)
