"""Rating periods from close to effective: proposals, bulk approval with exceptions, maker-checker,
publicity over working days, objections (异议), the append-only decision log, and the charts.

The tests of this module run in file order and share one period (its own unique code, ending
today) closed by the ``period`` fixture as if tomorrow (a period can be closed only once it is
over): approvals first, then the objection flow on the demo villager's household. Checks that
must not leave a mark on the shared database (``finalize`` with a far-future date, attempts to
change the decision log) run inside a transaction that is rolled back.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from piccolo.engine import engine_finder

from backend import clock
from backend.auth import accounts
from backend.auth.services import account_actor
from backend.auth.roles import Role
from backend.db import fetch
from backend.errors import NotFound
from backend.ledger.catalogue import catalogues
from backend.ratings import periods as rating_periods
from backend.ratings.calendar import work_calendar
from backend.registry import protection
from dev.demo_data import COUNTY_CODE
from dev.seed import DEMO_PASSWORD
from points_rules.ratings import publicity_end
from points_rules.workdays import WorkCalendar

TODAY = clock.today()  # the platform's local date (the services use the same clock)


class _Rollback(Exception):
    """Raised to roll back a transaction opened only to look at what would happen."""


@dataclass
class Period:
    id: int
    code: str
    county_id: int
    township_id: int       # township_admin's (the first) township
    other_township_id: int  # township_admin2's
    village_id: int        # the demo villager's village
    villager_household: int
    state: dict


async def _login(client, username: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _proposals(period_id: int, **where) -> list[dict]:
    clauses, args = ["period = {}"], [period_id]
    for column, value in where.items():
        clauses.append(f"{column} = {{}}")
        args.append(value)
    return await fetch(f"SELECT * FROM rating_proposal WHERE {' AND '.join(clauses)} ORDER BY id", *args)


async def _proposal(proposal_id: int) -> dict:
    return (await fetch("SELECT * FROM rating_proposal WHERE id = {}", proposal_id))[0]


def _publicity_days() -> int:
    return catalogues().version_on(TODAY).rating_rules().approval.publicity_working_days


async def _expected_publicity_end(start: date) -> date:
    """WorkCalendar().add_working_days(start, N) — with the admin overrides, if any test entered some."""
    rows = await fetch("SELECT day, kind FROM calendar_override")
    if not rows:
        return WorkCalendar().add_working_days(start, _publicity_days())
    return WorkCalendar.of(holidays=[r["day"] for r in rows if r["kind"] == "holiday"],
                           workdays=[r["day"] for r in rows if r["kind"] == "workday"]
                           ).add_working_days(start, _publicity_days())


@pytest.fixture(scope="module")
async def period(app_client, tokens) -> Period:
    county = await fetch("SELECT id FROM county WHERE code = {}", COUNTY_CODE)
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens("township_admin"))).json()
    me2 = (await app_client.get("/api/v1/auth/me", headers=await tokens("township_admin2"))).json()
    villager = (await app_client.get("/api/v1/auth/me", headers=await tokens("villager"))).json()
    village_id = (await fetch("SELECT village FROM household WHERE id = {}", villager["household_id"]))[0]["village"]
    code = "T" + secrets.token_hex(6)
    created = await app_client.post("/api/v1/ratings/periods", headers=await tokens("county_admin"), json={
        "code": code, "name_zh": f"{TODAY.year}年度测试评定", "starts_on": date(TODAY.year, 1, 1).isoformat(),
        "ends_on": TODAY.isoformat()})
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "open"
    period_id = created.json()["id"]
    not_yet = await app_client.post(f"/api/v1/ratings/periods/{period_id}/close", headers=await tokens("county_admin"))
    assert not_yet.status_code == 409 and not_yet.json()["code"] == "RATINGS_PERIOD_NOT_ENDED", not_yet.text
    # The period ends today: close it as the county admin would tomorrow (the service, under a moved clock).
    admin = (await fetch("SELECT id FROM account WHERE username = 'county_admin'"))[0]["id"]
    with clock.frozen(clock.now() + timedelta(days=1)):
        closed = await rating_periods.close_period(await account_actor(admin), period_id)
    assert closed.status == "closed"
    return Period(period_id, code, county[0]["id"], me["township_id"], me2["township_id"], village_id,
                  villager["household_id"], {})


# --- period close -------------------------------------------------------------------------------------------


async def test_close_proposes_every_household_village_and_township(app_client, tokens, period):
    county = period.county_id
    households = {r["id"] for r in await fetch(
        """SELECT h.id FROM household h JOIN village v ON v.id = h.village JOIN township t ON t.id = v.township
           WHERE t.county = {}""", county)}
    villages = {r["id"] for r in await fetch(
        "SELECT v.id FROM village v JOIN township t ON t.id = v.township WHERE t.county = {}", county)}
    townships = {r["id"] for r in await fetch("SELECT id FROM township WHERE county = {}", county)}
    proposed = await _proposals(period.id)
    by_level = {level: [p["subject_id"] for p in proposed if p["level"] == level]
                for level in ("household", "village", "township")}
    assert len(by_level["household"]) == len(households) and set(by_level["household"]) == households
    assert len(by_level["village"]) == len(villages) and set(by_level["village"]) == villages
    assert len(by_level["township"]) == len(townships) and set(by_level["township"]) == townships
    assert len(households) > 2000 and len(townships) >= 3
    assert {p["status"] for p in proposed} == {"proposed"}
    assert all(p["grade"] == p["computed_grade"] and p["change_reason"] == "" for p in proposed)

    # the proposal is the live standing as of the period's end (today)
    mine = next(p for p in proposed if p["level"] == "household" and p["subject_id"] == period.villager_household)
    live = (await app_client.get(f"/api/v1/households/{period.villager_household}/rating",
                                 headers=await tokens("county_admin"))).json()
    assert (mine["computed_grade"], mine["is_credit"]) == (live["live_grade"], live["live_is_credit"])
    assert mine["explanation_zh"] and mine["catalogue_version"] == catalogues().version_on(TODAY).version

    again = await app_client.post(f"/api/v1/ratings/periods/{period.id}/close", headers=await tokens("county_admin"))
    assert again.status_code == 409
    assert len(await _proposals(period.id)) == len(proposed)

    # the township admin's view counts proposals of their township only
    listed = (await app_client.get("/api/v1/ratings/periods", headers=await tokens("township_admin"))).json()
    counts = next(p for p in listed if p["id"] == period.id)["proposals"]
    in_township = [p for p in proposed if p["township_id"] == period.township_id]
    assert counts == {"proposed": len(in_township)}
    page = (await app_client.get(f"/api/v1/ratings/periods/{period.id}/proposals?level=township",
                                 headers=await tokens("township_admin"))).json()
    assert page["total"] == 0  # township-level proposals are the county's to approve


async def test_closing_a_period_rates_only_its_own_county(app_client, period):
    """A second county in the same database (built, used and rolled back inside one transaction):
    closing the demo county's period must not propose ratings for the other county's households."""
    from backend.auth.roles import Actor
    from backend.ratings.schemas import PeriodIn
    from backend.registry.tables import County, Grid, Household, Township, Village

    admin = (await fetch("SELECT id FROM account WHERE username = 'county_admin'"))[0]["id"]
    actor = Actor(kind="account", id=admin, role=Role.COUNTY_ADMIN, label="county_admin", sid="",
                  county_id=period.county_id)
    tag = secrets.token_hex(4)
    with pytest.raises(_Rollback):
        async with engine_finder().transaction():
            other_county = (await County.insert(County(code=f"X{tag}", name="另一区"))
                            .returning(County.id))[0]["id"]
            township = (await Township.insert(Township(code=f"X{tag}t", name="另一镇", county=other_county))
                        .returning(Township.id))[0]["id"]
            village = (await Village.insert(Village(county_id=other_county, code=f"X{tag}v", name="另一村", township=township))
                       .returning(Village.id))[0]["id"]
            grid = (await Grid.insert(Grid(county_id=other_county, code=f"X{tag}g", name="另一网格", village=village)).returning(Grid.id))[0]["id"]
            await Household.insert(Household(county_id=other_county, code=f"X{tag}h", village=village, grid=grid))
            created = await rating_periods.create_period(actor, PeriodIn(
                code=f"X{tag}", name_zh="跨区检查", starts_on=date(TODAY.year, 1, 1),
                ends_on=TODAY - timedelta(days=1)))  # closable only once ended
            outsider = Actor(kind="account", id=admin, role=Role.COUNTY_ADMIN, label="other", sid="",
                             county_id=other_county)
            with pytest.raises(NotFound):  # another county's admin may not close this county's period
                await rating_periods.close_period(outsider, created.id)
            await rating_periods.close_period(actor, created.id)
            leaked = await fetch("""SELECT level, count(*) AS n FROM rating_proposal WHERE period = {}
                                    AND township_id NOT IN (SELECT id FROM township WHERE county = {})
                                    GROUP BY level ORDER BY level""", created.id, period.county_id)
            assert leaked == [], f"another county's subjects were proposed: {leaked}"
            households = (await fetch("""SELECT count(*) AS n FROM household h JOIN village v ON v.id = h.village
                                         JOIN township t ON t.id = v.township WHERE t.county = {}""",
                                      period.county_id))[0]["n"]
            assert len(await _proposals(created.id, level="household")) == households
            raise _Rollback
    assert not await fetch("SELECT 1 FROM county WHERE code = {}", f"X{tag}")


# --- approval --------------------------------------------------------------------------------------------


async def test_household_bulk_approval_with_exceptions(app_client, tokens, period):
    url = f"/api/v1/ratings/periods/{period.id}/approvals"
    village = await _proposals(period.id, level="household", village_id=period.village_id)
    assert len(village) >= 10
    others = [p for p in village if p["subject_id"] != period.villager_household]
    returned, changed = others[0], others[1]
    new_grade = "AA" if changed["computed_grade"] != "AA" else "AAA"

    # a change needs a reason (request validation)
    no_reason = await app_client.post(url, headers=await tokens("township_admin"), json={
        "level": "household", "village_id": period.village_id,
        "exceptions": [{"proposal_id": changed["id"], "action": "change", "grade": new_grade}]})
    assert no_reason.status_code in (400, 422), no_reason.text
    # an unknown grade is refused and nothing at all is approved (one transaction)
    bad_grade = await app_client.post(url, headers=await tokens("township_admin"), json={
        "level": "household", "village_id": period.village_id,
        "exceptions": [{"proposal_id": changed["id"], "action": "change", "grade": "B", "reason": "等级有误"}]})
    assert bad_grade.status_code == 422, bad_grade.text
    assert bad_grade.json()["code"] == "RATINGS_GRADE"
    assert {p["status"] for p in await _proposals(period.id, level="household", village_id=period.village_id)} \
        == {"proposed"}

    # another township's admin: nothing of this village is theirs
    foreign = await app_client.post(url, headers=await tokens("township_admin2"), json={
        "level": "household", "village_id": period.village_id})
    assert foreign.status_code == 200, foreign.text
    assert (foreign.json()["approved"], foreign.json()["publicised"], foreign.json()["returned"]) == (0, 0, 0)
    foreign_exception = await app_client.post(url, headers=await tokens("township_admin2"), json={
        "level": "household", "exceptions": [{"proposal_id": returned["id"], "action": "return", "reason": "不在本乡"}]})
    assert foreign_exception.status_code == 404, foreign_exception.text
    assert {p["status"] for p in await _proposals(period.id, level="household", village_id=period.village_id)} \
        == {"proposed"}

    # a township admin may not approve township-level ratings
    township_level = await app_client.post(url, headers=await tokens("township_admin"), json={"level": "township"})
    assert township_level.status_code == 403, township_level.text

    answer = await app_client.post(url, headers=await tokens("township_admin"), json={
        "level": "household", "village_id": period.village_id, "exceptions": [
            {"proposal_id": returned["id"], "action": "return", "reason": "户籍信息待核实，退回重评"},
            {"proposal_id": changed["id"], "action": "change", "grade": new_grade, "reason": "经村民代表会议评议调整"},
        ]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    n = len(village)
    # households are not in second_approver_for: approved ones go straight to publicity
    assert "household" not in catalogues().version_on(TODAY).rating_rules().approval.second_approver_for
    assert (body["approved"], body["publicised"], body["returned"], body["changed"], body["awaiting_second"],
            body["not_own_check"]) == (n - 1, n - 1, 1, 1, 0, 0)
    expected_end = await _expected_publicity_end(TODAY)
    assert body["publicity_ends_on"] == expected_end.isoformat()
    if not await fetch("SELECT 1 FROM calendar_override LIMIT 1"):
        assert body["publicity_ends_on"] == WorkCalendar().add_working_days(TODAY, _publicity_days()).isoformat()

    after = {p["id"]: p for p in await _proposals(period.id, level="household", village_id=period.village_id)}
    assert after[returned["id"]]["status"] == "returned"
    assert (after[changed["id"]]["status"], after[changed["id"]]["grade"], after[changed["id"]]["computed_grade"],
            after[changed["id"]]["change_reason"]) == ("publicised", new_grade, changed["computed_grade"],
                                                       "经村民代表会议评议调整")
    publicised = [p for p in after.values() if p["status"] == "publicised"]
    assert len(publicised) == n - 1
    assert {(p["publicity_starts_on"], p["publicity_ends_on"]) for p in publicised} == {(TODAY, expected_end)}
    # other villages of the township are untouched
    rest = await fetch("""SELECT DISTINCT status FROM rating_proposal WHERE period = {} AND level = 'household'
                          AND township_id = {} AND village_id <> {}""", period.id, period.township_id, period.village_id)
    assert [r["status"] for r in rest] == ["proposed"]
    # the returned one goes back into the queue (a foreign admin cannot touch it)
    repropose_url = f"/api/v1/ratings/proposals/{returned['id']}/repropose"
    body = {"grade": returned["computed_grade"], "reason": "户籍信息已核实，按原等级重新提交"}
    assert (await app_client.post(repropose_url, headers=await tokens("township_admin2"), json=body)).status_code == 404
    reproposed = await app_client.post(repropose_url, headers=await tokens("township_admin"), json=body)
    assert reproposed.status_code == 200, reproposed.text
    assert (reproposed.json()["status"], reproposed.json()["grade"], reproposed.json()["change_reason"]) == \
        ("proposed", returned["computed_grade"], "")
    again = await app_client.post(repropose_url, headers=await tokens("township_admin"), json=body)
    assert again.status_code == 409  # only a returned proposal can be re-proposed
    period.state.update(returned=returned["id"], changed=changed["id"])


async def test_village_level_needs_a_second_approver(app_client, tokens, period):
    rules = catalogues().version_on(TODAY).rating_rules().approval
    assert "village" in rules.second_approver_for  # 2026 catalogue: villages and townships need a checker
    url = f"/api/v1/ratings/periods/{period.id}/approvals"
    villages = await _proposals(period.id, level="village", township_id=period.township_id)
    n = len(villages)
    assert n >= 4

    first = (await app_client.post(url, headers=await tokens("township_admin"), json={"level": "village"})).json()
    assert (first["approved"], first["awaiting_second"], first["publicised"], first["publicity_ends_on"]) == \
        (n, n, 0, None)
    # checking one's own approval is refused — a change slipped in with it too, and reported as not done
    target = villages[0]
    other_grade = "none" if target["grade"] == "credit" else "credit"
    own = (await app_client.post(url, headers=await tokens("township_admin"), json={
        "level": "village", "exceptions": [{"proposal_id": target["id"], "action": "change", "grade": other_grade,
                                            "reason": "自己复核自己"}]})).json()
    assert (own["approved"], own["not_own_check"], own["publicised"], own["changed"]) == (0, n, 0, 0)
    after_own = await _proposals(period.id, level="village", township_id=period.township_id)
    assert {p["status"] for p in after_own} == {"awaiting_second"}
    assert next(p for p in after_own if p["id"] == target["id"])["grade"] == target["grade"]

    township_code = (await fetch("SELECT code FROM township WHERE id = {}", period.township_id))[0]["code"]
    checker_name = "tadmin_chk_" + secrets.token_hex(4)
    checker_id = await accounts.create_account(checker_name, DEMO_PASSWORD, Role.TOWNSHIP_ADMIN,
                                               township_code=township_code, display_name="复核人")
    second = await app_client.post(url, headers=await _login(app_client, checker_name), json={"level": "village"})
    assert second.status_code == 200, second.text
    assert (second.json()["approved"], second.json()["publicised"], second.json()["not_own_check"]) == (n, n, 0)
    assert second.json()["publicity_ends_on"] == (await _expected_publicity_end(TODAY)).isoformat()
    maker = (await fetch("SELECT id FROM account WHERE username = 'township_admin'"))[0]["id"]
    after = await _proposals(period.id, level="village", township_id=period.township_id)
    assert {(p["status"], p["maker"], p["checker"]) for p in after} == {("publicised", maker, checker_id)}
    # the other township's villages are still waiting for their own admin
    assert {p["status"] for p in await _proposals(period.id, level="village", township_id=period.other_township_id)} \
        == {"proposed"}
    period.state["village_proposal"] = after[0]["id"]


async def test_township_level_is_for_county_admins_with_a_checker(app_client, tokens, period):
    url = f"/api/v1/ratings/periods/{period.id}/approvals"
    n = len(await _proposals(period.id, level="township"))
    denied = await app_client.post(url, headers=await tokens("township_admin"), json={"level": "township"})
    assert denied.status_code == 403
    first = (await app_client.post(url, headers=await tokens("county_admin"), json={"level": "township"})).json()
    assert (first["approved"], first["awaiting_second"], first["publicised"]) == (n, n, 0)
    own = (await app_client.post(url, headers=await tokens("county_admin"), json={"level": "township"})).json()
    assert (own["approved"], own["not_own_check"]) == (0, n)
    checker_name = "cadmin_chk_" + secrets.token_hex(4)
    await accounts.create_account(checker_name, DEMO_PASSWORD, Role.COUNTY_ADMIN, county_code=COUNTY_CODE,
                                  display_name="区复核人")
    second = (await app_client.post(url, headers=await _login(app_client, checker_name),
                                    json={"level": "township"})).json()
    assert (second["approved"], second["publicised"]) == (n, n)
    assert {p["status"] for p in await _proposals(period.id, level="township")} == {"publicised"}


# --- the working-day calendar ------------------------------------------------------------------------------


def test_publicity_over_national_day_follows_the_official_2026_calendar():
    """2026 (国务院办公厅通知; chinese_calendar's table): 中秋 9月25日–27日 off; 国庆 10月1日（周四）–7日
    off, with 9月20日（周日） and 10月10日（周六） worked. Published Wednesday 30 September, the 5 working days
    of publicity are 8 Oct (Thu), 9 Oct (Fri), 10 Oct (Sat, adjusted workday), 12 Oct (Mon), 13 Oct (Tue)."""
    calendar = WorkCalendar()
    start = date(2026, 9, 30)
    assert calendar.covered(start)
    assert [calendar.is_working_day(date(2026, 10, d)) for d in range(1, 14)] == [
        False, False, False, False, False, False, False,  # 1–7 Oct: National Day holiday
        True, True, True,                                 # 8, 9 Oct; 10 Oct (Saturday) is an adjusted workday
        False,                                            # 11 Oct: Sunday
        True, True]
    assert calendar.is_working_day(date(2026, 9, 20))  # Sunday, worked for National Day
    assert not calendar.is_working_day(date(2026, 9, 25))  # Friday, Mid-Autumn
    assert calendar.add_working_days(start, 5) == date(2026, 10, 13)
    assert publicity_end(catalogues(), start, calendar) == date(2026, 10, 13)  # the catalogue's 5 working days
    # objections: a decision within 7 working days (art. 46): 8, 9, 10, 12, 13, 14, 15 Oct
    assert calendar.add_working_days(start, 7) == date(2026, 10, 15)
    # without the official table (Monday–Friday only) it would have ended on 7 October, inside the holiday
    weekdays_only = sum(1 for d in range(1, 8) if date(2026, 10, d).weekday() < 5)
    assert weekdays_only == 5
    # an admin-entered local holiday (e.g. 12 Oct) pushes it one working day further
    assert WorkCalendar.of(holidays=[date(2026, 10, 12)]).add_working_days(start, 5) == date(2026, 10, 14)


async def test_backend_calendar_matches_the_official_one_without_overrides(app_client):
    calendar = await work_calendar()
    rows = await fetch("SELECT day FROM calendar_override")
    if not rows:
        assert calendar.add_working_days(date(2026, 9, 30), 5) == date(2026, 10, 13)
    assert calendar.add_working_days(TODAY, 5) == await _expected_publicity_end(TODAY)


# --- objections ---------------------------------------------------------------------------------------------


async def _villager_proposal(period: Period) -> dict:
    return (await _proposals(period.id, level="household", subject_id=period.villager_household))[0]


async def _neighbour_villager(app_client, period: Period) -> dict[str, str]:
    """A villager account for the head of another household of the same village."""
    row = (await fetch(
        """SELECT p.id_number_cipher FROM household h JOIN household_membership m ON m.household = h.id
           AND m.valid_to IS NULL AND m.relation = '户主' JOIN person p ON p.id = m.person
           WHERE h.village = {} AND h.id <> {} ORDER BY h.id DESC LIMIT 1""",
        period.village_id, period.villager_household))[0]
    name = "villager_nb_" + secrets.token_hex(4)
    await accounts.create_account(name, DEMO_PASSWORD, Role.VILLAGER,
                                  person_id_number=protection.reveal_id_number(row["id_number_cipher"]),
                                  display_name="邻居")
    return await _login(app_client, name)


async def test_objection_holds_the_rating_back_until_resolved(app_client, tokens, period):
    villager = await tokens("villager")
    proposal = await _villager_proposal(period)
    assert proposal["status"] == "publicised"
    rating_url = f"/api/v1/households/{period.villager_household}/rating"
    seen = (await app_client.get(rating_url, headers=villager)).json()
    assert [p["id"] for p in seen["in_progress"] if p["period_id"] == period.id] == [proposal["id"]]
    assert proposal["id"] not in [p["id"] for p in seen["official"]]

    # Publicity began today; move its start back four days (as if approved last week) so a restart
    # by an upheld objection is visible in the dates.
    earlier = TODAY - timedelta(days=4)
    calendar = await work_calendar()
    original_end = calendar.add_working_days(earlier, _publicity_days())
    assert original_end >= TODAY
    await fetch("UPDATE rating_proposal SET publicity_starts_on = {}, publicity_ends_on = {} WHERE id = {}",
                earlier, original_end, proposal["id"])

    objected = await app_client.post(f"/api/v1/ratings/proposals/{proposal['id']}/objections", headers=villager,
                                     json={"reason": "我家去年参加了志愿服务，积分未计入"})
    assert objected.status_code == 201, objected.text
    objection = objected.json()
    assert objection["status"] == "open"
    assert objection["respond_by"] == calendar.add_working_days(TODAY, 7).isoformat()  # art. 46: 7 working days
    assert (await _proposal(proposal["id"]))["status"] == "disputed"

    # nobody else may object: not a neighbour, not against someone else's household
    neighbour = await _neighbour_villager(app_client, period)
    assert (await app_client.post(f"/api/v1/ratings/proposals/{proposal['id']}/objections", headers=neighbour,
                                  json={"reason": "我也有意见要提出"})).status_code == 404
    returned_id, changed_id = period.state["returned"], period.state["changed"]
    assert (await app_client.post(f"/api/v1/ratings/proposals/{changed_id}/objections", headers=villager,
                                  json={"reason": "对邻居的评定有意见"})).status_code == 404
    assert (await app_client.post(f"/api/v1/ratings/proposals/{period.state['village_proposal']}/objections",
                                  headers=villager, json={"reason": "对本村的评定有意见"})).status_code == 404

    # a disputed rating is not official anywhere
    seen = (await app_client.get(rating_url, headers=villager)).json()
    assert seen["official"] == [] or proposal["id"] not in [p["id"] for p in seen["official"]]
    assert [(p["id"], p["status"]) for p in seen["in_progress"] if p["period_id"] == period.id] == \
        [(proposal["id"], "disputed")]
    assert proposal["id"] not in [r["id"] for r in await _official(period.villager_household)]

    # even a finalize far in the future leaves disputed, returned and unapproved ratings alone
    # (looked at inside a transaction that is then rolled back: the shared database keeps its state)
    unapproved = (await fetch("""SELECT id, subject_id FROM rating_proposal WHERE period = {} AND level = 'household'
                                 AND status = 'proposed' ORDER BY id LIMIT 1""", period.id))[0]
    neighbour_publicised = next(p for p in await _proposals(period.id, level="household", village_id=period.village_id)
                                if p["status"] == "publicised")
    with pytest.raises(_Rollback):
        async with engine_finder().transaction():
            made_effective = await rating_periods.finalize(today=date(2100, 1, 1))
            assert made_effective > 0
            assert (await _proposal(proposal["id"]))["status"] == "disputed"
            assert (await _proposal(returned_id))["status"] == "proposed"  # returned, re-proposed, not approved
            assert (await _proposal(unapproved["id"]))["status"] == "proposed"
            assert proposal["id"] not in [r["id"] for r in await _official(period.villager_household)]
            assert unapproved["id"] not in [r["id"] for r in await _official(unapproved["subject_id"])]
            # … while a publicised one whose publicity is over does become official (the check works)
            assert neighbour_publicised["id"] in [r["id"] for r in await _official(neighbour_publicised["subject_id"])]
            raise _Rollback
    assert (await _proposal(neighbour_publicised["id"]))["status"] == "publicised"

    # upheld with a corrected grade: publicised afresh, from today
    grades = [b.grade for b in catalogues().version_on(TODAY).rating_rules().household.grades]
    corrected = next(g for g in grades if g != proposal["grade"] and g != "none")
    resolve_url = f"/api/v1/ratings/objections/{objection['id']}/resolve"
    assert (await app_client.post(resolve_url, headers=await tokens("township_admin2"), json={
        "decision": "uphold", "reason": "不在本乡", "grade": corrected})).status_code == 404
    no_grade = await app_client.post(resolve_url, headers=await tokens("township_admin"),
                                     json={"decision": "uphold", "reason": "情况属实"})
    assert no_grade.status_code == 422
    upheld = await app_client.post(resolve_url, headers=await tokens("township_admin"), json={
        "decision": "uphold", "reason": "经核实志愿服务记录属实，更正等级", "grade": corrected})
    assert upheld.status_code == 200, upheld.text
    assert (upheld.json()["status"], upheld.json()["resolution_reason"]) == ("upheld", "经核实志愿服务记录属实，更正等级")
    restarted = await _proposal(proposal["id"])
    new_end = calendar.add_working_days(TODAY, _publicity_days())
    assert (restarted["status"], restarted["grade"], restarted["change_reason"]) == \
        ("publicised", corrected, "经核实志愿服务记录属实，更正等级")
    assert (restarted["publicity_starts_on"], restarted["publicity_ends_on"]) == (TODAY, new_end)
    assert new_end > original_end
    again = await app_client.post(resolve_url, headers=await tokens("township_admin"),
                                  json={"decision": "dismiss", "reason": "重复处理"})
    assert again.status_code == 409

    # a second objection, dismissed with written reasons: publicity resumes until its end
    second = await app_client.post(f"/api/v1/ratings/proposals/{proposal['id']}/objections", headers=villager,
                                   json={"reason": "更正后的等级仍然偏低"})
    assert second.status_code == 201, second.text
    assert (await _proposal(proposal["id"]))["status"] == "disputed"
    dismissed = await app_client.post(f"/api/v1/ratings/objections/{second.json()['id']}/resolve",
                                      headers=await tokens("township_admin"),
                                      json={"decision": "dismiss", "reason": "经复核，评定依据充分，维持更正后的等级"})
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["status"] == "dismissed"
    resumed = await _proposal(proposal["id"])
    assert (resumed["status"], resumed["grade"], resumed["publicity_ends_on"]) == ("publicised", corrected, new_end)

    # the last day of publicity is still publicity; the day after, it becomes effective
    with pytest.raises(_Rollback):
        async with engine_finder().transaction():
            await rating_periods.finalize(today=new_end)
            assert (await _proposal(proposal["id"]))["status"] == "publicised"
            raise _Rollback
    assert await rating_periods.finalize(today=new_end + timedelta(days=1)) >= 1
    final = await _proposal(proposal["id"])
    assert (final["status"], final["effective_on"], final["grade"]) == ("effective", new_end + timedelta(days=1),
                                                                        corrected)
    assert (await _proposal(returned_id))["status"] == "proposed"
    official = (await app_client.get(rating_url, headers=villager)).json()["official"]
    assert [(p["id"], p["grade"], p["status"]) for p in official if p["period_id"] == period.id] == \
        [(proposal["id"], corrected, "effective")]
    assert [r["id"] for r in await _official(period.villager_household)
            if r["period"] == period.id] == [proposal["id"]]
    late = await app_client.post(f"/api/v1/ratings/proposals/{proposal['id']}/objections", headers=villager,
                                 json={"reason": "生效后再提异议"})
    assert late.status_code == 409
    period.state["objected"] = proposal["id"]


# --- the decision log ---------------------------------------------------------------------------------------


async def test_decision_log_has_one_row_per_action_and_is_append_only(app_client, period):
    def log(rows):
        return [(r["action"], r["from_status"], r["to_status"]) for r in rows]

    objected = await fetch("SELECT * FROM rating_decision WHERE proposal = {} ORDER BY id", period.state["objected"])
    assert log(objected) == [
        ("approve", "proposed", "publicised"),
        ("objection", "publicised", "disputed"),
        ("objection_upheld", "disputed", "publicised"),
        ("objection", "publicised", "disputed"),
        ("objection_dismissed", "disputed", "publicised"),
        ("effective", "publicised", "effective"),
    ]
    assert objected[2]["reason"] == "经核实志愿服务记录属实，更正等级" and objected[2]["grade"] != ""
    assert all(r["actor"] is not None for r in objected[:5])
    returned = await fetch("SELECT * FROM rating_decision WHERE proposal = {} ORDER BY id", period.state["returned"])
    assert [(r["action"], r["from_status"], r["to_status"], r["reason"]) for r in returned] == [
        ("return", "proposed", "returned", "户籍信息待核实，退回重评"),
        ("repropose", "returned", "proposed", "户籍信息已核实，按原等级重新提交")]
    changed = await fetch("SELECT * FROM rating_decision WHERE proposal = {}", period.state["changed"])
    # the finalize after the objection made every rating whose publicity was over effective, this one too
    assert [(r["action"], r["to_status"], r["reason"]) for r in changed] == \
        [("change", "publicised", "经村民代表会议评议调整"), ("effective", "effective", "")]
    village = await fetch("SELECT * FROM rating_decision WHERE proposal = {} ORDER BY id",
                          period.state["village_proposal"])
    # the refused self-check wrote nothing: two actions, two rows, by two different people
    assert log(village) == [("approve", "proposed", "awaiting_second"), ("approve", "awaiting_second", "publicised"),
                            ("effective", "publicised", "effective")]
    assert village[0]["actor"] != village[1]["actor"]

    row_id = objected[0]["id"]
    for statement in (f"UPDATE rating_decision SET reason = 'tampered' WHERE id = {row_id}",
                      f"DELETE FROM rating_decision WHERE id = {row_id}",
                      "TRUNCATE rating_decision CASCADE"):
        with pytest.raises(Exception) as refused:
            async with engine_finder().transaction():
                await fetch(statement)
                raise _Rollback  # not refused: undo it anyway, and fail below
        assert not isinstance(refused.value, _Rollback), f"{statement} was not refused"
        assert "rating_decision" in str(refused.value) or "append" in str(refused.value).lower() \
            or "refuse" in str(refused.value).lower() or "not allowed" in str(refused.value).lower(), refused.value
    assert log(await fetch("SELECT * FROM rating_decision WHERE proposal = {} ORDER BY id",
                           period.state["objected"])) == log(objected)
    assert (await fetch("SELECT reason FROM rating_decision WHERE id = {}", row_id))[0]["reason"] == ""


# --- charts -------------------------------------------------------------------------------------------------


async def test_township_charts_are_svg_and_scoped(app_client, tokens, period):
    headers = await tokens("township_admin")
    for chart in ("grade-distribution.svg", "trend.svg"):
        response = await app_client.get(f"/api/v1/townships/{period.township_id}/charts/{chart}", headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("image/svg+xml")
        root = ET.fromstring(response.content)
        assert root.tag in ("svg", "{http://www.w3.org/2000/svg}svg")
        assert len(list(root.iter())) > 5
        other = await app_client.get(f"/api/v1/townships/{period.other_township_id}/charts/{chart}", headers=headers)
        assert other.status_code == 404
    trend = await app_client.get(f"/api/v1/townships/{period.township_id}/charts/trend.svg", headers=headers)
    assert period.code in trend.text  # the period now has an effective rating in this township
    county = await app_client.get("/api/v1/county/charts/grade-distribution.svg", headers=await tokens("county_admin"))
    assert county.status_code == 200 and ET.fromstring(county.content) is not None
    assert (await app_client.get("/api/v1/county/charts/grade-distribution.svg", headers=headers)).status_code == 403


async def _official(household_id: int) -> list[dict]:
    """The household's effective ratings (``official_ratings`` in the household's county)."""
    county = (await fetch("SELECT county_id FROM household WHERE id = {}", household_id))[0]["county_id"]
    return await rating_periods.official_ratings("household", household_id, county)
