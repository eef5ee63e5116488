"""The actor is loaded in one SQL statement (``backend.auth.services``) on every authenticated
request; here it is held against the straightforward form it replaced — one query per row kind —
for every account of the demo county, on days when grid assignments are and are not in force."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from backend.audit import readers
from backend.auth.roles import Actor, Role
from backend.auth.services import account_actor
from backend.auth.tables import Account, GridAssignment
from backend.db import fetch
from backend.registry.tables import HouseholdMembership
from tests.integration.conftest import TODAY


async def _reference_actor(account_id: int, today: date) -> Actor | None:
    account = await Account.objects().where(Account.id == account_id).first()
    if account is None or not account.active:
        return None
    role = Role(account.role)
    grid_ids: frozenset[int] = frozenset()
    household_id = None
    if role is Role.GRID_WORKER:
        rows = await GridAssignment.select(GridAssignment.grid).where(
            (GridAssignment.account == account.id) & (GridAssignment.valid_from <= today)
            & (GridAssignment.valid_to.is_null() | (GridAssignment.valid_to >= today)))
        grid_ids = frozenset(r["grid"] for r in rows)
    if role is Role.VILLAGER and account.person is not None:
        row = await HouseholdMembership.select(HouseholdMembership.household).where(
            (HouseholdMembership.person == account.person) & HouseholdMembership.valid_to.is_null()).first()
        household_id = row["household"] if row else None
    if not grid_ids and household_id is None:
        villages, townships = frozenset(), frozenset()
        rows = await fetch("SELECT county FROM township WHERE id = {}", account.township) if account.township else []
        home = rows[0]["county"] if rows else None
    else:
        rows = await fetch("""SELECT v.id, v.township, v.county_id FROM village v
                              WHERE v.id IN (SELECT g.village FROM grid g WHERE g.id = ANY({}))
                                 OR v.id = (SELECT h.village FROM household h WHERE h.id = {})""",
                           sorted(grid_ids), household_id)
        villages, townships = frozenset(r["id"] for r in rows), frozenset(r["township"] for r in rows)
        home = min((r["county_id"] for r in rows), default=None)
    actor = Actor(kind="account", id=account.id, role=role, label=account.username, sid="s",
                  county_id=account.county, township_id=account.township, person_id=account.person,
                  household_id=household_id, grid_ids=grid_ids, village_ids=villages, township_ids=townships,
                  home_county_id=account.county or home)
    # the organisation in words, looked up one query per role as access-log writes did before
    return replace(actor, organisation_zh=await readers.organisation_of(actor))


async def test_one_statement_actor_is_the_actor_of_separate_queries(app_client) -> None:
    accounts = [r["id"] for r in await fetch("SELECT id FROM account ORDER BY id")]
    assignments = await fetch("SELECT min(valid_from) AS first FROM grid_assignment")
    days = [TODAY, date(2000, 1, 1), TODAY + timedelta(days=3650)]
    if assignments[0]["first"] is not None:
        days.append(assignments[0]["first"] - timedelta(days=1))
    seen_roles = set()
    for day in days:
        for account_id in [*accounts, 2**31 - 1]:  # and one that does not exist
            expected = await _reference_actor(account_id, day)
            assert await account_actor(account_id, sid="s", today=day) == expected, (account_id, day)
            if expected is not None:
                seen_roles.add((expected.role, bool(expected.grid_ids), expected.household_id is not None,
                                expected.organisation_zh or None))
    # the demo county has every kind of account, and grid workers with and without grids in force
    assert {r for r, _, _, _ in seen_roles} >= {Role.GRID_WORKER, Role.VILLAGER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN}
    assert {k[:3] for k in seen_roles} >= {(Role.GRID_WORKER, True, False), (Role.GRID_WORKER, False, False)}
    assert (Role.VILLAGER, False, True) in {k[:3] for k in seen_roles}
    # the organisation is named for every account placed somewhere (a grid worker with no grid in force is not)
    named = {(role, org is not None) for role, grids, household, org in seen_roles
             if role in (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN) or grids or household}
    assert named == {(Role.TOWNSHIP_ADMIN, True), (Role.COUNTY_ADMIN, True), (Role.GRID_WORKER, True),
                     (Role.VILLAGER, True)}, named

async def test_an_inactive_account_has_no_actor(app_client) -> None:
    account_id = (await fetch("SELECT id FROM account WHERE role = 'villager' ORDER BY id LIMIT 1"))[0]["id"]
    await fetch("UPDATE account SET active = false WHERE id = {}", account_id)
    try:
        assert await account_actor(account_id) is None
    finally:
        await fetch("UPDATE account SET active = true WHERE id = {}", account_id)
