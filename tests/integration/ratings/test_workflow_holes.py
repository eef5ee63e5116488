"""A rating workflow without holes (issue 8, point 5).

1. A period is closed only once it has ended (a preview before); period codes are per county, and
   a concurrent create of one code is one 201 and 409s, never a 500.
2. Maker-checker: a grade the checker changed goes back for another look; it is never publicised
   on one person's word.
3. ``finalize`` never makes a rating with an open objection effective; dismissing one objection
   leaves the rating disputed while another is open; objection, decision and re-proposal lock the
   proposal and check its status again, so a race cannot flip an effective rating back.
4. Objections are listed in the caller's jurisdiction with their art. 46 deadlines, stored when
   raised; another township cannot see or decide them (404, as for one that does not exist).
5. A county admin's ``finalize`` and ``recompute`` stay inside their county.

The module closes its own period (ended yesterday) and publicises the households of the demo
villager's village. Checks that must leave no mark run in a transaction that is rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import pytest
from piccolo.engine import engine_finder

from backend import clock
from backend.auth import accounts
from backend.auth.roles import Actor, Role
from backend.auth.services import account_actor
from backend.db import fetch
from backend.errors import Conflict, NotFound
from backend.ratings import periods as rating_periods
from backend.ratings.calendar import work_calendar
from backend.ratings import recompute as rating_recompute
from backend.ratings.schemas import ObjectionIn, PeriodIn, ResolveIn
from backend.ratings.tables import RatingPeriod
from backend.registry import protection
from dev.seed import DEMO_PASSWORD
from backend.registry.tables import County, Grid, Household, Township, Village

TODAY = clock.today()
YESTERDAY = TODAY - timedelta(days=1)
FAR_FUTURE = date(2100, 1, 1)


class _Rollback(Exception):
    """Raised to roll back a transaction opened only to look at what would happen."""


@dataclass
class World:
    period_id: int
    code: str
    county_id: int
    township_id: int
    village_id: int
    villager_household: int
    proposals: dict[int, dict] = field(default_factory=dict)  # household id → its proposal in the village
    returned_household: int = 0


async def _actor(username: str) -> Actor:
    row = (await fetch("SELECT id FROM account WHERE username = {}", username))[0]
    return await account_actor(row["id"])


async def _login(client, username: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _proposal(proposal_id: int) -> dict:
    return (await fetch("SELECT * FROM rating_proposal WHERE id = {}", proposal_id))[0]


async def _log(proposal_id: int) -> list[tuple]:
    rows = await fetch("SELECT * FROM rating_decision WHERE proposal = {} ORDER BY id", proposal_id)
    return [(r["action"], r["from_status"], r["to_status"]) for r in rows]


async def _villager_of(client, household_id: int) -> tuple[dict[str, str], Actor]:
    """A villager account for the head of this household: (headers, actor)."""
    row = (await fetch(
        """SELECT p.id_number_cipher FROM household_membership m JOIN person p ON p.id = m.person
           WHERE m.household = {} AND m.valid_to IS NULL AND m.relation = '户主'""", household_id))[0]
    name = "villager_wf_" + secrets.token_hex(4)
    await accounts.create_account(name, DEMO_PASSWORD, Role.VILLAGER,
                                  person_id_number=protection.reveal_id_number(row["id_number_cipher"]),
                                  display_name="村民")
    return await _login(client, name), await _actor(name)


async def _second_township_admin(client, township_id: int) -> tuple[dict[str, str], int]:
    code = (await fetch("SELECT code FROM township WHERE id = {}", township_id))[0]["code"]
    name = "tadmin_wf_" + secrets.token_hex(4)
    account_id = await accounts.create_account(name, DEMO_PASSWORD, Role.TOWNSHIP_ADMIN, township_code=code,
                                               display_name="复核人")
    return await _login(client, name), account_id


async def _other_county(tag: str) -> dict[str, int]:
    """A second county with one township, village, grid and (empty) household — inside the caller's
    transaction, so it disappears with the rollback."""
    county = (await County.insert(County(code=f"X{tag}", name="另一区")).returning(County.id))[0]["id"]
    township = (await Township.insert(Township(code=f"X{tag}t", name="另一镇", county=county))
                .returning(Township.id))[0]["id"]
    village = (await Village.insert(Village(county_id=county, code=f"X{tag}v", name="另一村", township=township))
               .returning(Village.id))[0]["id"]
    grid = (await Grid.insert(Grid(county_id=county, code=f"X{tag}g", name="另一网格", village=village)).returning(Grid.id))[0]["id"]
    household = (await Household.insert(Household(county_id=county, code=f"X{tag}h", village=village, grid=grid))
                 .returning(Household.id))[0]["id"]
    return {"county": county, "township": township, "village": village, "grid": grid, "household": household}


def _county_admin_of(county_id: int, account_id: int) -> Actor:
    return Actor(kind="account", id=account_id, role=Role.COUNTY_ADMIN, label="other_county_admin", sid="",
                 county_id=county_id)


@pytest.fixture(scope="module")
async def world(app_client, tokens) -> World:
    county_admin = await tokens("county_admin")
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens("township_admin"))).json()
    villager = (await app_client.get("/api/v1/auth/me", headers=await tokens("villager"))).json()
    village_id = (await fetch("SELECT village FROM household WHERE id = {}", villager["household_id"]))[0]["village"]
    code = "W" + secrets.token_hex(6)
    created = await app_client.post("/api/v1/ratings/periods", headers=county_admin, json={
        "code": code, "name_zh": "工作流检查", "starts_on": date(YESTERDAY.year, 1, 1).isoformat(),
        "ends_on": YESTERDAY.isoformat()})
    assert created.status_code == 201, created.text
    period_id = created.json()["id"]
    closed = await app_client.post(f"/api/v1/ratings/periods/{period_id}/close", headers=county_admin)
    assert closed.status_code == 200, closed.text  # ended yesterday: closable today
    county_id = (await fetch("SELECT county FROM rating_period WHERE id = {}", period_id))[0]["county"]
    w = World(period_id, code, county_id, me["township_id"], village_id, villager["household_id"])

    # Publicise the village's households (households need one approver), one returned for re-proposal.
    households = await fetch("""SELECT * FROM rating_proposal WHERE period = {} AND level = 'household'
                                AND village_id = {} ORDER BY id""", period_id, village_id)
    assert len(households) >= 10
    returned = next(p for p in households if p["subject_id"] != w.villager_household)
    approved = await app_client.post(f"/api/v1/ratings/periods/{period_id}/approvals",
                                     headers=await tokens("township_admin"), json={
        "level": "household", "village_id": village_id,
        "exceptions": [{"proposal_id": returned["id"], "action": "return", "reason": "待核实"}]})
    assert approved.status_code == 200, approved.text
    w.returned_household = returned["subject_id"]
    w.proposals = {p["subject_id"]: p for p in await fetch(
        "SELECT * FROM rating_proposal WHERE period = {} AND level = 'household' AND village_id = {} ORDER BY id",
        period_id, village_id)}
    return w


def _neighbours(w: World) -> list[int]:
    """Households of the village other than the villager's and the returned one, publicised."""
    return [h for h, p in w.proposals.items()
            if h not in (w.villager_household, w.returned_household) and p["status"] == "publicised"]


