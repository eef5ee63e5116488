"""An admin that cannot erase history (issue 9, point 3) and no demo accounts in production
(point 6): through the real app and the real admin, logged in as the demo county admin."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from backend.audit.tables import AccessLog, SecurityEvent
from backend.auth.roles import ACCOUNT_ROLES
from backend.db import fetch
from backend.dbadmin import server_sql, with_database
from dev.seed import DemoRefusedInProduction, seed_demo
from tests.integration.admin_ui import admin_login
from tests.integration.refusals import refused

PROJECT_ROOT = Path(__file__).resolve().parents[2]


_session: dict[str, dict[str, str]] = {}


@pytest.fixture
async def admin(app_client):
    """The logged-in admin's CSRF header; one login for the module (the admin rate-limits logins)."""
    if "headers" in _session and (await app_client.get("/admin/api/user/")).status_code == 200:
        return _session["headers"]
    _session["headers"] = await admin_login(app_client)
    return _session["headers"]


async def _last_security_event() -> dict:
    return await SecurityEvent.select().order_by(SecurityEvent.id, ascending=False).first()


# --- deletes that would take history with them ------------------------------------------------


async def test_deleting_a_household_is_refused_and_its_memberships_stay(app_client, admin):
    household = (await fetch("SELECT household AS id, count(*) AS n FROM household_membership "
                             "GROUP BY household ORDER BY household LIMIT 1"))[0]
    response = await app_client.delete(f"/admin/api/tables/household/{household['id']}/", headers=admin)
    # piccolo-admin's own answer to a refused write, which its page shows to the admin
    assert response.status_code == 422, response.text
    assert "household" in response.json()["db_error"]
    assert (await fetch("SELECT count(*) AS n FROM household_membership WHERE household = {}",
                        household["id"]))[0]["n"] == household["n"]
    assert await fetch("SELECT 1 FROM household WHERE id = {}", household["id"])
    event = await _last_security_event()
    assert event["kind"] == "admin_delete_refused" and event["principal"] == "county_admin"
    detail = json.loads(event["detail"])
    assert detail["table"] == "household" and detail["row"] == household["id"] and "foreign key" in detail["error"]


async def test_deleting_a_village_with_children_isrefused(app_client, admin):
    village = (await fetch("SELECT village AS id FROM household ORDER BY village LIMIT 1"))[0]["id"]
    response = await app_client.delete(f"/admin/api/tables/village/{village}/", headers=admin)
    assert response.status_code == 422, response.text
    assert await fetch("SELECT 1 FROM village WHERE id = {}", village)
    # and the bulk delete the list view offers
    bulk = await app_client.delete(f"/admin/api/tables/village/?__ids={village}", headers=admin)
    assert bulk.status_code in (405, 422), bulk.text  # bulk delete is off in this piccolo-admin; refused either way
    assert (await _last_security_event())["kind"] == "admin_delete_refused"
    assert await fetch("SELECT 1 FROM village WHERE id = {}", village)


# Foreign keys that may cascade, and why. Every other one restricts: history is never deleted by a cascade.
MAY_CASCADE = {
    "auth_session_account_fkey": "a session is not history; it ends with its account",
    "auth_session_bank_client_fkey": "a session is not history; it ends with its bank client",
}


async def test_foreign_keys_restrict_in_the_database(app_client):
    rows = await fetch("""SELECT conrelid::regclass::text AS t, conname, confdeltype::text AS confdeltype
                          FROM pg_constraint WHERE contype = 'f'""")
    assert len(rows) >= 29
    assert [(r["conname"], r["confdeltype"]) for r in rows
            if r["confdeltype"] != "r" and r["conname"] not in MAY_CASCADE] == []
    # Whichever referencing row the database checks first: a RESTRICT key (e.g. a grid assignment that
    # was recorded in the transaction) says 23001, a NO ACTION one 23503 — refused either way.
    assert isinstance(await refused("DELETE FROM account WHERE username = 'grid_worker'"),
                      (asyncpg.ForeignKeyViolationError, asyncpg.RestrictViolationError))
    household = (await fetch("SELECT household FROM household_membership LIMIT 1"))[0]["household"]
    assert isinstance(await refused(f"DELETE FROM household WHERE id = {household}"),
                      asyncpg.ForeignKeyViolationError)


