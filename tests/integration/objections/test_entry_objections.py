"""异议 on ledger entries (issue 11.1, art. 46) through the HTTP API: filing marks the entry disputed at
once (points view, live standing, a period closed meanwhile, the bank's question), upheld → a
correcting entry, refused → the reasons reach the subject; paper objections by the grid worker;
scope (another township, another grid, a neighbour: 404); the deadlines over National Day 2026 with
the official calendar; the warning and escalation crons under a frozen clock; the on-time report as
JSON, SVG and Excel."""

from __future__ import annotations

import io
import secrets
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from openpyxl import load_workbook
from PIL import Image

from backend import clock
from backend.auth import accounts
from backend.auth.roles import Role
from backend.auth.services import account_actor
from backend.db import fetch
from backend.objections import services
from backend.objections.jobs import escalate_overdue_objections, warn_due_objections
from backend.objections.schemas import DecisionIn, ObjectionFileIn
from backend.ratings import periods as rating_periods
from backend.ratings.compute import compute_households
from backend.registry import protection
from backend.settings import get_settings
from backend.worker import recompute_standing
from dev.seed import DEMO_PASSWORD
from points_rules.workdays import WorkCalendar

TODAY = clock.today()
SHANGHAI = clock.zone()


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((64, 64), 80).convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


async def _login(client, username: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _villager_for(client, person_id: int) -> tuple[dict[str, str], int]:
    """A villager account for ``person_id``: (headers, account id)."""
    cipher = (await fetch("SELECT id_number_cipher FROM person WHERE id = {}", person_id))[0]["id_number_cipher"]
    name = f"villager_obj_{person_id}_{secrets.token_hex(3)}"
    await accounts.create_account(name, DEMO_PASSWORD, Role.VILLAGER,
                                  person_id_number=protection.reveal_id_number(cipher))
    account = (await fetch("SELECT id FROM account WHERE username = {}", name))[0]["id"]
    return await _login(client, name), account


@dataclass
class Home:
    household_id: int
    head: int
    member: int  # another adult of the household, not its head


async def _households(where: str, *args, n: int) -> list[Home]:
    """Households (with a head and another member) matching ``where`` (aliases h, v), not used before."""
    rows = await fetch(
        f"""SELECT h.id, head.person AS head, (SELECT m.person FROM household_membership m
                   WHERE m.household = h.id AND m.valid_to IS NULL AND m.relation <> '户主'
                   ORDER BY m.person LIMIT 1) AS member
            FROM household h JOIN village v ON v.id = h.village
            JOIN household_membership head ON head.household = h.id AND head.valid_to IS NULL
                 AND head.relation = '户主'
            WHERE {where} AND NOT EXISTS (SELECT 1 FROM entry_objection o WHERE o.household_id = h.id)
              AND NOT EXISTS (SELECT 1 FROM ledger_entry le WHERE le.household_id = h.id)
              AND NOT EXISTS (SELECT 1 FROM account a JOIN household_membership am ON am.person = a.person
                              AND am.valid_to IS NULL WHERE am.household = h.id)
            ORDER BY h.id DESC LIMIT 40""", *args)
    homes = [Home(r["id"], r["head"], r["member"]) for r in rows if r["member"] is not None]
    used = set()
    out = []
    for home in homes:  # one household per test: never two tests on one subject
        if home.household_id not in used and len(out) < n:
            used.add(home.household_id)
            out.append(home)
    assert len(out) == n
    return out


@dataclass
class World:
    township: int  # township_admin's
    other_township: int  # township_admin2's
    grids: list[int]  # grid_worker's
    county_admin_id: int
    township_admin_id: int


@pytest.fixture(scope="module")
async def world(app_client, tokens) -> World:
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens("township_admin"))).json()
    me2 = (await app_client.get("/api/v1/auth/me", headers=await tokens("township_admin2"))).json()
    worker = (await app_client.get("/api/v1/auth/me", headers=await tokens("grid_worker"))).json()
    county = (await app_client.get("/api/v1/auth/me", headers=await tokens("county_admin"))).json()
    pool = await create_pool(RedisSettings.from_dsn(get_settings().redis_url))
    await pool.flushdb()  # this run's Redis database only: no job left from an earlier run
    await pool.aclose()
    return World(me["township_id"], me2["township_id"], worker["grid_ids"], county["id"], me["id"])


