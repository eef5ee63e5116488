"""Measures by list only and eligibility lists, through the HTTP API (issue 10 items 5 and 7).

A small county of its own (two townships, five households) with two rating periods run to the end
by the real services with ``today=`` (as tests/integration/ratings do): period 1 effective on E1,
period 2 on E2, and a day PAST between them. The tests of this module run in file order and share
that county: lists for PAST are built before and after later changes (period 2, a move, a late
serious-dishonesty record) and must not differ.
"""

from __future__ import annotations

import io
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from piccolo.engine import engine_finder

from backend import clock
from backend.auth import accounts
from backend.auth.roles import Role
from backend.auth.services import account_actor
from backend.db import fetch
from backend.identity.idcard import compute_check_digit, parse_id_number
from backend.measures import build
from backend.ratings import periods as rating_periods
from backend.ratings.schemas import ApprovalIn, PeriodIn, ProposalException
from backend.registry import protection
from backend.registry.tables import (
    HEAD, County, Grid, Household, HouseholdMembership, HouseholdResidence, Person, Township, Village,
)
from backend.registry.writer import person_row
from dev.seed import DEMO_PASSWORD
from tests.integration.ratings.test_approval_publicity import _login
from tests.integration.ratings.test_incremental_vs_full import _photo

TODAY = clock.today()
ORIGIN = max(date(2026, 1, 1), TODAY - timedelta(days=300))
P1_ENDS, P1_APPROVED, E1 = ORIGIN + timedelta(days=30), ORIGIN + timedelta(days=40), ORIGIN + timedelta(days=60)
PAST = E1 + timedelta(days=10)
P2_ENDS, P2_APPROVED, E2 = ORIGIN + timedelta(days=90), ORIGIN + timedelta(days=100), ORIGIN + timedelta(days=120)
ARRIVED = E2 + timedelta(days=5)  # H4 moves into the county after PAST

pytestmark = pytest.mark.skipif(E2 >= TODAY - timedelta(days=5), reason="needs two periods finished in the past")

# household → grade in period 1 / period 2
GRADES = {"H1": ("AAA", "A"), "H2": ("A", "AAA"), "H3": ("AA", "AA"), "H4": ("AA", "AA"), "H5": ("none", "none")}


@dataclass
class World:
    tag: str
    county: int
    townships: dict[str, int]
    villages: dict[str, int]
    grids: dict[str, int]
    households: dict[str, int]
    heads: dict[str, int]
    id_numbers: dict[str, str]
    codes: dict[str, str]
    admin: dict[str, str] = field(default_factory=dict)  # role → username
    state: dict = field(default_factory=dict)


async def _new_id_number(birth: date) -> str:
    for seq in range(11, 999, 2):
        first17 = f"620702{birth:%Y%m%d}{seq:03d}"
        number = first17 + compute_check_digit(first17)
        if not await Person.exists().where(Person.id_number_hash == protection.id_number_hash(number)):
            return number
    raise AssertionError("no free ID number")


async def _run_period(actor, checker, code: str, starts: date, ends: date, approved: date, effective: date,
                      grades: dict[int, str], village_grades: dict[int, str]) -> int:
    period = await rating_periods.create_period(actor, PeriodIn(code=code, name_zh=f"{code}评定",
                                                                starts_on=starts, ends_on=ends))
    await rating_periods.close_period(actor, period.id)
    proposals = await fetch("SELECT id, subject_id, grade FROM rating_proposal WHERE period = {} AND level = 'household'",
                            period.id)
    exceptions = [ProposalException(proposal_id=p["id"], action="change", grade=grades[p["subject_id"]],
                                    reason="测试设定等级")
                  for p in proposals if grades[p["subject_id"]] != p["grade"]]
    out = await rating_periods.approve(actor, period.id, ApprovalIn(level="household", exceptions=exceptions),
                                       today=approved)
    assert out.publicised == len(proposals), out
    villages = await fetch("SELECT id, subject_id, grade FROM rating_proposal WHERE period = {} AND level = 'village'",
                           period.id)
    changes = [ProposalException(proposal_id=p["id"], action="change", grade=village_grades[p["subject_id"]],
                                 reason="测试设定信用村") for p in villages if village_grades[p["subject_id"]] != p["grade"]]
    await rating_periods.approve(actor, period.id, ApprovalIn(level="village", exceptions=changes), today=approved)
    checked = await rating_periods.approve(checker, period.id, ApprovalIn(level="village"), today=approved)
    assert checked.publicised == len(villages), checked  # maker-checker: a second county admin
    await rating_periods.finalize(today=effective, actor=actor)
    rows = await fetch("SELECT grade, status, effective_on FROM rating_proposal WHERE period = {} AND level = 'household'",
                       period.id)
    assert {(r["status"], r["effective_on"]) for r in rows} == {("effective", effective)}
    return period.id