# --- 1. period lifecycle ----------------------------------------------------------------------------------


async def test_a_period_is_closed_only_after_its_end_and_can_be_previewed_before(app_client, tokens):
    headers = await tokens("county_admin")
    ids = []
    try:
        for ends in (TODAY, TODAY + timedelta(days=30)):
            created = await app_client.post("/api/v1/ratings/periods", headers=headers, json={
                "code": "E" + secrets.token_hex(6), "name_zh": "未结束的周期",
                "starts_on": date(TODAY.year, 1, 1).isoformat(), "ends_on": ends.isoformat()})
            assert created.status_code == 201, created.text
            period_id = created.json()["id"]
            ids.append(period_id)
            refused = await app_client.post(f"/api/v1/ratings/periods/{period_id}/close", headers=headers)
            assert refused.status_code == 409, refused.text
            body = refused.json()
            assert body["code"] == "RATINGS_PERIOD_NOT_ENDED" and body["message_zh"] and body["message_en"]
            assert body["details"]["closable_from"] == (ends + timedelta(days=1)).isoformat()

            preview = await app_client.post(f"/api/v1/ratings/periods/{period_id}/preview", headers=headers)
            assert preview.status_code == 200, preview.text
            p = preview.json()
            assert (p["as_of"], p["computed_on"], p["ended"]) == (ends.isoformat(), TODAY.isoformat(), False)
            assert p["households"] > 2000 and p["townships"] >= 3
            assert sum(p["household_grades"].values()) == p["households"]
            assert sum(t["households"] for t in p["by_township"]) == p["households"]
            # nothing written: still open, no proposals, no decisions
            assert (await fetch("SELECT status FROM rating_period WHERE id = {}", period_id))[0]["status"] == "open"
            assert not await fetch("SELECT 1 FROM rating_proposal WHERE period = {}", period_id)
        # only county admins preview, and only their own periods
        assert (await app_client.post(f"/api/v1/ratings/periods/{ids[0]}/preview",
                                      headers=await tokens("township_admin"))).status_code == 403
    finally:
        await fetch("DELETE FROM rating_period WHERE id = ANY({})", ids)  # no proposals: nothing else refers