async def _negative_entry(app_client, tokens, person_id: int, *, admin: str = "township_admin",
                          level: str = "months_2_to_6") -> tuple[int, int]:
    """A reviewed wage-arrears entry for ``person_id`` (−30 unless another level): (event id, entry id)."""
    headers = await tokens(admin)
    photo = await app_client.post("/api/v1/evidence", headers=headers, files={"data": ("p.png", _png(), "image/png")})
    assert photo.status_code == 202, photo.text
    recorded = await app_client.post("/api/v1/events", headers=headers, json={
        "idempotency_key": f"obj-{uuid.uuid4().hex}", "item_code": "WAGE-ARREARS", "subject_kind": "person",
        "subject_id": person_id, "occurred_on": (TODAY - timedelta(days=10)).isoformat(), "level": level,
        "evidence_ids": [photo.json()["id"]]})
    assert recorded.status_code == 201, recorded.text
    event_id = recorded.json()["id"]
    approved = await app_client.post(f"/api/v1/review/events/{event_id}/approve", headers=headers, json={})
    assert approved.status_code == 200, approved.text
    entries = approved.json()["entries"]
    assert len(entries) == 1 and entries[0]["points"] == {"months_2_to_6": "-30.0",
                                                          "over_6_months_or_malicious": "-50.0"}[level]
    return event_id, entries[0]["id"]


async def _queued(kind: str, subject_id: int) -> int:
    pool = await create_pool(RedisSettings.from_dsn(get_settings().redis_url))
    try:
        return sum(1 for j in await pool.queued_jobs()
                   if j.function == "recompute_standing" and tuple(j.args) == (kind, subject_id))
    finally:
        await pool.aclose()


async def _person_score(person_id: int) -> int:
    return (await fetch("SELECT score FROM standing_person WHERE person_id = {}", person_id))[0]["score"]


def _entry(points: dict, entry_id: int) -> dict:
    return next(e for e in points["entries"] if e["id"] == entry_id)


# --- filing, disputed at once, upheld ---------------------------------------------------------------


