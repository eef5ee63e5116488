"""Notifications (issue 15) against the real database and the real app, in a county of this module's
own (one township, one village, five one-person households, each person its household's head):

- recording a negative event writes exactly one notice for the person (a replay writes none), with
  the facts in the app and nothing of them outside: the SMS gateway (a real HTTP server on a local
  port) receives only "您有一条新的信用信息，请登录村信查看" — no item name, no points, no note;
- approving and rejecting a pending event notify too (a rejection with its reason);
- a household rating entering publicity notifies every household head of the village once;
  approving again, or a second batch, writes nothing;
- a notice survives Redis being down when its change commits, and the dispatcher sends it later;
- quiet hours hold an SMS until 08:00 Shanghai time (the clock frozen); two dispatchers at once send
  each delivery once;
- a notice is its recipient's alone: another villager (a neighbour, or the demo county's) gets 404
  and never sees it listed; the county's delivery log is access-logged and county-scoped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from piccolo.engine import engine_finder

from backend import clock, jobs
from backend.auth import accounts
from backend.auth.roles import Actor, Role
from backend.auth.services import account_actor
from backend.db import fetch
from backend.ledger import services as ledger
from backend.ledger.schemas import EventIn
from backend.notifications import channels, dispatch, outbox, services
from backend.ratings import periods as rating_periods
from backend.ratings.schemas import ApprovalIn, PeriodIn
from backend.registry import protection
from backend.settings import get_settings
from dev.seed import DEMO_PASSWORD
from points_rules.notifications import CONTENT_FREE
from tests.integration.counties import OwnCounty, own_county
from tests.integration.fieldwork.photos import upload

TODAY = clock.today()
PHONE = "13800138000"
NEGATIVE = "ENV-DUMPING"  # 乱倒垃圾、乱堆乱放: −2 points, needs review and a photo
NEGATIVE_NAME = "乱倒垃圾"
NOTE = "邻居举报屋后堆放建筑垃圾"


@dataclass
class Gateway:
    """A real HTTP SMS gateway on a free local port: records every message it is sent."""

    url: str
    received: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, phone: str) -> list[str]:
        with self.lock:
            return [m["text"] for m in self.received if m["phone"] == phone]


@dataclass
class Place:
    own: OwnCounty
    worker: Actor
    township_admin: Actor
    county_admin: Actor
    headers: dict[str, dict[str, str]]  # worker, township_admin, county_admin, auditor, villager0, villager1

    def person(self, i: int) -> int:
        return self.own.people[i][0]


async def _login(client, username: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
async def place(app_client) -> Place:
    own = await own_county("NT", "通知", 5, birth_seed=30)
    phone = protection.protect_phone(PHONE)
    await fetch("UPDATE person SET phone_cipher = {}, phone_hash = {}, phone_masked = {} WHERE county_id = {} AND id = {}",
                phone.cipher, phone.lookup_hash, phone.masked, own.county, own.people[0][0])
    tag = own.code
    names = {"worker": f"nt_worker_{tag}", "township_admin": f"nt_township_{tag}", "county_admin": f"nt_county_{tag}",
             "auditor": f"nt_auditor_{tag}", "villager0": f"nt_villager0_{tag}", "villager1": f"nt_villager1_{tag}"}
    ids = {
        "worker": await accounts.create_account(names["worker"], DEMO_PASSWORD, Role.GRID_WORKER,
                                                grid_codes=[f"{own.code}g"]),
        "township_admin": await accounts.create_account(names["township_admin"], DEMO_PASSWORD, Role.TOWNSHIP_ADMIN,
                                                        township_code=f"{own.code}t"),
        "county_admin": await accounts.create_account(names["county_admin"], DEMO_PASSWORD, Role.COUNTY_ADMIN,
                                                      county_code=own.code),
        "auditor": await accounts.create_account(names["auditor"], DEMO_PASSWORD, Role.AUDITOR, county_code=own.code),
    }
    for i in (0, 1):
        cipher = (await fetch("SELECT id_number_cipher FROM person WHERE id = {}", own.people[i][0]))[0]["id_number_cipher"]
        ids[f"villager{i}"] = await accounts.create_account(names[f"villager{i}"], DEMO_PASSWORD, Role.VILLAGER,
                                                            person_id_number=protection.reveal_id_number(cipher))
    headers = {role: await _login(app_client, names[role]) for role in ids}
    return Place(own, await account_actor(ids["worker"]), await account_actor(ids["township_admin"]),
                 await account_actor(ids["county_admin"]), headers)


@pytest.fixture(scope="module")
def gateway():
    holder: dict[str, Gateway] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)).decode("utf-8"))
            with holder["g"].lock:
                holder["g"].received.append(body)
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["g"] = Gateway(f"http://127.0.0.1:{server.server_address[1]}/sms")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder["g"]
    server.shutdown()


@pytest.fixture
def daytime(monkeypatch):
    """Quiet hours off (the tests run at any hour; the quiet-hours test sets its own)."""
    settings = dataclasses.replace(get_settings(), notice_quiet_hours=("00:00", "00:00"))
    monkeypatch.setattr(channels, "get_settings", lambda: settings)


@pytest.fixture
def sms_on(monkeypatch, gateway):
    """The SMS channel switched on (pointing at the local gateway), quiet hours off."""
    settings = dataclasses.replace(get_settings(), notice_channels=("logging", "sms"), sms_gateway_url=gateway.url,
                                   notice_quiet_hours=("00:00", "00:00"))
    monkeypatch.setattr(channels, "get_settings", lambda: settings)
    return gateway


async def _record(client, place: Place, person: int, *, item: str = NEGATIVE, key: str | None = None,
                  note: str = NOTE) -> tuple[int, dict]:
    photo = await upload(client, place.headers["worker"])
    body = {"idempotency_key": key or f"nt-{uuid.uuid4().hex[:16]}", "item_code": item, "subject_kind": "person",
            "subject_id": person, "occurred_on": TODAY.isoformat(), "note": note, "evidence_ids": [photo]}
    response = await client.post("/api/v1/events", headers=place.headers["worker"], json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"], body


async def _notices(county_id: int, dedupe_key: str) -> list[dict]:
    return await fetch("SELECT * FROM notice WHERE county_id = {} AND dedupe_key = {} ORDER BY id", county_id, dedupe_key)


async def _deliveries(county_id: int, notice_ids: list[int]) -> list[dict]:
    return await fetch("SELECT * FROM notice_delivery WHERE county_id = {} AND notice = ANY({}) ORDER BY id",
                       county_id, notice_ids)


async def _dispatch_all() -> None:
    while await dispatch.dispatch_once():
        pass


# --- ledger events ------------------------------------------------------------------------------------------------


async def test_a_negative_event_notifies_the_person_once_and_a_replay_writes_nothing(app_client, place):
    event_id, body = await _record(app_client, place, place.person(2))
    notices = await _notices(place.own.county, f"event:{event_id}:recorded")
    assert [(n["recipient_person_id"], n["kind"]) for n in notices] == [(place.person(2), "event_pending")]
    assert NEGATIVE_NAME in notices[0]["body_zh"] and notices[0]["external_text"] == CONTENT_FREE
    replay = await app_client.post("/api/v1/events", headers=place.headers["worker"], json=body)
    assert replay.status_code == 200, replay.text
    assert len(await _notices(place.own.county, f"event:{event_id}:recorded")) == 1
    assert len(await fetch("SELECT id FROM notice WHERE county_id = {} AND ref_kind = 'event' AND ref_id = {}",
                           place.own.county, event_id)) == 1
    # one delivery per enabled external channel (the default: the logging stand-in)
    assert [d["channel"] for d in await _deliveries(place.own.county, [notices[0]["id"]])] == ["logging"]


async def test_the_sms_for_a_negative_event_carries_no_item_name_points_or_note(app_client, place, sms_on):
    event_id, _ = await _record(app_client, place, place.person(0))
    approved = await app_client.post(f"/api/v1/review/events/{event_id}/approve", headers=place.headers["township_admin"],
                                     json={"reason": "经核实属实"})
    assert approved.status_code == 200, approved.text
    (decided,) = await _notices(place.own.county, f"event:{event_id}:approved")
    assert "-2.0" in decided["body_zh"] and NEGATIVE_NAME in decided["body_zh"]  # the facts, in the app
    await _dispatch_all()
    texts = sms_on.to(PHONE)
    assert len(texts) >= 2  # recorded (pending review) and approved
    for text in texts:
        assert text == CONTENT_FREE
        assert NEGATIVE_NAME not in text and "垃圾" not in text and NOTE not in text
        assert not any(ch.isdigit() for ch in text)
    log = await fetch("""SELECT a.* FROM notice_attempt a JOIN notice n ON n.county_id = a.county_id AND n.id = a.notice
                         WHERE a.county_id = {} AND n.ref_id = {} AND a.channel = 'sms'""", place.own.county, event_id)
    assert {(r["outcome"], r["address_masked"], r["text"]) for r in log} == {("sent", "138****8000", CONTENT_FREE)}
    assert len(log) == 2
    # the villager sees what left the platform about them
    mine = (await app_client.get("/api/v1/me/notices/deliveries", headers=place.headers["villager0"])).json()
    sms = [d for d in mine["items"] if d["channel"] == "sms"]
    assert sms and all(d["text"] == CONTENT_FREE and d["address_masked"] == "138****8000" for d in sms)


async def test_a_person_without_a_phone_is_skipped_by_sms(app_client, place, sms_on):
    event_id, _ = await _record(app_client, place, place.person(1))
    (notice,) = await _notices(place.own.county, f"event:{event_id}:recorded")
    await _dispatch_all()
    by_channel = {d["channel"]: d for d in await _deliveries(place.own.county, [notice["id"]])}
    assert by_channel["sms"]["status"] == "skipped" and by_channel["sms"]["last_error"] == "no phone"
    assert by_channel["logging"]["status"] == "sent"


async def test_a_rejected_event_is_notified_with_its_reason(app_client, place):
    event_id, _ = await _record(app_client, place, place.person(1))
    rejected = await app_client.post(f"/api/v1/review/events/{event_id}/reject", headers=place.headers["township_admin"],
                                     json={"reason": "照片不能证明乱倒行为"})
    assert rejected.status_code == 200, rejected.text
    (notice,) = await _notices(place.own.county, f"event:{event_id}:rejected")
    assert notice["kind"] == "event_rejected" and notice["recipient_person_id"] == place.person(1)
    assert "照片不能证明乱倒行为" in notice["body_zh"] and notice["external_text"] == CONTENT_FREE
    inbox = (await app_client.get("/api/v1/me/notices", headers=place.headers["villager1"])).json()
    assert notice["id"] in [n["id"] for n in inbox["items"]]


async def test_a_notice_survives_redis_being_down(app_client, place, monkeypatch, daytime):
    failed: list[str] = []

    async def redis_down():
        failed.append("down")
        raise ConnectionRefusedError("redis is down (test)")

    monkeypatch.setattr(jobs, "_pool", None)
    monkeypatch.setattr(jobs, "_get_pool", redis_down)
    event_id, _ = await _record(app_client, place, place.person(3))
    assert failed, "the change was meant to commit while Redis was down"
    (notice,) = await _notices(place.own.county, f"event:{event_id}:recorded")
    (delivery,) = await _deliveries(place.own.county, [notice["id"]])
    assert delivery["status"] == "pending"
    await _dispatch_all()  # the worker's cron, run directly: PostgreSQL alone holds the work
    (delivery,) = await _deliveries(place.own.county, [notice["id"]])
    assert delivery["status"] == "sent" and delivery["attempts"] == 1
    log = await fetch("SELECT outcome, text FROM notice_attempt WHERE county_id = {} AND delivery = {}",
                      place.own.county, delivery["id"])
    assert log == [{"outcome": "sent", "text": CONTENT_FREE}]


async def test_quiet_hours_hold_an_sms_until_eight_in_shanghai(app_client, place, monkeypatch, gateway):
    settings = dataclasses.replace(get_settings(), notice_channels=("sms",), sms_gateway_url=gateway.url,
                                   notice_quiet_hours=("21:00", "08:00"))
    monkeypatch.setattr(channels, "get_settings", lambda: settings)
    zone = clock.zone()
    evening = datetime.combine(TODAY, time(22, 30), tzinfo=zone)
    tomorrow_eight = datetime.combine(TODAY + timedelta(days=1), time(8, 0), tzinfo=zone)
    photo = await upload(app_client, place.headers["worker"])
    data = EventIn(idempotency_key=f"nt-quiet-{uuid.uuid4().hex[:12]}", item_code="BLOOD-DONATION",
                   subject_kind="person", subject_id=place.person(0), occurred_on=TODAY, evidence_ids=[photo])
    with clock.frozen(evening):
        event, _ = await ledger.record_event(place.worker, data)
        (notice,) = await _notices(place.own.county, f"event:{event.id}:recorded")
        (delivery,) = await _deliveries(place.own.county, [notice["id"]])
        assert delivery["due_at"] == tomorrow_eight
        before = len(gateway.to(PHONE))
        await _dispatch_all()
    with clock.frozen(tomorrow_eight - timedelta(minutes=1)):
        await _dispatch_all()
        assert (await _deliveries(place.own.county, [notice["id"]]))[0]["status"] == "pending"
        assert len(gateway.to(PHONE)) == before
    with clock.frozen(tomorrow_eight):
        await _dispatch_all()
    (delivery,) = await _deliveries(place.own.county, [notice["id"]])
    assert delivery["status"] == "sent" and delivery["sent_at"] == tomorrow_eight
    assert gateway.to(PHONE)[before:] == [CONTENT_FREE]
    # the in-app notice was immediate
    assert notice["created_at"] == evening


async def test_two_dispatchers_at_once_send_each_delivery_once(app_client, place, sms_on):
    async with engine_finder().transaction():
        written = await outbox.write([
            outbox.Draft(place.own.county, place.person(0), f"test:concurrent:{uuid.uuid4().hex}:{i}",
                         outbox.rules.commitment_due(title_zh="守信承诺书", check_on=TODAY)) for i in range(30)])
    assert len(written) == 30
    before = len(sms_on.to(PHONE))
    await asyncio.gather(*(dispatch.dispatch_once(limit=7) for _ in range(4)), _dispatch_all(), _dispatch_all())
    await _dispatch_all()
    rows = await fetch("""SELECT d.id, d.status, (SELECT count(*) FROM notice_attempt a WHERE a.county_id = d.county_id
                                                   AND a.delivery = d.id) AS attempts
                          FROM notice_delivery d WHERE d.county_id = {} AND d.notice = ANY({})""",
                       place.own.county, written)
    assert len(rows) == 60  # logging and sms for each
    assert all(r["status"] == "sent" and r["attempts"] == 1 for r in rows), rows
    assert len(sms_on.to(PHONE)) - before == 30


async def test_writing_a_notice_needs_the_change_s_transaction(app_client):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        await outbox.write([])


# --- ratings publicity -----------------------------------------------------------------------------------------


async def test_publicity_notifies_every_household_head_of_the_village_once(app_client, place):
    period = await rating_periods.create_period(place.county_admin, PeriodIn(
        code=f"NT{uuid.uuid4().hex[:6]}", name_zh="通知测试年度评定", starts_on=TODAY.replace(month=1, day=1),
        ends_on=TODAY - timedelta(days=1)))
    await rating_periods.close_period(place.county_admin, period.id)
    out = await rating_periods.approve(place.township_admin, period.id,
                                       ApprovalIn(level="household", village_id=place.own.village))
    assert out.publicised == len(place.own.people)
    rows = await fetch("SELECT * FROM notice WHERE county_id = {} AND dedupe_key LIKE {} ORDER BY recipient_person_id",
                       place.own.county, f"publicity:{period.id}:%")
    assert sorted(r["recipient_person_id"] for r in rows) == sorted(p for p, _ in place.own.people)
    ends = out.publicity_ends_on
    for r in rows:
        assert r["kind"] == "rating_publicity" and r["link"] == "/rating-objection"
        assert f"{ends.month}月{ends.day}日" in r["body_zh"] and "提出异议" in r["body_zh"]
        assert f"{ends.month}月{ends.day}日" in r["external_text"]
        grade = (await fetch("SELECT grade FROM rating_proposal WHERE county_id = {} AND id = {}",
                             place.own.county, r["ref_id"]))[0]["grade"]
        assert grade not in r["external_text"].replace("村信", "")
    again = await rating_periods.approve(place.township_admin, period.id, ApprovalIn(level="household"))
    assert again.approved == 0
    async with engine_finder().transaction():  # a second batch over the same ratings writes nothing
        assert await outbox.notify_publicity(place.own.county, [r["ref_id"] for r in rows]) == []
    assert len(await fetch("SELECT id FROM notice WHERE county_id = {} AND dedupe_key LIKE {}",
                           place.own.county, f"publicity:{period.id}:%")) == len(place.own.people)


# --- the inbox ------------------------------------------------------------------------------------------------


async def test_the_inbox_reads_and_marks_read(app_client, place):
    me = place.headers["villager1"]
    page = (await app_client.get("/api/v1/me/notices", headers=me, params={"limit": 2})).json()
    assert set(page) == {"items", "total", "limit", "offset", "unread"}
    assert page["limit"] == 2 and page["total"] >= 3 and page["unread"] == page["total"]
    ids = [n["id"] for n in page["items"]]
    assert ids == sorted(ids, reverse=True)
    assert set(page["items"][0]) == {"id", "kind", "title_zh", "body_zh", "link", "created_at", "read_at"}
    first = await app_client.post(f"/api/v1/me/notices/{ids[0]}/read", headers=me)
    assert first.status_code == 200 and first.json()["read_at"] is not None
    again = await app_client.post(f"/api/v1/me/notices/{ids[0]}/read", headers=me)
    assert again.json()["read_at"] == first.json()["read_at"]  # idempotent
    unread = (await app_client.get("/api/v1/me/notices", headers=me, params={"unread_only": "true"})).json()
    assert ids[0] not in [n["id"] for n in unread["items"]] and unread["unread"] == page["unread"] - 1
    done = (await app_client.post("/api/v1/me/notices/read-all", headers=me)).json()
    assert done == {"updated": page["unread"] - 1}
    assert (await app_client.get("/api/v1/me/notices", headers=me)).json()["unread"] == 0


async def test_someone_else_s_notice_is_404_and_never_listed(app_client, place, tokens):
    theirs = (await fetch("SELECT id FROM notice WHERE county_id = {} AND recipient_person_id = {} ORDER BY id LIMIT 1",
                          place.own.county, place.person(1)))[0]["id"]
    for headers in (place.headers["villager0"], await tokens("villager")):  # a neighbour; another county's villager
        response = await app_client.post(f"/api/v1/me/notices/{theirs}/read", headers=headers)
        assert response.status_code == 404, response.text
        listed = (await app_client.get("/api/v1/me/notices", headers=headers, params={"limit": 200})).json()
        assert theirs not in [n["id"] for n in listed["items"]]
    missing = await app_client.post("/api/v1/me/notices/999999999/read", headers=place.headers["villager0"])
    assert missing.status_code == 404
    for role in ("worker", "township_admin", "county_admin", "auditor"):
        assert (await app_client.get("/api/v1/me/notices", headers=place.headers[role])).status_code == 403


async def test_the_county_delivery_log_is_scoped_and_access_logged(app_client, place, tokens):
    response = await app_client.get("/api/v1/notices/deliveries", headers=place.headers["auditor"],
                                    params={"limit": 200})
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] >= 1 and all(r["text"] in ("", CONTENT_FREE) or "公示" in r["text"] for r in page["items"])
    people = {r["person_id"] for r in page["items"]}
    assert people <= {p for p, _ in place.own.people}
    logged = await fetch("""SELECT DISTINCT person_id FROM access_log WHERE county_id = {} AND purpose = 'notice_delivery_log'""",
                         place.own.county)
    assert people <= {r["person_id"] for r in logged}
    sms = (await app_client.get("/api/v1/notices/deliveries", headers=place.headers["county_admin"],
                                params={"channel": "sms", "status": "skipped"})).json()
    assert sms["items"] and all(r["channel"] == "sms" and r["status"] == "skipped" for r in sms["items"])
    # the demo county's admin sees none of this county's rows
    demo = (await app_client.get("/api/v1/notices/deliveries", headers=await tokens("county_admin"),
                                 params={"limit": 200})).json()
    assert not {r["id"] for r in demo["items"]} & {r["id"] for r in page["items"]}
    for role in ("worker", "township_admin", "villager0"):
        assert (await app_client.get("/api/v1/notices/deliveries", headers=place.headers[role])).status_code == 403


# --- commitments ------------------------------------------------------------------------------------------------


async def test_a_commitment_near_its_check_date_is_notified_once(app_client, place):
    me = place.headers["villager0"]
    templates = (await app_client.get("/api/v1/commitment-templates", headers=me)).json()
    signed = await app_client.post("/api/v1/commitments", headers=me, json={
        "idempotency_key": f"nt-cmt-{uuid.uuid4().hex[:12]}", "template_id": templates[0]["id"],
        "subject_kind": "person", "subject_id": place.person(0), "term_months": 1})
    assert signed.status_code == 201, signed.text
    commitment = signed.json()
    check_on = datetime.fromisoformat(commitment["check_on"]).date()
    key = f"commitment:{commitment['id']}:due_soon"
    await services.notify_commitments_due(days=7, today=check_on - timedelta(days=8))
    assert not await _notices(place.own.county, key)  # not yet: more than 7 days ahead
    written = await services.notify_commitments_due(days=7, today=check_on - timedelta(days=3))
    (notice,) = await _notices(place.own.county, key)
    assert notice["id"] in written and notice["recipient_person_id"] == place.person(0)
    assert f"{check_on.month}月{check_on.day}日" in notice["body_zh"] and notice["external_text"] == CONTENT_FREE
    again = await services.notify_commitments_due(days=7, today=check_on - timedelta(days=2))
    assert notice["id"] not in again and len(await _notices(place.own.county, key)) == 1


# --- objections ------------------------------------------------------------------------------------------------


async def test_a_decided_entry_objection_tells_the_objector_once(app_client, place):
    event_id, _ = await _record(app_client, place, place.person(0))
    approved = await app_client.post(f"/api/v1/review/events/{event_id}/approve", headers=place.headers["township_admin"],
                                     json={"reason": "经核实属实"})
    assert approved.status_code == 200, approved.text
    filed = await app_client.post("/api/v1/entry-objections", headers=place.headers["villager0"],
                                  json={"event_id": event_id, "reason": "垃圾不是我家倒的，有邻居作证"})
    assert filed.status_code == 201, filed.text
    objection_id = filed.json()["id"]
    decided = await app_client.post(f"/api/v1/entry-objections/{objection_id}/decide",
                                    headers=place.headers["township_admin"],
                                    json={"decision": "refuse", "reason": "现场照片与村民证言一致"})
    assert decided.status_code == 200, decided.text
    # the objector is the subject: one notice, not two
    (notice,) = await _notices(place.own.county, f"objection:{objection_id}:decided")
    assert notice["recipient_person_id"] == place.person(0) and notice["link"] == f"/objections/{objection_id}"
    assert "不成立" in notice["body_zh"] and "现场照片与村民证言一致" in notice["body_zh"]
    assert NEGATIVE_NAME in notice["body_zh"] and notice["external_text"] == CONTENT_FREE