async def test_the_preview_predicts_what_closing_proposes(app_client):
    admin = await _actor("county_admin")
    with pytest.raises(_Rollback):
        async with engine_finder().transaction():
            created = await rating_periods.create_period(admin, PeriodIn(
                code="P" + secrets.token_hex(6), name_zh="预览检查", starts_on=date(YESTERDAY.year, 1, 1),
                ends_on=YESTERDAY))
            preview = await rating_periods.preview_period(admin, created.id)
            assert preview.ended and preview.as_of == YESTERDAY
            await rating_periods.close_period(admin, created.id)
            rows = await fetch("SELECT level, grade, is_credit, township_id FROM rating_proposal WHERE period = {}",
                               created.id)
            households = [r for r in rows if r["level"] == "household"]
            grades: dict[str, int] = {}
            for r in households:
                grades[r["grade"]] = grades.get(r["grade"], 0) + 1
            assert (preview.households, preview.household_grades) == (len(households), grades)
            assert preview.credit_households == sum(r["is_credit"] for r in households)
            villages = [r for r in rows if r["level"] == "village"]
            assert (preview.villages, preview.credit_villages) == (len(villages), sum(r["is_credit"] for r in villages))
            townships = [r for r in rows if r["level"] == "township"]
            assert (preview.townships, preview.credit_townships) == \
                (len(townships), sum(r["is_credit"] for r in townships))
            with pytest.raises(Conflict) as closed:
                await rating_periods.preview_period(admin, created.id)
            assert closed.value.code == "RATINGS_PERIOD_CLOSED"
            raise _Rollback


async def test_period_codes_are_unique_per_county_not_across_the_platform(world):
    admin = await _actor("county_admin")
    tag = secrets.token_hex(4)
    with pytest.raises(_Rollback):
        async with engine_finder().transaction():
            other = await _other_county(tag)
            outsider = _county_admin_of(other["county"], admin.id)
            data = PeriodIn(code=world.code, name_zh="另一区的同名周期", starts_on=date(YESTERDAY.year, 1, 1),
                            ends_on=YESTERDAY)
            theirs = await rating_periods.create_period(outsider, data)  # the same code, another county
            assert theirs.code == world.code and theirs.id != world.period_id
            with pytest.raises(Conflict) as again:
                await rating_periods.create_period(admin, data)  # the same code in the demo county
            assert again.value.code == "RATINGS_PERIOD_EXISTS"
            raise _Rollback