# --- read-only tables -----------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["person", "household_membership", "household_residence", "party_member_link",
                                   "account", "grid_assignment", "bank_client", "credit_event", "ledger_entry",
                                   "access_log", "security_event", "rating_proposal", "standing_household"])
async def test_personal_account_ledger_audit_tables_are_read_only(app_client, admin, table):
    key = "household_id" if table == "standing_household" else "id"
    rows = await fetch(f"SELECT {key} AS id FROM {table} ORDER BY {key} LIMIT 1")
    if rows:
        row = rows[0]["id"]
        before = await fetch(f"SELECT * FROM {table} WHERE {key} = {{}}", row)
        for method in ("patch", "put"):
            response = await app_client.request(method.upper(), f"/admin/api/tables/{table}/{row}/",
                                                json={"role": "County_admin"}, headers=admin)
            assert response.status_code == 405, (method, response.text)
        deleted = await app_client.delete(f"/admin/api/tables/{table}/{row}/", headers=admin)
        assert deleted.status_code == 405
        assert await fetch(f"SELECT * FROM {table} WHERE {key} = {{}}", row) == before
    created = await app_client.post(f"/admin/api/tables/{table}/", json={}, headers=admin)
    assert created.status_code == 405


async def test_role_typo_is_refused_by_the_database():
    refusal = await refused("UPDATE account SET role = 'County_admin' WHERE username = 'county_admin'")
    assert isinstance(refusal, asyncpg.CheckViolationError)
    definition = (await fetch("SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE conname = 'account_role'"))
    assert set(re.findall(r"'([a-z_]+)'", definition[0]["d"])) == {r.value for r in ACCOUNT_ROLES}


async def test_a_household_cannot_be_moved_by_overwriting_its_grid(app_client, admin):
    household = (await fetch("SELECT id, grid, village FROM household ORDER BY id LIMIT 1"))[0]
    other = (await fetch("SELECT id FROM grid WHERE id <> {} ORDER BY id LIMIT 1", household["grid"]))[0]["id"]
    response = await app_client.patch(f"/admin/api/tables/household/{household['id']}/", json={"grid": other},
                                      headers=admin)
    assert response.status_code == 405, response.text
    assert (await fetch("SELECT grid FROM household WHERE id = {}", household["id"]))[0]["grid"] == household["grid"]


# --- every write leaves a security event ----------------------------------------------------------


async def test_admin_writes_leave_security_events(app_client, admin):
    village = (await fetch("SELECT id, name FROM village ORDER BY id LIMIT 1"))[0]
    before = await SecurityEvent.count()
    try:
        renamed = await app_client.patch(f"/admin/api/tables/village/{village['id']}/",
                                         json={"name": village["name"] + "（测）"}, headers=admin)
        assert renamed.status_code == 200, renamed.text
        event = await _last_security_event()
        assert event["kind"] == "admin_update" and event["principal"] == "county_admin"
        detail = json.loads(event["detail"])
        assert detail == {"table": "village", "row": village["id"], "method": "PATCH", "status": 200,
                          "columns": ["name"]}
    finally:
        restored = await app_client.patch(f"/admin/api/tables/village/{village['id']}/",
                                          json={"name": village["name"]}, headers=admin)
        assert restored.status_code == 200
    refused = await app_client.patch("/admin/api/tables/account/1/", json={"role": "x"}, headers=admin)
    assert refused.status_code == 405
    event = await _last_security_event()
    assert event["kind"] == "admin_update_refused" and json.loads(event["detail"])["table"] == "account"
    assert await SecurityEvent.count() == before + 3