@pytest.fixture(scope="module")
async def world(app_client) -> World:
    tag = secrets.token_hex(3)
    county = (await County.insert(County(code=f"MS{tag}", name="名单区")).returning(County.id))[0]["id"]
    townships, villages, grids = {}, {}, {}
    for key in ("a", "b"):
        townships[key] = (await Township.insert(Township(code=f"MS{tag}{key}", name=f"名单{key.upper()}镇",
                                                         county=county)).returning(Township.id))[0]["id"]
        villages[key] = (await Village.insert(Village(county_id=county, code=f"MS{tag}{key}v", name=f"名单{key.upper()}村",
                                                      township=townships[key])).returning(Village.id))[0]["id"]
        grids[key] = (await Grid.insert(Grid(county_id=county, code=f"MS{tag}{key}g", name=f"名单{key.upper()}网格",
                                             village=villages[key])).returning(Grid.id))[0]["id"]
    placement = {"H1": "a", "H2": "a", "H3": "b", "H4": "b", "H5": "a"}
    households, heads, id_numbers, codes = {}, {}, {}, {}
    founded = ORIGIN - timedelta(days=400)
    prefix = f"00{secrets.randbelow(10**8):08d}"  # number-like, leading zeros: the export must keep them as text
    for i, (name, where) in enumerate(placement.items(), 1):
        code = f"{prefix}{i:02d}"
        codes[name] = code
        since = ARRIVED if name == "H4" else founded
        households[name] = (await Household.insert(Household(county_id=county, code=code, village=villages[where], grid=grids[where],
                                                             address=f"名单村{i}号")).returning(Household.id))[0]["id"]
        await HouseholdResidence.insert(HouseholdResidence(county_id=county, household=households[name], grid=grids[where],
                                                           address=f"名单村{i}号", valid_from=since, reason="初始登记"))
        number = await _new_id_number(date(1970 + i, 1, 1))
        id_numbers[name] = number
        heads[name] = (await Person.insert(person_row(county_id=county, name=f"测试户主{name}", resident_id=parse_id_number(number),
                                                      phone=None)).returning(Person.id))[0]["id"]
        await HouseholdMembership.insert(HouseholdMembership(county_id=county, person=heads[name], household=households[name],
                                                             relation=HEAD, valid_from=since, reason="初始登记"))
    admin_id = await accounts.create_account(f"ms{tag}_county", DEMO_PASSWORD, Role.COUNTY_ADMIN,
                                             county_code=f"MS{tag}", display_name="名单区管理员")
    await accounts.create_account(f"ms{tag}_township", DEMO_PASSWORD, Role.TOWNSHIP_ADMIN,
                                  township_code=f"MS{tag}a", display_name="名单A镇管理员")
    await accounts.create_account(f"ms{tag}_auditor", DEMO_PASSWORD, Role.AUDITOR, county_code=f"MS{tag}",
                                  display_name="名单区审计员")
    await accounts.create_account(f"ms{tag}_villager", DEMO_PASSWORD, Role.VILLAGER,
                                  person_id_number=id_numbers["H1"], display_name="测试户主H1")
    checker = await accounts.create_account(f"ms{tag}_county2", DEMO_PASSWORD, Role.COUNTY_ADMIN,
                                            county_code=f"MS{tag}", display_name="名单区复核员")
    actor, checker_actor = await account_actor(admin_id), await account_actor(checker)
    by_id = {households[k]: v for k, v in GRADES.items()}
    credit = {villages["a"]: "credit", villages["b"]: "none"}  # 信用村: village A in both periods
    await _run_period(actor, checker_actor, f"M1{tag}", ORIGIN, P1_ENDS, P1_APPROVED, E1,
                      {h: g[0] for h, g in by_id.items()}, credit)
    await _run_period(actor, checker_actor, f"M2{tag}", P1_ENDS + timedelta(days=1), P2_ENDS, P2_APPROVED, E2,
                      {h: g[1] for h, g in by_id.items()}, credit)
    w = World(tag, county, townships, villages, grids, households, heads, id_numbers, codes)
    w.admin = {"county": f"ms{tag}_county", "township": f"ms{tag}_township", "auditor": f"ms{tag}_auditor",
               "villager": f"ms{tag}_villager"}
    return w