async def test_concurrent_creates_of_one_code_give_one_period_and_409s(app_client, tokens, monkeypatch):
    """The race forced: every request has checked that the code is free before any of them inserts."""
    headers = await tokens("county_admin")
    code = "C" + secrets.token_hex(6)
    body = {"code": code, "name_zh": "并发创建", "starts_on": date(TODAY.year, 1, 1).isoformat(),
            "ends_on": TODAY.isoformat()}
    n = 6
    everyone_checked = asyncio.Barrier(n)
    real_exists = RatingPeriod.exists

    def exists_then_wait():
        query = real_exists()

        class Checked:
            def where(self, *conditions):
                async def run():
                    found = await query.where(*conditions)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(everyone_checked.wait(), timeout=5)
                    return found
                return run()
        return Checked()

    monkeypatch.setattr(RatingPeriod, "exists", exists_then_wait)
    try:
        answers = await asyncio.gather(*(app_client.post("/api/v1/ratings/periods", headers=headers, json=body)
                                         for _ in range(n)))
        assert sorted(a.status_code for a in answers) == [201] + [409] * (n - 1), [a.text for a in answers]
        assert {a.json()["code"] for a in answers if a.status_code == 409} == {"RATINGS_PERIOD_EXISTS"}
        assert len(await fetch("SELECT id FROM rating_period WHERE code = {}", code)) == 1
    finally:
        await fetch("DELETE FROM rating_period WHERE code = {}", code)


# --- 2. maker-checker ---------------------------------------------------------------------------------------


async def test_a_grade_the_checker_changed_goes_back_for_another_look(app_client, tokens, world):
    url = f"/api/v1/ratings/periods/{world.period_id}/approvals"
    maker_headers = await tokens("township_admin")
    maker = (await fetch("SELECT id FROM account WHERE username = 'township_admin'"))[0]["id"]
    village = (await fetch("""SELECT * FROM rating_proposal WHERE period = {} AND level = 'village'
                              AND subject_id = {}""", world.period_id, world.village_id))[0]
    scope_of = {"level": "village", "village_id": world.village_id}
    first = (await app_client.post(url, headers=maker_headers, json=scope_of)).json()
    assert (first["awaiting_second"], first["publicised"]) == (1, 0)

    checker_headers, checker = await _second_township_admin(app_client, world.township_id)
    new_grade = "none" if village["grade"] == "credit" else "credit"
    changed = await app_client.post(url, headers=checker_headers, json={**scope_of, "exceptions": [
        {"proposal_id": village["id"], "action": "change", "grade": new_grade, "reason": "复核发现严重失信户数有误"}]})
    assert changed.status_code == 200, changed.text
    c = changed.json()
    assert (c["publicised"], c["back_to_check"], c["awaiting_second"], c["changed"], c["publicity_ends_on"]) == \
        (0, 1, 1, 1, None)
    after = await _proposal(village["id"])
    assert (after["status"], after["grade"], after["maker"], after["checker"], after["publicity_starts_on"]) == \
        ("awaiting_second", new_grade, checker, None, None)

    # the checker is now the maker of this grade: they cannot confirm it themselves
    own = (await app_client.post(url, headers=checker_headers, json=scope_of)).json()
    assert (own["not_own_check"], own["publicised"]) == (1, 0)
    # another person (here the first approver) looks at the changed grade and confirms it
    confirmed = (await app_client.post(url, headers=maker_headers, json=scope_of)).json()
    assert (confirmed["publicised"], confirmed["back_to_check"]) == (1, 0)
    final = await _proposal(village["id"])
    assert (final["status"], final["grade"], final["maker"], final["checker"], final["change_reason"]) == \
        ("publicised", new_grade, checker, maker, "复核发现严重失信户数有误")

    rows = await fetch("SELECT * FROM rating_decision WHERE proposal = {} ORDER BY id", village["id"])
    assert [(r["action"], r["from_status"], r["to_status"], r["actor"], r["grade"]) for r in rows] == [
        ("approve", "proposed", "awaiting_second", maker, village["grade"]),
        ("change", "awaiting_second", "awaiting_second", checker, new_grade),
        ("approve", "awaiting_second", "publicised", maker, new_grade),
    ]