async def test_filing_disputes_the_entry_at_once_and_upholding_corrects_it(app_client, tokens, world):
    home, neighbour = await _households("v.township = {}", world.township, n=2)
    event_id, entry_id = await _negative_entry(app_client, tokens, home.head)
    await recompute_standing({}, "person", home.head)
    counted = await _person_score(home.head)
    head, _ = await _villager_for(app_client, home.head)
    member, _ = await _villager_for(app_client, home.member)
    stranger, _ = await _villager_for(app_client, neighbour.head)

    before = (await app_client.get("/api/v1/me/points", headers=head)).json()
    assert _entry(before, entry_id)["in_force"] and not _entry(before, entry_id)["disputed"]
    assert before["standing"]["disputed_entries"] == 0

    body = {"entry_id": entry_id, "reason": "我没有拖欠工资，工资已于当月结清，有银行流水为证"}
    assert (await app_client.post("/api/v1/entry-objections", headers=stranger, json=body)).status_code == 404
    refused = await app_client.post("/api/v1/entry-objections", headers=member, json=body)
    assert refused.status_code == 403 and refused.json()["code"] == "OBJECTION_NOT_SUBJECT"  # the head's entry
    both = await app_client.post("/api/v1/entry-objections", headers=head, json={**body, "event_id": event_id})
    assert both.status_code == 400
    queued = await _queued("person", home.head)

    filed = await app_client.post("/api/v1/entry-objections", headers=head, json=body)
    assert filed.status_code == 201, filed.text
    objection = filed.json()
    calendar = WorkCalendar()
    assert objection["status"] == "open" and objection["channel"] == "app"
    assert objection["township_id"] == world.township and objection["event_id"] == event_id
    assert objection["disputed_marked_on"] == objection["filed_on"] == TODAY.isoformat()
    assert objection["mark_by"] == calendar.add_working_days(TODAY, 1).isoformat() and objection["marked_on_time"]
    assert objection["respond_by"] == calendar.add_working_days(TODAY, 7).isoformat()
    assert await _queued("person", home.head) == queued + 1  # the live standing is recomputed at once

    again = await app_client.post("/api/v1/entry-objections", headers=head, json={"event_id": event_id,
                                                                                  "reason": "再次提出"})
    assert again.status_code == 409 and again.json()["code"] == "OBJECTION_ALREADY_OPEN"

    # disputed: out of the points view, the live standing (explained) and the bank's answer
    during = (await app_client.get("/api/v1/me/points", headers=head)).json()
    assert _entry(during, entry_id)["disputed"] and not _entry(during, entry_id)["in_force"]
    assert during["standing"]["disputed_entries"] == 1 and "异议处理中" in during["standing"]["explanation_zh"]
    assert float(during["standing"]["score"]) == float(before["standing"]["score"]) + 30
    await recompute_standing({}, "person", home.head)
    assert await _person_score(home.head) == counted + 300
    live = (await fetch("SELECT explanation_zh FROM standing_household WHERE household_id = {}",
                        home.household_id))[0]["explanation_zh"]
    assert "1条记录正在异议处理中" in live
    rating = (await app_client.get(f"/api/v1/households/{home.household_id}/rating", headers=head)).json()
    assert "异议处理中" in rating["live_explanation_zh"]
    assert await services.household_has_disputed_entries(home.household_id)
    assert not await services.household_has_disputed_entries(neighbour.household_id)

    # another township: neither sees nor decides
    other = await tokens("township_admin2")
    url = f"/api/v1/entry-objections/{objection['id']}"
    assert (await app_client.get(url, headers=other)).status_code == 404
    decision = {"decision": "uphold", "reason": "经核查劳动保障监察记录，工资已结清，原记录有误"}
    assert (await app_client.post(url + "/decide", headers=other, json=decision)).status_code == 404
    listed = (await app_client.get("/api/v1/entry-objections", headers=other)).json()
    assert objection["id"] not in [o["id"] for o in listed["items"]]
    assert (await app_client.get(url, headers=stranger)).status_code == 404
    assert (await app_client.get(url, headers=member)).status_code == 200  # the household sees it
    assert (await app_client.post(url + "/decide", headers=head, json=decision)).status_code == 403

    decided = await app_client.post(url + "/decide", headers=await tokens("township_admin"), json=decision)
    assert decided.status_code == 200, decided.text
    upheld = decided.json()
    assert upheld["status"] == "upheld" and upheld["decided_on_time"] and upheld["correction_entry_id"]
    assert "异议成立" in upheld["correction_explanation_zh"]
    again = await app_client.post(url + "/decide", headers=await tokens("township_admin"), json=decision)
    assert again.status_code == 409 and again.json()["code"] == "OBJECTION_DECIDED"

    after = (await app_client.get("/api/v1/me/points", headers=head)).json()
    original, correction = _entry(after, entry_id), _entry(after, upheld["correction_entry_id"])
    assert original["cancelled"] and not original["disputed"] and not original["in_force"]
    assert correction["reverses_entry"] == entry_id and correction["points"] == "+30.0"
    assert "异议成立" in correction["explanation_zh"] and decision["reason"] in correction["explanation_zh"]
    assert after["standing"]["disputed_entries"] == 0
    assert after["standing"]["score"] == during["standing"]["score"]
    assert not await services.household_has_disputed_entries(home.household_id)
    assert await _queued("person", home.head) >= queued + 2  # and again after the decision

    # the filing and the decision cannot be rewritten, nor the objection deleted
    with pytest.raises(Exception, match="cannot change"):
        await fetch("UPDATE entry_objection SET reason = 'x' WHERE id = {}", objection["id"])
    with pytest.raises(Exception, match="never deleted"):
        await fetch("DELETE FROM entry_objection WHERE id = {}", objection["id"])


