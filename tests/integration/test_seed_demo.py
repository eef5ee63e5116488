"""The seeded demo county (甘州区 620702) in the database: its size, its invariants, that seeding
again changes nothing, the demo accounts and bank client, and that the demo year of history
(``dev.demo_history``, what ``cunxin seed-demo`` records after the county) gives a spread of grades.

Other test modules change the registry in the same session (moves, imports), so counts are taken
for the demo county's own rows (``初始登记``) or as lower bounds, never as exact totals of a table.
"""

from __future__ import annotations


import pytest
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

from backend.auth.roles import ACCOUNT_ROLES
from backend.auth.tables import Account, BankClient, GridAssignment
from backend.db import fetch
from dev.demo_history import CAMPAIGNS, TEMPERAMENTS, seed_history
from dev import demo_data
from backend.registry import protection
from dev.seed import DEMO_BANK_CLIENT_ID, seed_demo
from backend.registry.tables import (
    County,
    Grid,
    Household,
    HouseholdMembership,
    HouseholdResidence,
    Organisation,
    PartyBranch,
    PartyMemberLink,
    Person,
    Township,
    Village,
)

from .conftest import TODAY

COUNTY_CODE = "620702"
DEMO_USERNAMES = {
    "county_admin": "county_admin",
    "auditor": "auditor",
    "township_admin": "township_admin",
    "township_admin2": "township_admin",
    "grid_worker": "grid_worker",
    "villager": "villager",
}


async def _one(sql: str, *args):
    rows = await engine_finder().run_querystring(QueryString(sql, *args))
    return dict(rows[0])


async def _county_sizes() -> dict[str, int]:
    """Sizes of the demo county, counted through the jurisdiction tree."""
    return await _one(
        """SELECT (SELECT count(*) FROM township t WHERE t.county = c.id) AS townships,
                  (SELECT count(*) FROM village v JOIN township t ON t.id = v.township
                    WHERE t.county = c.id) AS villages,
                  (SELECT count(*) FROM grid g JOIN village v ON v.id = g.village
                    JOIN township t ON t.id = v.township WHERE t.county = c.id) AS grids,
                  (SELECT count(*) FROM household h JOIN village v ON v.id = h.village
                    JOIN township t ON t.id = v.township WHERE t.county = c.id) AS households,
                  (SELECT count(DISTINCT m.person) FROM household_membership m JOIN household h ON h.id = m.household
                    JOIN village v ON v.id = h.village JOIN township t ON t.id = v.township
                    WHERE t.county = c.id AND m.valid_to IS NULL) AS persons
           FROM county c WHERE c.code = {}""",
        COUNTY_CODE,
    )


async def _table_counts() -> dict[str, int]:
    tables = (County, Township, Village, Grid, PartyBranch, Household, HouseholdResidence, Person,
              HouseholdMembership, PartyMemberLink, Organisation, Account, GridAssignment, BankClient)
    return {table._meta.tablename: await table.count() for table in tables}


@pytest.fixture(scope="module")
def demo() -> demo_data.DemoCounty:
    """The county the session seeded (the generator is deterministic in seed and date)."""
    return demo_data.generate_demo_county(today=TODAY)


async def test_county_has_the_required_size(app_client, demo):
    sizes = await _county_sizes()

    assert sizes["townships"] == 3
    assert sizes["villages"] >= 10
    assert sizes["grids"] >= 40
    assert sizes["households"] >= 2_000
    assert sizes["persons"] >= 6_000
    # Exactly what the generator produced, no more and no less, was written by the seed.
    assert (sizes["villages"], sizes["grids"]) == (len(list(demo.villages())), len(list(demo.grids())))
    initial = await _one("SELECT count(*) AS memberships, count(DISTINCT person) AS persons "
                         "FROM household_membership WHERE reason = '初始登记'")
    assert initial == {"memberships": len(list(demo.people())), "persons": len(list(demo.people()))}


async def test_every_household_has_exactly_one_head(app_client, demo):
    # At seeding: one 户主 among each demo household's initial members.
    seeded = await _one(
        """SELECT count(*) AS households,
                  count(*) FILTER (WHERE heads = 1) AS with_one_head
           FROM (SELECT household, count(*) FILTER (WHERE relation = '户主') AS heads
                 FROM household_membership WHERE reason = '初始登记' GROUP BY household) x"""
    )
    assert seeded == {"households": len(list(demo.households())), "with_one_head": len(list(demo.households()))}
    # Now: every household of the county that has members has exactly one open 户主.
    offenders = await _one(
        """SELECT count(*) AS n FROM (
               SELECT h.id, count(*) FILTER (WHERE m.relation = '户主') AS heads
               FROM household h JOIN household_membership m ON m.household = h.id AND m.valid_to IS NULL
               JOIN village v ON v.id = h.village JOIN township t ON t.id = v.township
               JOIN county c ON c.id = t.county WHERE c.code = {}
               GROUP BY h.id) x
           WHERE heads <> 1""",
        COUNTY_CODE,
    )
    assert offenders["n"] == 0


async def test_party_branches_and_party_member_links(app_client, demo):
    villages_without_branch = await _one(
        """SELECT count(*) AS n FROM village v JOIN township t ON t.id = v.township
           JOIN county c ON c.id = t.county
           WHERE c.code = {} AND NOT EXISTS (SELECT 1 FROM party_branch b WHERE b.village = v.id)""",
        COUNTY_CODE,
    )
    assert villages_without_branch["n"] == 0
    assert await PartyBranch.count() >= len(list(demo.villages()))

    assert len(demo.party_links) > 0
    links = await _one(
        """SELECT count(*) AS n,
                  count(*) FILTER (WHERE p.is_party_member AND p.party_branch IS NOT NULL) AS by_members,
                  count(*) FILTER (WHERE b.village = h.village) AS same_village,
                  count(DISTINCT l.household) AS households
           FROM party_member_link l JOIN person p ON p.id = l.member JOIN household h ON h.id = l.household
           LEFT JOIN party_branch b ON b.id = p.party_branch
           WHERE l.valid_to IS NULL"""
    )
    n = len(demo.party_links)
    assert links == {"n": n, "by_members": n, "same_village": n, "households": n}