# --- 3. objections and finalize -----------------------------------------------------------------------------


async def test_finalize_never_makes_a_rating_with_an_open_objection_effective(app_client, world):
    villager = await _actor("villager")
    mine = world.proposals[world.villager_household]
    clean = world.proposals[_neighbours(world)[0]]
    with pytest.raises(_Rollback):
        async with engine_finder().transaction():
            await rating_periods.object_to(villager, mine["id"], ObjectionIn(reason="我家的志愿服务时长未计入"))
            # the state a lost race (or an older version) could leave: publicised, objection still open
            await fetch("UPDATE rating_proposal SET status = 'publicised' WHERE id = {}", mine["id"])
            assert await rating_periods.finalize(today=FAR_FUTURE) > 0
            assert (await _proposal(mine["id"]))["status"] == "publicised"  # held back by the open objection
            assert (await _proposal(clean["id"]))["status"] == "effective"  # the check does work
            raise _Rollback


async def test_dismissing_one_objection_leaves_the_rating_disputed_while_another_is_open(app_client, tokens, world):
    villager = await tokens("villager")
    admin = await tokens("township_admin")
    mine = world.proposals[world.villager_household]
    before = await _log(mine["id"])
    url = f"/api/v1/ratings/proposals/{mine['id']}/objections"
    first = await app_client.post(url, headers=villager, json={"reason": "我家去年的志愿服务积分未计入"})
    assert first.status_code == 201, first.text
    second = await app_client.post(url, headers=villager, json={"reason": "户主的见义勇为表彰也未计入"})
    assert second.status_code == 201, second.text  # a second objection joins the open one
    assert (await _proposal(mine["id"]))["status"] == "disputed"

    dismissed = await app_client.post(f"/api/v1/ratings/objections/{first.json()['id']}/resolve", headers=admin,
                                      json={"decision": "dismiss", "reason": "志愿服务时长已按记录计入"})
    assert dismissed.status_code == 200, dismissed.text
    d = dismissed.json()
    assert (d["status"], d["proposal_status"], d["decided_on_time"]) == ("dismissed", "disputed", True)
    assert (await _proposal(mine["id"]))["status"] == "disputed"  # the second objection still holds it back
    with pytest.raises(_Rollback):
        async with engine_finder().transaction():
            await rating_periods.finalize(today=FAR_FUTURE)
            assert (await _proposal(mine["id"]))["status"] == "disputed"
            raise _Rollback

    last = await app_client.post(f"/api/v1/ratings/objections/{second.json()['id']}/resolve", headers=admin,
                                 json={"decision": "dismiss", "reason": "表彰记录经核实为他人"})
    assert last.status_code == 200, last.text
    resumed = await _proposal(mine["id"])
    assert (resumed["status"], resumed["publicity_ends_on"]) == ("publicised", mine["publicity_ends_on"])
    assert (await _log(mine["id"]))[len(before):] == [
        ("objection", "publicised", "disputed"), ("objection", "disputed", "disputed"),
        ("objection_dismissed", "disputed", "disputed"), ("objection_dismissed", "disputed", "publicised")]