# --- paper, refused ---------------------------------------------------------------------------------


async def test_paper_objection_refused_with_reasons_the_subject_sees(app_client, tokens, world):
    (home,) = await _households("h.grid = ANY({})", world.grids, n=1)
    event_id, entry_id = await _negative_entry(app_client, tokens, home.member)
    worker = await tokens("grid_worker")
    photo = await app_client.post("/api/v1/evidence", headers=worker, files={"data": ("f.png", _png(), "image/png")})
    extra = await app_client.post("/api/v1/evidence", headers=worker, files={"data": ("e.png", _png(), "image/png")})
    body = {"event_id": event_id, "reason": "本人不服该记录，已签字", "signed_on": TODAY.isoformat(),
            "form_evidence_id": photo.json()["id"], "evidence_ids": [extra.json()["id"]]}
    future = await app_client.post("/api/v1/entry-objections/paper", headers=worker,
                                   json={**body, "signed_on": (TODAY + timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and future.json()["code"] == "OBJECTION_SIGNED_ON_FUTURE"
    someone_elses = await app_client.post("/api/v1/entry-objections/paper", headers=worker, json={
        **body, "form_evidence_id": (await app_client.post(
            "/api/v1/evidence", headers=await tokens("township_admin"),
            files={"data": ("x.png", _png(), "image/png")})).json()["id"]})
    assert someone_elses.status_code == 422 and someone_elses.json()["code"] == "EVIDENCE_UNKNOWN"

    filed = await app_client.post("/api/v1/entry-objections/paper", headers=worker, json=body)
    assert filed.status_code == 201, filed.text
    objection = filed.json()
    assert objection["channel"] == "paper" and objection["entry_id"] == entry_id
    assert objection["form_evidence_id"] == photo.json()["id"] and objection["evidence_ids"] == [extra.json()["id"]]
    assert objection["signed_on"] == TODAY.isoformat()

    # the photos filed with it: the deciding township and the subject see them, another township does not
    assert await services.photo_visible(await account_actor(world.township_admin_id), extra.json()["id"])
    assert await services.photo_visible(await account_actor(world.township_admin_id), photo.json()["id"])
    other_admin = (await fetch("SELECT id FROM account WHERE username = 'township_admin2'"))[0]["id"]
    assert not await services.photo_visible(await account_actor(other_admin), photo.json()["id"])

    # the villager (the subject) sees it; the worker who captured it too
    villager, _ = await _villager_for(app_client, home.member)
    mine = (await app_client.get("/api/v1/entry-objections", headers=villager)).json()
    assert [o["id"] for o in mine["items"]] == [objection["id"]]
    assert objection["id"] in [o["id"] for o in (await app_client.get("/api/v1/entry-objections",
                                                                     headers=worker)).json()["items"]]
    points = (await app_client.get(f"/api/v1/persons/{home.member}/points", headers=villager)).json()
    assert _entry(points, entry_id)["disputed"]

    reasons = "经核实，劳动保障监察部门出具的认定书合法有效，原记录属实，维持原记录"
    decided = await app_client.post(f"/api/v1/entry-objections/{objection['id']}/decide",
                                    headers=await tokens("county_admin"), json={"decision": "refuse", "reason": reasons})
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "refused" and decided.json()["correction_entry_id"] is None

    seen = (await app_client.get(f"/api/v1/entry-objections/{objection['id']}", headers=villager)).json()
    assert seen["status"] == "refused" and seen["decision_reason"] == reasons and seen["due"] == "decided"
    points = (await app_client.get(f"/api/v1/persons/{home.member}/points", headers=villager)).json()
    assert _entry(points, entry_id)["in_force"] and not _entry(points, entry_id)["disputed"]

    # a new objection may follow a decided one; the form photo serves one objection only
    reused = await app_client.post("/api/v1/entry-objections/paper", headers=worker, json=body)
    assert reused.status_code == 422 and reused.json()["code"] == "EVIDENCE_UNKNOWN"


async def test_no_filing_against_foreign_entries(app_client, tokens, world):
    (far,) = await _households("v.township = {}", world.other_township, n=1)
    _, entry_id = await _negative_entry(app_client, tokens, far.head, admin="township_admin2")
    worker = await tokens("grid_worker")
    photo = await app_client.post("/api/v1/evidence", headers=worker, files={"data": ("f.png", _png(), "image/png")})
    paper = await app_client.post("/api/v1/entry-objections/paper", headers=worker, json={
        "entry_id": entry_id, "reason": "代为提出异议", "signed_on": TODAY.isoformat(),
        "form_evidence_id": photo.json()["id"]})
    assert paper.status_code == 404
    assert (await app_client.post("/api/v1/entry-objections", headers=await tokens("villager"),
                                  json={"entry_id": entry_id, "reason": "不是我的记录"})).status_code == 404
    assert (await app_client.post("/api/v1/entry-objections", headers=await tokens("villager"),
                                  json={"entry_id": 2**62, "reason": "不存在的记录"})).status_code == 404
    assert not await fetch("SELECT 1 FROM entry_objection WHERE entry_id = {}", entry_id)


# --- official rating --------------------------------------------------------------------------------


async def test_a_period_closed_while_disputed_rates_without_the_entry(app_client, tokens, world):
    (home,) = await _households("v.township = {}", world.township, n=1)
    _, entry_id = await _negative_entry(app_client, tokens, home.head, level="over_6_months_or_malicious")
    with_entry = (await compute_households(TODAY, household_ids=[home.household_id])).households[home.household_id]
    head, _ = await _villager_for(app_client, home.head)
    filed = await app_client.post("/api/v1/entry-objections", headers=head,
                                  json={"entry_id": entry_id, "reason": "该记录认定有误"})
    assert filed.status_code == 201, filed.text
    without = (await compute_households(TODAY, household_ids=[home.household_id])).households[home.household_id]
    assert without.score > with_entry.score and without.explanation["disputed_entries"] == 1

    created = await app_client.post("/api/v1/ratings/periods", headers=await tokens("county_admin"), json={
        "code": "O" + secrets.token_hex(5), "name_zh": "异议期间评定", "starts_on": date(TODAY.year, 1, 1).isoformat(),
        "ends_on": TODAY.isoformat()})
    assert created.status_code == 201, created.text
    with clock.frozen(clock.now() + timedelta(days=1)):
        await rating_periods.close_period(await account_actor(world.county_admin_id), created.json()["id"])
    proposal = (await fetch("SELECT * FROM rating_proposal WHERE period = {} AND level = 'household' "
                            "AND subject_id = {}", created.json()["id"], home.household_id))[0]
    assert proposal["computed_score"] == without.score != with_entry.score
    assert "1条记录正在异议处理中" in proposal["explanation_zh"]


# --- deadlines over National Day, warnings, escalation ----------------------------------------------


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


async def test_national_day_2026_deadlines_warning_and_escalation(app_client, tokens, world):
    (home,) = await _households("v.township = {}", world.township, n=1)
    _, entry_id = await _negative_entry(app_client, tokens, home.head)
    _, account = await _villager_for(app_client, home.head)
    villager = await account_actor(account)
    with clock.frozen(_at(date(2026, 9, 30))):  # the day before the holiday (1–7 October)
        filed = await services.file_objection(villager, ObjectionFileIn(entry_id=entry_id, reason="国庆前提出异议"))
    assert filed.filed_on == date(2026, 9, 30)
    assert filed.mark_by == date(2026, 10, 8)  # the holiday skipped
    assert filed.warn_on == date(2026, 10, 13)
    assert filed.respond_by == date(2026, 10, 15)  # 8, 9, Saturday 10 (adjusted workday), 12, 13, 14, 15
    assert WorkCalendar().is_working_day(date(2026, 10, 10)) and date(2026, 10, 10).weekday() == 5

    township = await account_actor(world.township_admin_id)
    county = await account_actor(world.county_admin_id)
    async def stamps() -> dict:
        return (await fetch("SELECT warned_at, escalated_at FROM entry_objection WHERE id = {}", filed.id))[0]

    # the worker's cron functions, called as arq calls them, under a moved clock
    with clock.frozen(_at(date(2026, 10, 12), 8)):
        await warn_due_objections({})
        assert (await stamps())["warned_at"] is None
        soon = await services.list_objections(township, status=None, due="due_soon", limit=50, offset=0)
        assert filed.id not in [o.id for o in soon.items]
    with clock.frozen(_at(date(2026, 10, 13), 8)):
        assert await warn_due_objections({}) >= 1
        assert await warn_due_objections({}) == 0  # once
        soon = await services.list_objections(township, status=None, due="due_soon", limit=50, offset=0)
        assert filed.id in [o.id for o in soon.items]
    with clock.frozen(_at(date(2026, 10, 15), 23)):
        await escalate_overdue_objections({})
        assert (await stamps())["escalated_at"] is None  # due today: not late yet
    with clock.frozen(_at(date(2026, 10, 16), 0)):
        assert await escalate_overdue_objections({}) >= 1
        assert await escalate_overdue_objections({}) == 0
    row = await stamps()
    assert clock.local_date(row["warned_at"]) == date(2026, 10, 13)
    assert clock.local_date(row["escalated_at"]) == date(2026, 10, 16)

    escalated = (await app_client.get("/api/v1/entry-objections?due=escalated",
                                      headers=await tokens("county_admin"))).json()
    assert filed.id in [o["id"] for o in escalated["items"]]
    one = next(o for o in escalated["items"] if o["id"] == filed.id)
    assert one["due"] == "overdue" and one["escalated_at"]
    with clock.frozen(_at(date(2026, 10, 19))):
        late = await services.decide(county, filed.id, DecisionIn(decision="refuse", reason="县级督办后处理：记录属实"))
    assert late.decided_on == date(2026, 10, 19) and late.decided_on_time is False


# --- the on-time report -----------------------------------------------------------------------------


async def test_on_time_report_json_chart_and_excel(app_client, tokens, world):
    """Constructed in August 2026: township 1 — three filed (one decided on time, one late, one
    still open and overdue); township 2 — one filed and decided on time."""
    homes = await _households("v.township = {}", world.township, n=3)
    (far,) = await _households("v.township = {}", world.other_township, n=1)
    other_admin = (await fetch("SELECT id FROM account WHERE username = 'township_admin2'"))[0]["id"]
    filed_on = date(2026, 8, 3)  # a Monday; 7 working days → 12 August
    ids = []
    for person, admin in [(homes[0].head, "township_admin"), (homes[1].head, "township_admin"),
                          (homes[2].head, "township_admin"), (far.head, "township_admin2")]:
        _, entry_id = await _negative_entry(app_client, tokens, person, admin=admin)
        _, account = await _villager_for(app_client, person)
        with clock.frozen(_at(filed_on)):
            ids.append((await services.file_objection(await account_actor(account),
                                                      ObjectionFileIn(entry_id=entry_id, reason="异议"))).id)
    assert {o["respond_by"] for o in await fetch("SELECT respond_by FROM entry_objection WHERE id = ANY({})", ids)} \
        == {date(2026, 8, 12)}
    township, other = await account_actor(world.township_admin_id), await account_actor(other_admin)
    refuse = DecisionIn(decision="refuse", reason="记录属实，维持")
    with clock.frozen(_at(date(2026, 8, 12), 17)):
        await services.decide(township, ids[0], refuse)  # on the deadline day: on time
        await services.decide(other, ids[3], refuse)
    with clock.frozen(_at(date(2026, 8, 13))):
        await services.decide(township, ids[1], refuse)  # a day late

    county = await tokens("county_admin")
    query = "?from=2026-08-01&to=2026-08-31"
    report = await app_client.get("/api/v1/entry-objections/report" + query, headers=county)
    assert report.status_code == 200, report.text
    rows = {r["township_id"]: r for r in report.json()["townships"]}
    one, two = rows[world.township], rows[world.other_township]
    assert (one["filed"], one["decided"], one["decided_on_time"], one["decided_late"], one["open"],
            one["open_overdue"], one["on_time_percent"]) == (3, 2, 1, 1, 1, 1, "50.0")
    assert (two["filed"], two["decided"], two["decided_on_time"], two["open"], two["on_time_percent"]) == \
        (1, 1, 1, 0, "100.0")
    assert all(r["filed"] == 0 for tid, r in rows.items() if tid not in (world.township, world.other_township))
    own = (await app_client.get("/api/v1/entry-objections/report" + query, headers=await tokens("township_admin2")))
    assert [r["township_id"] for r in own.json()["townships"]] == [world.other_township]
    assert (await app_client.get("/api/v1/entry-objections/report" + query,
                                 headers=await tokens("villager"))).status_code == 403
    bad = await app_client.get("/api/v1/entry-objections/report?from=2026-09-01&to=2026-08-01", headers=county)
    assert bad.status_code == 422 and bad.json()["code"] == "OBJECTION_REPORT_RANGE"

    chart = await app_client.get("/api/v1/entry-objections/report.svg" + query, headers=county)
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    svg = ET.fromstring(chart.text)
    assert svg.tag.endswith("svg") and one["township_name"] in chart.text and "http://" not in chart.text.replace(
        "http://www.w3.org/2000/svg", "")
    assert "50" in chart.text

    sheet = await app_client.get("/api/v1/entry-objections/report.xlsx" + query, headers=county)
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(sheet.content)).active
    assert "异议" in ws["A1"].value and "2026年08月01日" in ws["A1"].value
    assert [c.value for c in ws[3]][:3] == ["乡镇代码", "乡镇", "受理异议"]
    by_code = {ws.cell(row=r, column=1).value: r for r in range(4, ws.max_row + 1)}
    r = by_code[one["township_code"]]
    assert isinstance(ws.cell(row=r, column=1).value, str) and ws.cell(row=r, column=1).number_format == "@"
    assert [ws.cell(row=r, column=c).value for c in range(3, 10)] == [3, 2, 1, 1, 1, 1, "50.0%"]


# --- races ------------------------------------------------------------------------------------------


async def test_concurrent_filings_and_decisions_take_effect_once(app_client, tokens, world):
    import asyncio

    from backend.errors import Conflict

    (home,) = await _households("v.township = {}", world.township, n=1)
    event_id, entry_id = await _negative_entry(app_client, tokens, home.head)
    _, account = await _villager_for(app_client, home.head)
    villager = await account_actor(account)
    results = await asyncio.gather(
        services.file_objection(villager, ObjectionFileIn(entry_id=entry_id, reason="同时提出一")),
        services.file_objection(villager, ObjectionFileIn(event_id=event_id, reason="同时提出二")),
        return_exceptions=True)
    filed = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(filed) == 1 and len(refused) == 1
    assert isinstance(refused[0], Conflict) and refused[0].code == "OBJECTION_ALREADY_OPEN"

    township = await account_actor(world.township_admin_id)
    county = await account_actor(world.county_admin_id)
    decisions = await asyncio.gather(
        services.decide(township, filed[0].id, DecisionIn(decision="uphold", reason="乡镇核实后更正")),
        services.decide(county, filed[0].id, DecisionIn(decision="refuse", reason="县级核实后维持")),
        return_exceptions=True)
    done = [d for d in decisions if not isinstance(d, Exception)]
    assert len(done) == 1 and isinstance(next(d for d in decisions if isinstance(d, Exception)), Conflict)
    reversals = await fetch("SELECT count(*) AS n FROM ledger_entry WHERE reverses_entry = {}", entry_id)
    assert reversals[0]["n"] == (1 if done[0].status == "upheld" else 0)