async def test_seeding_again_changes_nothing(app_client):
    before = await _table_counts()

    result = await seed_demo(today=TODAY)

    assert result.created is False
    assert (result.townships, result.households, result.persons) == (0, 0, 0)
    assert await _table_counts() == before


async def test_demo_accounts_exist_for_every_role(app_client, demo):
    accounts = {a["username"]: a for a in await Account.select().where(Account.username.is_in(list(DEMO_USERNAMES)))}

    assert {name: a["role"] for name, a in accounts.items()} == DEMO_USERNAMES
    assert {a["role"] for a in accounts.values()} == {r.value for r in ACCOUNT_ROLES}
    assert all(a["active"] for a in accounts.values())

    county = await County.select(County.id).where(County.code == COUNTY_CODE).first()
    townships = await Township.select(Township.id).where(Township.county == county["id"]).order_by(Township.code)
    assert accounts["county_admin"]["county"] == county["id"]
    assert accounts["auditor"]["county"] == county["id"]
    assert accounts["township_admin"]["township"] == townships[0]["id"]
    assert accounts["township_admin2"]["township"] == townships[1]["id"]

    first_village = demo.townships[0].villages[0]
    grids = await GridAssignment.select(GridAssignment.grid.code).where(
        (GridAssignment.account == accounts["grid_worker"]["id"]) & GridAssignment.valid_to.is_null())
    assert sorted(g["grid.code"] for g in grids) == [g.code for g in first_village.grids[:2]]

    villager = first_village.grids[0].households[0].head
    person = await Person.select(Person.id).where(
        Person.id_number_hash == protection.id_number_hash(villager.id_number)).first()
    assert accounts["villager"]["person"] == person["id"]

    bank = await BankClient.select().where(BankClient.client_id == DEMO_BANK_CLIENT_ID).first()
    assert bank is not None
    assert (bank["county"], bank["active"]) == (county["id"], True)
    assert bank["secret_hash"] and "demo-bank-secret" not in bank["secret_hash"]


# --- the demo year of history -------------------------------------------------------------------------------


class _Rollback(Exception):
    """Ends the history's transaction: other modules count the demo ledger and standings."""


@pytest.fixture(scope="module")
async def history(app_client) -> dict:
    """``seed_history`` on the seeded county, as ``cunxin seed-demo`` runs it, observed inside one
    transaction that is then rolled back (the events would change what other test modules count)."""
    seen: dict = {}
    try:
        async with engine_finder().transaction():
            seen["counts"] = await seed_history(TODAY)
            seen["grades"] = {r["grade"]: r["n"] for r in await fetch(
                """SELECT s.grade, count(*) AS n FROM standing_household s
                   JOIN village v ON v.id = s.village_id JOIN township t ON t.id = v.township
                   JOIN county c ON c.id = t.county WHERE c.code = {} GROUP BY s.grade""", COUNTY_CODE)}
            seen["villages"] = {r["village_id"]: r for r in await fetch(
                """SELECT s.* FROM standing_village s JOIN village v ON v.id = s.village_id
                   JOIN township t ON t.id = v.township JOIN county c ON c.id = t.county
                   WHERE c.code = {} AND v.code NOT LIKE 'R%'""", COUNTY_CODE)}
            raise _Rollback
    except _Rollback:
        pass
    return seen


async def test_history_gives_a_spread_of_household_grades(history):
    grades = history["grades"]
    # 文明家庭 (16 households: +18 on their own ledger) make AAA, 美丽庭院示范户 (36: +6) AA; the
    # struggling village's broken commitments (−20 on the household) and the scattered family charges,
    # direct grades and serious deductions make households that are not credit households.
    assert grades.get("AAA", 0) >= 5, grades
    assert grades.get("AA", 0) >= 10, grades
    assert grades.get("none", 0) >= 30, grades
    assert grades.get("A", 0) > sum(grades.values()) / 2, grades        # most families are ordinary A
    assert history["counts"]["events"] >= 1_200 and history["counts"]["pending"] > 0
    assert history["counts"]["period"] == "2026H1" or "skipped" in history["counts"]["period"]
    assert [c.name_zh for c in CAMPAIGNS] == ["文明家庭", "美丽庭院示范户", "违反人居环境承诺", "屡次乱倒垃圾"]


async def test_history_gives_credit_villages_and_villages_that_are_not(history, demo):
    villages = history["villages"]
    assert len(villages) == len(list(demo.villages()))
    credit = [v for v in villages.values() if v["is_credit"]]
    assert 1 <= len(credit) < len(villages)
    temperaments = history["counts"]["temperaments"]
    assert {k: len(v) for k, v in temperaments.items()} == TEMPERAMENTS
    struggling = villages[temperaments["struggling"][0]]
    assert not struggling["is_credit"] and struggling["credit_households"] * 100 < 70 * struggling["households"]
    assert {v["stars"] for v in credit} >= {3}                           # model villages keep three stars
    assert all(villages[v]["stars"] == 3 for v in temperaments["model"])
    lagging = villages[temperaments["lagging"][0]]
    assert lagging["is_credit"] and lagging["stars"] < 3                 # a sixth dumped rubbish twice