async def test_an_objection_racing_finalize_cannot_flip_an_effective_rating_back(app_client, world, monkeypatch):
    """The interleaving forced: finalize commits right after object_to checked the proposal (its
    scope and status) and before it writes. Under the row lock the status is checked again."""
    household = _neighbours(world)[1]
    proposal = world.proposals[household]
    headers, _ = await _villager_of(app_client, household)
    # publicity ends today: objections still possible, and finalize "tomorrow" makes it effective
    await fetch("UPDATE rating_proposal SET publicity_ends_on = {} WHERE id = {}", TODAY, proposal["id"])
    checked = rating_periods._proposal_in_scope

    async def checked_then_finalized(*args, **kwargs):
        row = await checked(*args, **kwargs)
        assert row["status"] == "publicised"
        assert await rating_periods.finalize(today=TODAY + timedelta(days=1)) >= 1
        return row

    monkeypatch.setattr(rating_periods, "_proposal_in_scope", checked_then_finalized)
    answer = await app_client.post(f"/api/v1/ratings/proposals/{proposal['id']}/objections", headers=headers,
                                   json={"reason": "公示最后一天提出的异议"})
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "RATINGS_NOT_IN_PUBLICITY"
    assert (await _proposal(proposal["id"]))["status"] == "effective"
    assert not await fetch("SELECT 1 FROM rating_objection WHERE proposal = {}", proposal["id"])
    assert await _log(proposal["id"]) == [("approve", "proposed", "publicised"), ("effective", "publicised", "effective")]


async def test_concurrent_objection_decisions_and_reproposals(app_client, tokens, world):
    # two admins decide one objection at the same moment: one decision, one 409
    household = _neighbours(world)[2]
    proposal = world.proposals[household]
    headers, _ = await _villager_of(app_client, household)
    objection = (await app_client.post(f"/api/v1/ratings/proposals/{proposal['id']}/objections", headers=headers,
                                       json={"reason": "我家的环境卫生加分未计入"})).json()
    resolve_url = f"/api/v1/ratings/objections/{objection['id']}/resolve"
    answers = await asyncio.gather(
        app_client.post(resolve_url, headers=await tokens("township_admin"),
                        json={"decision": "dismiss", "reason": "经核实已计入"}),
        app_client.post(resolve_url, headers=await tokens("county_admin"),
                        json={"decision": "uphold", "reason": "经核实未计入，更正等级", "grade": "AAA"}))
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    decided = [r for r in await _log(proposal["id"]) if r[0].startswith("objection_")]
    assert len(decided) == 1
    assert (await _proposal(proposal["id"]))["status"] == "publicised"

    # two re-proposals of one returned proposal at once: one goes back in the queue, one 409
    returned = world.proposals[world.returned_household]
    url = f"/api/v1/ratings/proposals/{returned['id']}/repropose"
    body = {"grade": returned["computed_grade"], "reason": "户籍已核实"}
    admin = await tokens("township_admin")
    answers = await asyncio.gather(*(app_client.post(url, headers=admin, json=body) for _ in range(3)))
    assert sorted(a.status_code for a in answers) == [200, 409, 409], [a.text for a in answers]
    assert [r for r in await _log(returned["id"]) if r[0] == "repropose"] == [("repropose", "returned", "proposed")]

    # an objection and finalize at the same moment: whichever wins, the two agree
    household = _neighbours(world)[3]
    proposal = world.proposals[household]
    headers, _ = await _villager_of(app_client, household)
    await fetch("UPDATE rating_proposal SET publicity_ends_on = {} WHERE id = {}", TODAY, proposal["id"])
    objected, _ = await asyncio.gather(
        app_client.post(f"/api/v1/ratings/proposals/{proposal['id']}/objections", headers=headers,
                        json={"reason": "公示最后一天提出的异议"}),
        rating_periods.finalize(today=TODAY + timedelta(days=1)))
    status = (await _proposal(proposal["id"]))["status"]
    open_objections = await fetch("SELECT 1 FROM rating_objection WHERE proposal = {} AND status = 'open'",
                                  proposal["id"])
    if objected.status_code == 201:
        assert (status, len(open_objections)) == ("disputed", 1)
    else:
        assert objected.status_code == 409, objected.text
        assert (status, len(open_objections)) == ("effective", 0)


# --- 4. objections listed with their deadlines ----------------------------------------------------------------