# --- reads name whom they concern -------------------------------------------------------------------


async def test_admin_read_of_a_person_names_township_person_and_household(app_client, admin, tokens):
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens("villager"))).json()
    person, household = me["person_id"], me["household_id"]
    township = (await fetch("SELECT v.township FROM household h JOIN village v ON v.id = h.village WHERE h.id = {}",
                            household))[0]["township"]
    row = await app_client.get(f"/admin/api/tables/person/{person}/")
    assert row.status_code == 200
    logged = await AccessLog.select().where(AccessLog.actor_kind == "admin_user").order_by(
        AccessLog.id, ascending=False).first()
    assert (logged["subject_kind"], logged["subject_id"], logged["person_id"], logged["household_id"],
            logged["township_id"]) == ("person", person, person, household, township)
    # the villager and the auditor now actually see it
    mine = (await app_client.get("/api/v1/me/access-log", headers=await tokens("villager"))).json()
    assert logged["id"] in [item["ref"] for item in mine["items"]]
    audit = await app_client.get(f"/api/v1/audit/access-log?ref={logged['id']}", headers=await tokens("auditor"))
    assert audit.status_code == 200 and [i["id"] for i in audit.json()["items"]] == [logged["id"]]


async def test_admin_list_of_memberships_logs_every_row_listed(app_client, admin):
    before = (await fetch("SELECT coalesce(max(id), 0) AS id FROM access_log"))[0]["id"]
    page = await app_client.get("/admin/api/tables/household_membership/?__page_size=5")
    assert page.status_code == 200
    listed = [r["id"] for r in page.json()["rows"]]
    assert len(listed) == 5
    logged = await fetch("SELECT * FROM access_log WHERE id > {} ORDER BY id", before)
    assert len(logged) == 5
    expected = {r["person"]: r["household"] for r in await fetch(
        "SELECT person, household FROM household_membership WHERE id = ANY({})", listed)}
    assert {r["person_id"]: r["household_id"] for r in logged} == expected
    assert all(r["township_id"] is not None for r in logged)


async def test_admin_logins_are_security_events(app_client, admin):
    assert await SecurityEvent.exists().where((SecurityEvent.kind == "admin_login")
                                              & (SecurityEvent.principal == "county_admin"))


# --- no demo accounts in production ------------------------------------------------------------------


async def test_seed_demo_refuses_in_production(monkeypatch):
    monkeypatch.setenv("CUNXIN_ENV", "production")
    with pytest.raises(DemoRefusedInProduction):
        await seed_demo()


@pytest.mark.parametrize("command", [["seed-demo"], ["up", "--port", "8799"]])
async def test_cli_refuses_demo_seeding_in_production_and_writes_nothing(command):
    server = os.environ["DATABASE_URL"]
    name = f"cunxin_prod_refusal_{command[0].replace('-', '_')}"
    await server_sql(server, f'DROP DATABASE IF EXISTS "{name}"')
    await server_sql(server, f'CREATE DATABASE "{name}"')
    try:
        env = {**os.environ, "CUNXIN_ENV": "production", "DATABASE_URL": with_database(server, name),
               "CUNXIN_SECRET_KEY": "k" * 64, "CUNXIN_DATA_KEY": "d" * 64}
        # Its own process group: if the refusal ever regresses, `up` starts a server and a worker,
        # and those must not outlive the test.
        child = subprocess.Popen([sys.executable, "-m", "dev", *command], cwd=PROJECT_ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            stdout, stderr = child.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            pytest.fail(f"cunxin {command[0]} did not refuse at once in production")
        assert child.returncode != 0
        output = (stdout + stderr).strip()
        assert len(output.splitlines()) == 1, output
        assert "生产环境" in output and "CUNXIN_ENV=production" in output
        conn = await asyncpg.connect(with_database(server, name))
        try:
            assert await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
        finally:
            await conn.close()
    finally:
        await server_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