def _measure_body(code: str, **overrides) -> dict:
    body = {"code": code, "kind": "incentive", "category": "subsidy", "name_zh": "农业补贴优先",
            "legal_basis": "《张掖市社会信用体系建设促进条例》第三十九条", "office_zh": "区农业农村局",
            "conditions": [{"kind": "household_grade_at_least", "grade": "AA"}],
            "valid_from": ORIGIN.isoformat(), "valid_to": None}
    body.update(overrides)
    return body


async def _build(client, headers, measure_id: int, as_of: date, **kwargs) -> dict:
    response = await client.post(f"/api/v1/measures/{measure_id}/eligibility-lists", headers=headers,
                                 json={"as_of": as_of.isoformat()})
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] == "queued" and queued["progress_done"] == 0
    assert await build.build_list(queued["id"], **kwargs) in ("done", "failed")
    return (await client.get(f"/api/v1/eligibility-lists/{queued['id']}", headers=headers)).json()


async def _entries(client, headers, list_id: int) -> list[dict]:
    response = await client.get(f"/api/v1/eligibility-lists/{list_id}/entries", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _names(w: World, entries: list[dict]) -> list[str]:
    by_id = {v: k for k, v in w.households.items()}
    return [by_id[e["household_id"]] for e in entries]


# --- measures -------------------------------------------------------------------------------------------


async def test_create_measures_and_refuse_what_is_not_on_the_closed_set(app_client, world):
    h = await _login(app_client, world.admin["county"])
    created = await app_client.post("/api/v1/measures", headers=h, json=_measure_body("AGRI"))
    assert created.status_code == 201, created.text
    m = created.json()
    assert (m["version"], m["current"], m["kind_zh"], m["conditions_zh"]) == (1, True, "激励措施", ["户信用等级不低于AA级"])
    world.state["subsidy"] = m["id"]
    restriction = await app_client.post("/api/v1/measures", headers=h, json=_measure_body(
        "SD-SUBSIDY", kind="restriction", name_zh="严重失信限制财政补贴", office_zh="区财政局",
        legal_basis="《张掖市社会信用体系建设促进条例》第四十二条", conditions=[{"kind": "serious_dishonesty"}]))
    assert restriction.status_code == 201, restriction.text
    world.state["restriction"] = restriction.json()["id"]
    village = await app_client.post("/api/v1/measures", headers=h, json=_measure_body(
        "CREDIT-VILLAGE", category="financial", name_zh="信用村整村授信", office_zh="区农村商业银行",
        conditions=[{"kind": "village_is_credit"}, {"kind": "household_grade_at_least", "grade": "A"}]))
    assert village.status_code == 201, village.text
    assert village.json()["conditions_zh"] == ["所在村为信用村", "户信用等级不低于A级"]
    world.state["village"] = village.json()["id"]

    before = await fetch("SELECT count(*) AS n FROM measure WHERE county = {}", world.county)
    refusals = [
        (_measure_body("X1", conditions=[{"kind": "household_is_nice"}]), 422, "MEASURE_CONDITIONS"),
        (_measure_body("X2", conditions=[]), 422, "MEASURE_CONDITIONS"),
        (_measure_body("X3", conditions=[{"kind": "household_grade_at_least", "grade": "AAAA"}]), 422,
         "MEASURE_CONDITIONS"),
        (_measure_body("X4", conditions=[{"kind": "serious_dishonesty"}]), 422, "MEASURE_CONDITIONS"),  # an incentive
        (_measure_body("X5", kind="restriction", conditions=[{"kind": "village_is_credit"}]), 422,
         "MEASURE_CONDITIONS"),  # no collective punishment
        (_measure_body("X6", kind="restriction", conditions=[{"kind": "household_grade_in", "grades": ["none"]}]),
         422, "MEASURE_CONDITIONS"),  # art. 42: subsidies are restricted only for serious dishonesty
        (_measure_body("X7", category="lottery"), 422, "MEASURE_CATEGORY"),
        (_measure_body("X8", kind="bonus"), 422, "MEASURE_KIND"),
        (_measure_body("X9", valid_to=(ORIGIN - timedelta(days=1)).isoformat()), 422, "MEASURE_TERM"),
        (_measure_body("X10", legal_basis="   "), 422, "MEASURE_LEGAL_BASIS"),
        ({k: v for k, v in _measure_body("X11").items() if k != "legal_basis"}, 400, "REQUEST_INVALID"),
        (_measure_body("AGRI"), 409, "MEASURE_EXISTS"),
    ]
    for body, status, code in refusals:
        response = await app_client.post("/api/v1/measures", headers=h, json=body)
        assert (response.status_code, response.json()["code"]) == (status, code), (body, response.text)
    assert await fetch("SELECT count(*) AS n FROM measure WHERE county = {}", world.county) == before


async def test_versions_supersede_and_a_measure_never_changes_in_place(app_client, world):
    h = await _login(app_client, world.admin["county"])
    first = (await app_client.post("/api/v1/measures", headers=h, json=_measure_body(
        "LOAN", category="financial", name_zh="贷款利率优惠", office_zh="区农村商业银行"))).json()
    revised = await app_client.post(f"/api/v1/measures/{first['id']}/versions", headers=h, json={
        **{k: v for k, v in _measure_body("LOAN", category="financial", name_zh="贷款利率优惠",
                                           office_zh="区农村商业银行").items() if k != "code"},
        "conditions": [{"kind": "household_grade_in", "grades": ["AAA", "AA"]}], "change_reason": "调整适用等级"})
    assert revised.status_code == 201, revised.text
    v2 = revised.json()
    assert (v2["code"], v2["version"], v2["supersedes"]) == ("LOAN", 2, first["id"])
    old = (await app_client.get(f"/api/v1/measures/{first['id']}", headers=h)).json()
    assert (old["current"], old["superseded_by"], old["conditions"]) == (False, v2["id"], first["conditions"])
    again = await app_client.post(f"/api/v1/measures/{first['id']}/versions", headers=h, json={
        **{k: v for k, v in _measure_body("LOAN").items() if k != "code"}, "change_reason": "再改旧版本"})
    assert (again.status_code, again.json()["code"]) == (409, "MEASURE_SUPERSEDED")
    backdated = await app_client.post(f"/api/v1/measures/{v2['id']}/end", headers=h, json={
        "valid_to": (TODAY - timedelta(days=1)).isoformat(), "change_reason": "补记终止"})
    assert (backdated.status_code, backdated.json()["code"]) == (422, "MEASURE_TERM")
    ended = await app_client.post(f"/api/v1/measures/{v2['id']}/end", headers=h,
                                  json={"valid_to": TODAY.isoformat(), "change_reason": "政策到期"})
    assert ended.status_code == 201, ended.text
    assert (ended.json()["version"], ended.json()["valid_to"], ended.json()["conditions"]) == \
        (3, TODAY.isoformat(), v2["conditions"])
    listed = (await app_client.get("/api/v1/measures", headers=h)).json()
    assert [m["version"] for m in listed if m["code"] == "LOAN"] == [3]
    every = (await app_client.get("/api/v1/measures?all_versions=true", headers=h)).json()
    assert [m["version"] for m in every if m["code"] == "LOAN"] == [1, 2, 3]
    for statement in ("UPDATE measure SET name_zh = 'x' WHERE id = {}", "DELETE FROM measure WHERE id = {}"):
        with pytest.raises(Exception, match="append-only|not allowed|refuse"):
            async with engine_finder().transaction():
                await fetch(statement, first["id"])
    audit = await fetch("SELECT kind FROM security_event WHERE principal = {} AND kind LIKE 'measure%'",
                        world.admin["county"])
    assert [a["kind"] for a in audit].count("measure_version") >= 2


async def test_who_may_read_and_write(app_client, tokens, world):
    own = await _login(app_client, world.admin["county"])
    measure = world.state["subsidy"]
    for username in (world.admin["township"], world.admin["auditor"]):
        h = await _login(app_client, username)
        assert (await app_client.get(f"/api/v1/measures/{measure}", headers=h)).status_code == 200
        assert measure in [m["id"] for m in (await app_client.get("/api/v1/measures", headers=h)).json()]
        write = await app_client.post("/api/v1/measures", headers=h, json=_measure_body("NOPE"))
        assert write.status_code == 403
    villager = await _login(app_client, world.admin["villager"])
    assert (await app_client.get(f"/api/v1/measures/{measure}", headers=villager)).status_code == 403
    foreign = await tokens("county_admin")  # the demo county's admin
    assert (await app_client.get(f"/api/v1/measures/{measure}", headers=foreign)).status_code == 404
    assert measure not in [m["id"] for m in (await app_client.get("/api/v1/measures", headers=foreign)).json()]
    body = {**{k: v for k, v in _measure_body("AGRI").items() if k != "code"}, "change_reason": "越权修改"}
    for url, data in ((f"/api/v1/measures/{measure}/versions", body),
                      (f"/api/v1/measures/{measure}/end", {"valid_to": TODAY.isoformat(), "change_reason": "越权"}),
                      (f"/api/v1/measures/{measure}/eligibility-lists", {"as_of": PAST.isoformat()})):
        response = await app_client.post(url, headers=foreign, json=data)
        assert response.status_code == 404, (url, response.text)
    assert not await fetch("SELECT 1 FROM measure WHERE supersedes = {}", measure)
    assert not await fetch("SELECT 1 FROM eligibility_list WHERE measure = {}", measure)
    future = await app_client.post(f"/api/v1/measures/{measure}/eligibility-lists", headers=own,
                                   json={"as_of": (TODAY + timedelta(days=1)).isoformat()})
    assert (future.status_code, future.json()["code"]) == (422, "ELIGIBILITY_AS_OF_FUTURE")
    early = await app_client.post(f"/api/v1/measures/{measure}/eligibility-lists", headers=own,
                                  json={"as_of": (ORIGIN - timedelta(days=1)).isoformat()})
    assert (early.status_code, early.json()["code"]) == (422, "ELIGIBILITY_NOT_IN_TERM")


# --- lists ----------------------------------------------------------------------------------------------


async def test_a_list_for_a_past_day_has_exactly_the_households_rated_then(app_client, world):
    h = await _login(app_client, world.admin["county"])
    seen = []

    async def watch(done: int, total: int) -> None:
        listing = (await app_client.get(f"/api/v1/eligibility-lists/{world.state['watching']}", headers=h)).json()
        seen.append((listing["status"], listing["progress_done"], listing["progress_total"]))

    response = await app_client.post(f"/api/v1/measures/{world.state['subsidy']}/eligibility-lists", headers=h,
                                     json={"as_of": PAST.isoformat()})
    assert response.status_code == 202, response.text
    world.state["watching"] = response.json()["id"]
    assert await build.build_list(response.json()["id"], chunk=2, on_progress=watch) == "done"
    # H4 had an effective period-1 rating but lived elsewhere on PAST; the county has 4 households then
    assert seen == [("running", 2, 4), ("running", 4, 4)]
    listing = (await app_client.get(f"/api/v1/eligibility-lists/{response.json()['id']}", headers=h)).json()
    assert (listing["status"], listing["households"], listing["progress_done"], listing["error_code"]) == \
        ("done", 2, 4, "")
    entries = await _entries(app_client, h, listing["id"])
    assert _names(world, entries) == ["H1", "H3"]  # AAA and AA in period 1 (period 2 was not effective yet)
    assert [(e["seq"], e["grade"], e["period_code"]) for e in entries] == \
        [(1, "AAA", f"M1{world.tag}"), (2, "AA", f"M1{world.tag}")]
    assert entries[0]["head_id_masked"] == world.id_numbers["H1"][:6] + "********" + world.id_numbers["H1"][-4:]
    assert entries[0]["head_name_masked"] == "测****1" and entries[0]["village_name"] == "名单A村"
    world.state["past_list"] = listing["id"]
    world.state["past_entries"] = entries

    # 信用村整村授信: credit households of the credit village (A) on PAST
    village_list = await _build(app_client, h, world.state["village"], PAST)
    assert _names(world, await _entries(app_client, h, village_list["id"])) == ["H1", "H2"]
    world.state["village_past"] = await _entries(app_client, h, village_list["id"])

    # a rerun of the job changes nothing
    assert await build.build_list(listing["id"]) == "done"
    assert await _entries(app_client, h, listing["id"]) == entries


async def test_later_changes_never_reach_back_and_serious_dishonesty_bars_subsidies(app_client, world):
    h = await _login(app_client, world.admin["county"])
    actor = await account_actor((await fetch("SELECT id FROM account WHERE username = {}",
                                             world.admin["county"]))[0]["id"])
    # H2 moves to the other township today; H3's head is recorded as a judgment defaulter since before PAST
    async with engine_finder().transaction():
        await HouseholdResidence.update({HouseholdResidence.valid_to: TODAY - timedelta(days=1)}).where(
            (HouseholdResidence.household == world.households["H2"]) & HouseholdResidence.valid_to.is_null())
        await HouseholdResidence.insert(HouseholdResidence(county_id=world.county, household=world.households["H2"], grid=world.grids["b"],
                                                           address="名单B村9号", valid_from=TODAY, reason="迁居"))
        await Household.update({Household.village: world.villages["b"], Household.grid: world.grids["b"]}).where(
            Household.id == world.households["H2"])
    photo = await _photo(app_client, h)
    event = await app_client.post("/api/v1/events", headers=h, json={
        "idempotency_key": uuid.uuid4().hex, "item_code": "JUDGMENT-DEFAULTER", "subject_kind": "person",
        "subject_id": world.heads["H3"], "occurred_on": (PAST - timedelta(days=5)).isoformat(),
        "evidence_ids": [photo]})
    assert event.status_code == 201, event.text
    from backend.ledger import services as ledger

    counted = await ledger.decide(actor, event.json()["id"], approve=True, reason="")
    entry = next(e for e in counted.entries if e.reverses_entry is None)
    world.state["serious_entry"] = entry.id

    again = await _build(app_client, h, world.state["subsidy"], PAST)
    assert again["status"] == "done"
    assert [{k: v for k, v in e.items()} for e in await _entries(app_client, h, again["id"])] == \
        world.state["past_entries"]

    village_again = await _build(app_client, h, world.state["village"], PAST)
    assert await _entries(app_client, h, village_again["id"]) == world.state["village_past"]
    village_now = await _build(app_client, h, world.state["village"], TODAY)
    assert _names(world, await _entries(app_client, h, village_now["id"])) == ["H1"]  # H2 moved to village B; H5 is not a credit household

    now = await _build(app_client, h, world.state["subsidy"], TODAY)
    entries = await _entries(app_client, h, now["id"])
    # period 2: H2 AAA (now in township B), H3 AA but barred by art. 42, H1 A, H4 AA
    assert _names(world, entries) == ["H2", "H4"]
    assert entries[0]["village_name"] == "名单B村"
    restricted_now = await _build(app_client, h, world.state["restriction"], TODAY)
    assert _names(world, await _entries(app_client, h, restricted_now["id"])) == ["H3"]
    restricted_then = await _build(app_client, h, world.state["restriction"], PAST)
    assert (restricted_then["status"], restricted_then["households"]) == ("done", 0)  # not known on PAST

    # the repair (reversal) ends the restriction from today; lists already built stay as they were
    reversed_ = await app_client.post(f"/api/v1/review/entries/{entry.id}/reverse", headers=h,
                                      json={"reason": "已履行，信用修复"})
    assert reversed_.status_code == 201, reversed_.text
    after = await _build(app_client, h, world.state["restriction"], TODAY)
    assert after["households"] == 0
    assert _names(world, await _entries(app_client, h, restricted_now["id"])) == ["H3"]
    assert _names(world, await _entries(app_client, h, (await _build(
        app_client, h, world.state["subsidy"], TODAY))["id"])) == ["H2", "H3", "H4"]


async def test_a_failing_build_leaves_no_entries_and_a_coded_error(app_client, world):
    h = await _login(app_client, world.admin["county"])

    async def crash(done: int, total: int) -> None:
        assert (await app_client.get(f"/api/v1/eligibility-lists/{world.state['crashing']}", headers=h)
                ).json()["status"] == "running"
        raise RuntimeError("worker lost mid-build")

    response = await app_client.post(f"/api/v1/measures/{world.state['subsidy']}/eligibility-lists", headers=h,
                                     json={"as_of": TODAY.isoformat()})
    world.state["crashing"] = list_id = response.json()["id"]
    assert await build.build_list(list_id, chunk=2, on_progress=crash) == "failed"
    failed = (await app_client.get(f"/api/v1/eligibility-lists/{list_id}", headers=h)).json()
    assert (failed["status"], failed["error_code"], failed["households"]) == ("failed", "ELIGIBILITY_BUILD_FAILED", None)
    assert not await fetch("SELECT 1 FROM eligibility_list_entry WHERE list = {}", list_id)
    not_done = await app_client.get(f"/api/v1/eligibility-lists/{list_id}/export.xlsx", headers=h)
    assert (not_done.status_code, not_done.json()["code"]) == (409, "ELIGIBILITY_LIST_NOT_DONE")
    # the retry builds it whole
    assert await build.build_list(list_id) == "done"
    assert (await app_client.get(f"/api/v1/eligibility-lists/{list_id}", headers=h)).json()["attempts"] == 2

    # a day no catalogue covers: failed with the rules' own code, nothing written
    old = (await app_client.post("/api/v1/measures", headers=h, json=_measure_body(
        "OLD", valid_from="2019-01-01"))).json()
    listing = await _build(app_client, h, old["id"], date(2019, 6, 1))
    assert (listing["status"], listing["error_code"]) == ("failed", "RULES_NO_CATALOGUE")
    assert not await fetch("SELECT 1 FROM eligibility_list_entry WHERE list = {}", listing["id"])

    # a done list is final in the database too
    with pytest.raises(Exception, match="no longer changes|not allowed|refuse|append-only"):
        async with engine_finder().transaction():
            await fetch("UPDATE eligibility_list SET households = 99 WHERE id = {}", list_id)
    with pytest.raises(Exception, match="is done"):
        async with engine_finder().transaction():
            await fetch("""INSERT INTO eligibility_list_entry (list, seq, household_id, household_code, township_id,
                           township_name, village_id, village_name, grid_id) VALUES ({}, 99, 1, 'x', 1, 'x', 1, 'x', 1)""",
                        list_id)


# --- export ---------------------------------------------------------------------------------------------


async def test_export_opens_and_lists_exactly_those_households_as_text(app_client, tokens, world):
    h = await _login(app_client, world.admin["county"])
    list_id = world.state["past_list"]
    before = (await fetch("SELECT coalesce(max(id), 0) AS n FROM access_log"))[0]["n"]
    response = await app_client.get(f"/api/v1/eligibility-lists/{list_id}/export.xlsx", headers=h)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and f'filename="eligibility-list-{list_id}.xlsx"' in disposition
    assert "filename*=UTF-8''" + "%E5%86%9C%E4%B8%9A%E8%A1%A5%E8%B4%B4%E4%BC%98%E5%85%88" in disposition  # 农业补贴优先

    ws = load_workbook(io.BytesIO(response.content)).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert "农业补贴优先" in rows[0][0] and PAST.strftime("%Y年%m月%d日") in rows[0][0]
    assert rows[1][0] == "实施单位：区农业农村局"
    assert rows[3] == ["序号", "乡镇", "村", "户编号", "户主（脱敏）", "户主身份证号（脱敏）", "等级", "评定年度", "公示起止"]
    body = rows[4:]
    assert [r[3] for r in body] == [world.codes["H1"], world.codes["H3"]]  # exactly those households
    assert [r[0] for r in body] == ["1", "2"] and [r[6] for r in body] == ["AAA", "AA"]
    assert body[0][1:3] == ["名单A镇", "名单A村"] and body[0][7] == f"M1{world.tag}评定"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}至\d{4}-\d{2}-\d{2}", body[0][8])
    for row in ws.iter_rows(min_row=5):
        for cell in row:
            assert cell.data_type == "s" and cell.number_format == "@", (cell.coordinate, cell.value)
    assert body[0][3].startswith("00")  # leading zeros kept
    assert ws.freeze_panes == "A5" and ws.column_dimensions["F"].width >= 20
    text = " ".join(str(v) for r in rows for v in r if v is not None)
    for number in world.id_numbers.values():
        assert number not in text
    assert not re.search(r"\d{17}[\dX]", text)
    assert body[0][5] == world.id_numbers["H1"][:6] + "********" + world.id_numbers["H1"][-4:]

    # logged through the scope module, one row per household on the list, and audited
    logged = await fetch("SELECT household_id, purpose, actor_label FROM access_log WHERE id > {} ORDER BY household_id",
                         before)
    assert {(r["household_id"], r["purpose"]) for r in logged} == \
        {(world.households[k], "eligibility_list_export") for k in ("H1", "H3")}
    assert await fetch("SELECT 1 FROM security_event WHERE kind = 'eligibility_list_export' AND principal = {}",
                       world.admin["county"])
    villager = await _login(app_client, world.admin["villager"])
    history = (await app_client.get("/api/v1/me/access-log", headers=villager)).json()
    assert any("家庭信用评级" in item["what_zh"] for item in history["items"]), history
    auditor = await _login(app_client, world.admin["auditor"])
    audited = (await app_client.get(f"/api/v1/audit/access-log?subject_kind=household&subject_id="
                                    f"{world.households['H3']}", headers=auditor)).json()
    assert any(item["purpose"] == "eligibility_list_export" for item in audited["items"]), audited

    # scope: the township admin sees their township's households only, the auditor and others no rows
    township = await _login(app_client, world.admin["township"])
    mine = await app_client.get(f"/api/v1/eligibility-lists/{list_id}/export.xlsx", headers=township)
    assert mine.status_code == 200
    codes = [r[3].value for r in load_workbook(io.BytesIO(mine.content)).active.iter_rows(min_row=5)]
    assert codes == [world.codes["H1"]]
    assert (await app_client.get(f"/api/v1/eligibility-lists/{list_id}", headers=auditor)).status_code == 200
    assert (await app_client.get(f"/api/v1/eligibility-lists/{list_id}/export.xlsx", headers=auditor)).status_code == 403
    foreign = await tokens("county_admin")
    for url in (f"/api/v1/eligibility-lists/{list_id}", f"/api/v1/eligibility-lists/{list_id}/entries",
                f"/api/v1/eligibility-lists/{list_id}/export.xlsx"):
        assert (await app_client.get(url, headers=foreign)).status_code == 404, url
    assert list_id not in [x["id"] for x in (await app_client.get("/api/v1/eligibility-lists", headers=foreign)).json()]
    foreign_township = await tokens("township_admin")
    assert (await app_client.get(f"/api/v1/eligibility-lists/{list_id}/export.xlsx",
                                 headers=foreign_township)).status_code == 404