async def test_objections_are_listed_in_the_jurisdiction_with_their_deadlines(app_client, tokens, world):
    mine = world.proposals[world.villager_household]
    villager = await _actor("villager")
    # 07:30 in the county is still the day before in UTC: the deadlines count from the local day
    raised = datetime.combine(TODAY, time(7, 30), tzinfo=clock.zone())
    with clock.frozen(raised):
        out = await rating_periods.object_to(villager, mine["id"], ObjectionIn(reason="评定等级与实际不符，请复核"))
    calendar = await work_calendar()
    assert (out.raised_on, out.disputed_marked_on) == (TODAY, TODAY)
    assert out.mark_by == calendar.add_working_days(TODAY, 1)
    assert out.respond_by == calendar.add_working_days(TODAY, 7)
    stored = (await fetch("SELECT * FROM rating_objection WHERE id = {}", out.id))[0]
    assert (stored["raised_on"], stored["mark_by"], stored["respond_by"]) == (TODAY, out.mark_by, out.respond_by)

    def find(page: dict) -> dict | None:
        return next((o for o in page["items"] if o["id"] == out.id), None)

    rid = "wf-" + secrets.token_hex(8)
    listed = await app_client.get("/api/v1/ratings/objections?status=open",
                                  headers={**await tokens("township_admin"), "X-Request-ID": rid})
    assert listed.status_code == 200, listed.text
    row = find(listed.json())
    assert row is not None
    assert (row["raised_on"], row["mark_by"], row["disputed_marked_on"], row["respond_by"]) == (
        TODAY.isoformat(), out.mark_by.isoformat(), TODAY.isoformat(), out.respond_by.isoformat())
    assert (row["marked_on_time"], row["decided_on_time"], row["overdue"], row["proposal_status"],
            row["household_id"]) == (True, None, False, "disputed", world.villager_household)
    assert all(o["status"] == "open" for o in listed.json()["items"])
    logged = await fetch("SELECT * FROM access_log WHERE request_id = {}", rid)
    assert {(r["subject_kind"], r["subject_id"], r["purpose"]) for r in logged} >= \
        {("household", world.villager_household, "rating_objection")}
    assert len(logged) == len(listed.json()["items"])

    # another township: not in its list, and "not yours" is the same 404 as "does not exist"
    other = await tokens("township_admin2")
    assert find((await app_client.get("/api/v1/ratings/objections", headers=other)).json()) is None
    foreign = await app_client.get(f"/api/v1/ratings/objections/{out.id}", headers=other)
    absent = await app_client.get(f"/api/v1/ratings/objections/{2**62}", headers=other)
    assert (foreign.status_code, absent.status_code) == (404, 404)
    assert foreign.json() == absent.json()
    refused = await app_client.post(f"/api/v1/ratings/objections/{out.id}/resolve", headers=other,
                                    json={"decision": "dismiss", "reason": "不在本乡"})
    assert refused.status_code == 404 and refused.json() == absent.json()
    assert (await fetch("SELECT status FROM rating_objection WHERE id = {}", out.id))[0]["status"] == "open"
    # the county sees it; a neighbour does not; a grid worker may not list objections at all
    assert find((await app_client.get("/api/v1/ratings/objections?status=open",
                                      headers=await tokens("county_admin"))).json()) is not None
    neighbour, _ = await _villager_of(app_client, _neighbours(world)[4])
    assert find((await app_client.get("/api/v1/ratings/objections", headers=neighbour)).json()) is None
    assert (await app_client.get(f"/api/v1/ratings/objections/{out.id}", headers=neighbour)).status_code == 404
    assert (await app_client.get("/api/v1/ratings/objections",
                                 headers=await tokens("grid_worker"))).status_code == 403

    # decided a day after the deadline: the villager sees the decision, its reasons, and that it was late
    late = datetime.combine(out.respond_by + timedelta(days=1), time(10, 0), tzinfo=clock.zone())
    with clock.frozen(late):
        await rating_periods.resolve_objection(await _actor("township_admin"), out.id, ResolveIn(
            decision="dismiss", reason="经复核，评定依据充分，维持原等级"))
    seen = await app_client.get(f"/api/v1/ratings/objections/{out.id}", headers=await tokens("villager"))
    assert seen.status_code == 200, seen.text
    s = seen.json()
    assert (s["status"], s["resolution_reason"], s["resolved_on"], s["decided_on_time"], s["overdue"]) == (
        "dismissed", "经复核，评定依据充分，维持原等级", (out.respond_by + timedelta(days=1)).isoformat(), False, False)
    mine_listed = (await app_client.get("/api/v1/ratings/objections?status=dismissed",
                                        headers=await tokens("villager"))).json()
    assert find(mine_listed) is not None
    assert {o["household_id"] for o in mine_listed["items"]} == {world.villager_household}
    assert (await _proposal(mine["id"]))["status"] == "publicised"


# --- 5. county-wide actions stay in the county ----------------------------------------------------------------


async def test_finalize_and_recompute_stay_inside_the_callers_county(app_client, tokens, world):
    headers = await tokens("county_admin")
    admin = await _actor("county_admin")
    tag = secrets.token_hex(4)
    stale = date(2000, 1, 1)
    demo_households = (await fetch("""SELECT count(*) AS n FROM household h JOIN village v ON v.id = h.village
                                      JOIN township t ON t.id = v.township WHERE t.county = {}""",
                                   world.county_id))[0]["n"]
    with pytest.raises(_Rollback):
        async with engine_finder().transaction():
            other = await _other_county(tag)
            await fetch("""INSERT INTO standing_household (county_id, household_id, village_id, township_id, grid_id,
                           score, grade, is_credit, serious_dishonesty, catalogue_version, as_of, explanation_zh)
                           VALUES ({}, {}, {}, {}, {}, 123, 'AA', true, false, 'old', {}, '旧的')""",
                        other["county"], other["household"], other["village"], other["township"], other["grid"], stale)
            theirs = await rating_periods.create_period(_county_admin_of(other["county"], admin.id), PeriodIn(
                code=world.code, name_zh="另一区", starts_on=date(YESTERDAY.year, 1, 1), ends_on=YESTERDAY))
            proposal = (await fetch(
                """INSERT INTO rating_proposal (county_id, period, level, subject_id, township_id, village_id,
                   computed_grade, grade, is_credit, status, explanation_zh, explanation, catalogue_version,
                   publicity_starts_on, publicity_ends_on) VALUES ({}, {}, 'household', {}, {}, {}, 'A', 'A', true,
                   'publicised', '', {}::jsonb, 'old', {}, {}) RETURNING id""",
                other["county"], theirs.id, other["household"], other["township"], other["village"], "{}", stale, stale))[0]["id"]

            # the demo county admin's finalize and recompute, through the API
            finalized = await app_client.post("/api/v1/ratings/finalize", headers=headers)
            assert finalized.status_code == 200, finalized.text
            assert (await _proposal(proposal))["status"] == "publicised"
            recomputed = await app_client.post("/api/v1/ratings/recompute", headers=headers)
            assert recomputed.status_code == 200, recomputed.text
            assert recomputed.json()["households"] == demo_households
            untouched = (await fetch("SELECT * FROM standing_household WHERE household_id = {}",
                                     other["household"]))[0]
            assert (untouched["score"], untouched["as_of"], untouched["explanation_zh"]) == (123, stale, "旧的")
            elsewhere = await app_client.post(f"/api/v1/ratings/recompute?township_id={other['township']}",
                                              headers=headers)
            assert elsewhere.status_code == 404, elsewhere.text
            with pytest.raises(NotFound):
                await rating_recompute.county_recompute(world.county_id, township_id=other["township"])

            # the other county's own recompute and the system's daily finalize do reach it (the checks work)
            assert (await rating_recompute.county_recompute(other["county"])).households == 1
            assert (await fetch("SELECT as_of FROM standing_household WHERE household_id = {}",
                                other["household"]))[0]["as_of"] != stale
            await rating_periods.finalize()
            assert (await _proposal(proposal))["status"] == "effective"
            raise _Rollback