async def test_demo_measures_seed_once(app_client, tokens):
    from dev import demo_measures

    first = await demo_measures.seed(TODAY)
    assert first["measures"] == len(demo_measures.MEASURES) and first["list"]["status"] == "done"
    assert await demo_measures.seed(TODAY) == {"measures": 0, "list": None}
    listed = (await app_client.get("/api/v1/measures", headers=await tokens("county_admin"))).json()
    assert {m["code"] for m in listed} >= {m["code"] for m in demo_measures.MEASURES}
    assert {m["category"] for m in listed if m["kind"] == "restriction"} == {"subsidy"}


async def test_back_office_shows_measures_and_lists_read_only_and_no_entries(app_client, world):
    from tests.integration.admin_ui import admin_login

    headers = await admin_login(app_client)
    try:
        measure, listing = world.state["subsidy"], world.state["past_list"]
        assert (await app_client.get(f"/admin/api/tables/measure/{measure}/")).status_code == 200
        before = await fetch("SELECT * FROM measure WHERE id = {}", measure)
        for method in ("patch", "put"):
            for table, row in (("measure", measure), ("eligibility_list", listing)):
                response = await app_client.request(method.upper(), f"/admin/api/tables/{table}/{row}/",
                                                    json={"name_zh": "后台改名"}, headers=headers)
                assert response.status_code == 405, (table, method, response.text)
        for table, row in (("measure", measure), ("eligibility_list", listing)):
            assert (await app_client.delete(f"/admin/api/tables/{table}/{row}/", headers=headers)).status_code == 405
            assert (await app_client.post(f"/admin/api/tables/{table}/", json={}, headers=headers)).status_code == 405
        assert await fetch("SELECT * FROM measure WHERE id = {}", measure) == before
        assert (await app_client.get("/admin/api/tables/eligibility_list_entry/")).status_code == 404
    finally:
        app_client.cookies.clear()
