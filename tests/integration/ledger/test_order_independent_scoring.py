"""Order-independent scoring through the real app (invariant 9): a two-year scenario with
hand-computed numbers, approvals out of date order and a reversal of the earlier event; the
same set of events in other orders gives the same ledger in force; the review queue shows what
an approval would give, and decides in bulk.

The clock is moved to 2028-02-01 (Beijing) so that events of 2026 and 2027 lie in the past.
"""

from __future__ import annotations

import io
import random
import re
import uuid
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from backend import clock
from backend.auth.services import load_actor, login
from backend.auth import tokens as jwt_tokens
from backend.db import fetch
from backend.ledger import chain, services
from backend.ledger.schemas import EventIn
from dev.seed import DEMO_PASSWORD
from backend.settings import get_settings

LATER = datetime(2028, 2, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ADMIN = "township_admin"


@pytest.fixture
def later():
    with clock.frozen(LATER):
        yield


async def _headers(app_client, username: str) -> dict:
    """A fresh login under the moved clock (sessions expire by the platform's clock)."""
    response = await app_client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _fresh_people(n: int) -> list[int]:
    """People of the township admin's township that nobody has recorded anything about."""
    township = (await _actor(ADMIN)).township_id
    rows = await fetch(
        """SELECT m.person FROM household_membership m JOIN household h ON h.id = m.household
           JOIN grid g ON g.id = h.grid JOIN village v ON v.id = g.village
           WHERE m.valid_to IS NULL AND v.township = {} AND NOT EXISTS
             (SELECT 1 FROM credit_event e WHERE e.subject_kind = 'person' AND e.subject_id = m.person)
           ORDER BY m.person DESC LIMIT {}""", township, n)
    assert len(rows) == n
    return [r["person"] for r in rows]


async def _photo(app_client, headers) -> int:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (random.randrange(256), 90, 30)).save(buffer, "JPEG")
    response = await app_client.post("/api/v1/evidence", files={"data": ("p.jpg", buffer.getvalue(), "image/jpeg")},
                                     headers=headers)
    assert response.status_code == 202, response.text
    return response.json()["id"]


async def _record(app_client, headers, person: int, item: str, day: date, **extra) -> dict:
    body = {"idempotency_key": uuid.uuid4().hex, "item_code": item, "subject_kind": "person", "subject_id": person,
            "occurred_on": day.isoformat(), "evidence_ids": [await _photo(app_client, headers)], **extra}
    response = await app_client.post("/api/v1/events", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _approve(app_client, headers, event_id: int) -> dict:
    response = await app_client.post(f"/api/v1/review/events/{event_id}/approve", json={"reason": "核实无误"},
                                     headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _standing(app_client, headers, person: int, as_of: date) -> tuple[Decimal, str]:
    response = await app_client.get(f"/api/v1/persons/{person}/points", params={"as_of": as_of.isoformat()},
                                    headers=headers)
    assert response.status_code == 200, response.text
    s = response.json()["standing"]
    assert s["as_of"] == as_of.isoformat()
    return Decimal(s["score"]), s["grade"]


async def test_two_year_scenario_with_late_approval_and_reversal(app_client, later):
    headers = await _headers(app_client, ADMIN)
    (person,) = await _fresh_people(1)
    # Honours: provincial +20 (3 years, until 2029-03-01), county +5 (1 year, until 2027-03-15).
    await _record(app_client, headers, person, "HONOUR", date(2026, 3, 1), level="provincial")
    await _record(app_client, headers, person, "HONOUR", date(2026, 3, 15), level="county")
    # Volunteering: 30 h on 2026-04-01 → the 20 h tier, +5 until 2027-04-01. 30 h on 2027-05-01: the
    # first 30 h lapsed, so 30 h are in force → the 20 h tier again, +5 until 2028-05-01.
    await _record(app_client, headers, person, "VOL-HOURS", date(2026, 4, 1), quantity="30")
    again = await _record(app_client, headers, person, "VOL-HOURS", date(2027, 5, 1), quantity="30")
    assert again["entries"][0]["points"] == "+5.0"
    # Two wage arrears of 2–6 months (−30 each, 1 year): June and September 2026. The September one is
    # approved first (−30: nothing before it yet), then June (−30) — which makes September a repeat
    # within June's validity: re-scored to −60 through a reversal and a new entry.
    june = await _record(app_client, headers, person, "WAGE-ARREARS", date(2026, 6, 1), level="months_2_to_6")
    september = await _record(app_client, headers, person, "WAGE-ARREARS", date(2026, 9, 1), level="months_2_to_6")
    first = await _approve(app_client, headers, september["id"])
    assert [e["points"] for e in first["entries"]] == ["-30.0"]
    await _approve(app_client, headers, june["id"])
    sept_entries = (await app_client.get(f"/api/v1/events/{september['id']}", headers=headers)).json()["entries"]
    assert [e["points"] for e in sept_entries] == ["-30.0", "+30.0", "-60.0"]
    assert sept_entries[1]["reverses_entry"] == sept_entries[0]["id"]
    assert sept_entries[2]["explanation_zh"].startswith("因2026年6月1日的同类记录审核通过，重新计分：")
    assert "加倍计分" in sept_entries[2]["explanation_zh"]

    expected = [
        # as of          score   grade   arithmetic (points)
        (date(2026, 5, 1), "1030.0", "AA"),  # 1000 + 20 + 5 + 5
        (date(2026, 10, 1), "940.0", "B"),   # 1030 − 30 − 60
        (date(2027, 3, 20), "935.0", "B"),   # county honour lapsed 03-15: 20 + 5 − 90 = −65
        (date(2027, 6, 2), "965.0", "A"),    # 1st volunteering lapsed 04-01, 2nd from 05-01; June lapsed 06-01:
                                             # 20 + 5 − 60 = −35
        (date(2027, 9, 2), "1025.0", "A"),   # September lapsed 09-01: 20 + 5
        (date(2028, 6, 1), "1020.0", "A"),   # 2nd volunteering lapsed 2028-05-01: 20
    ]
    for as_of, score, grade in expected:
        assert await _standing(app_client, headers, person, as_of) == (Decimal(score), grade), as_of

    # The earlier arrears turns out wrong: reversing it makes September a first offence again (−30).
    june_entry = (await app_client.get(f"/api/v1/events/{june['id']}", headers=headers)).json()["entries"][0]
    reversed_ = await app_client.post(f"/api/v1/review/entries/{june_entry['id']}/reverse",
                                      json={"reason": "经核实工资已按时支付"}, headers=headers)
    assert reversed_.status_code == 201, reversed_.text
    assert reversed_.json()["explanation_zh"] == "更正撤销2026年6月1日“拖欠农民工工资”记录的-30分：经核实工资已按时支付"
    sept_entries = (await app_client.get(f"/api/v1/events/{september['id']}", headers=headers)).json()["entries"]
    assert [e["points"] for e in sept_entries] == ["-30.0", "+30.0", "-60.0", "+60.0", "-30.0"]
    assert sept_entries[4]["explanation_zh"].startswith("因2026年6月1日的同类记录被更正撤销，重新计分：")
    for as_of, score, grade in [(date(2026, 10, 1), "1000.0", "A"),   # 1030 − 30
                                (date(2027, 6, 2), "995.0", "A"),     # 20 + 5 − 30
                                (date(2027, 9, 2), "1025.0", "A")]:
        assert await _standing(app_client, headers, person, as_of) == (Decimal(score), grade), as_of

    # The villager's view: every entry with its explanation, none citing internal numbers.
    points = (await app_client.get(f"/api/v1/persons/{person}/points", params={"as_of": "2026-10-01"},
                                   headers=headers)).json()
    assert all(not re.search(r"第\s*\d+\s*号|编号", e["explanation_zh"]) for e in points["entries"])
    september_rows = [e for e in points["entries"] if e["event_id"] == september["id"]]
    assert [(e["points"], e["cancelled"], e["in_force"]) for e in september_rows] == [
        ("-30.0", True, False), ("+30.0", False, False), ("-60.0", True, False), ("+60.0", False, False),
        ("-30.0", False, True)]   # history kept; only the last one counts on 2026-10-01
    assert (await chain.verify()).ok


async def _actor(username: str):
    pair = await login(get_settings(), username, DEMO_PASSWORD)
    return await load_actor(jwt_tokens.decode_access_token(pair.access_token, settings=get_settings()))


EVENTS = [  # (item, date, extra, needs review)
    ("WAGE-ARREARS", date(2026, 8, 1), {"level": "up_to_2_months"}, True),
    ("WAGE-ARREARS", date(2026, 5, 1), {"level": "months_2_to_6"}, True),
    ("ENV-DUMPING", date(2026, 6, 1), {}, True),
    ("ENV-DUMPING", date(2026, 6, 1), {}, True),
    ("VOL-HOURS", date(2026, 2, 1), {"quantity": Decimal(15)}, False),
    ("VOL-HOURS", date(2027, 3, 1), {"quantity": Decimal(12)}, False),
    ("VOL-HOURS", date(2026, 9, 1), {"quantity": Decimal(40)}, False),
    ("GRID-CLEANUP", date(2026, 7, 3), {"level": "organised", "act_id": "clean-0703"}, False),
    ("HONOUR", date(2026, 7, 3), {"level": "county", "act_id": "clean-0703"}, False),
]


async def _play(person: int, order: list[int], reverse_index: int) -> None:
    """Record every event of EVENTS (keys fixed per event), approve in ``order``, reverse one."""
    admin = await _actor(ADMIN)
    ids = {}
    for i in order:
        item, day, extra, _ = EVENTS[i]
        photo = await _photo_for(admin)
        event, _ = await services.record_event(admin, EventIn(
            idempotency_key=f"order-{person}-{i:02d}", item_code=item, subject_kind="person", subject_id=person,
            occurred_on=day, evidence_ids=[photo], **extra))
        ids[i] = event.id
    for i in reversed(order):
        if EVENTS[i][3]:
            await services.decide(admin, ids[i], approve=True, reason="")
    entry = (await fetch("SELECT id FROM ledger_entry WHERE event = {} AND reverses_entry IS NULL ORDER BY id DESC LIMIT 1",
                         ids[reverse_index]))
    if entry:
        await services.reverse_entry(admin, entry[0]["id"], "更正")


async def _photo_for(actor) -> int:
    from backend.evidence.services import upload

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (random.randrange(256), 10, 10)).save(buffer, "JPEG")
    return (await upload(actor, buffer.getvalue())).id


async def _in_force(person: int) -> Counter:
    """Active entries by content (the event's own key suffix, item, points, validity)."""
    rows = await fetch(
        """SELECT right(ev.idempotency_key, 2) AS k, e.item_code, e.points, e.valid_from, e.valid_until
           FROM ledger_entry e JOIN credit_event ev ON ev.id = e.event
           WHERE e.subject_kind = 'person' AND e.subject_id = {} AND e.reverses_entry IS NULL
             AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.reverses_entry = e.id)""", person)
    return Counter(tuple(r.values()) for r in rows)


async def test_the_same_events_in_other_orders_give_the_same_ledger(app_client, later):
    people = await _fresh_people(4)
    rng = random.Random(8)
    orders = [list(range(len(EVENTS)))] + [rng.sample(range(len(EVENTS)), len(EVENTS)) for _ in range(3)]
    for person, order in zip(people, orders):
        await _play(person, order, reverse_index=1)
    # The idempotency keys differ per person by design; the key suffix names the event.
    states = [await _in_force(p) for p in people]
    assert all(s == states[0] for s in states[1:]), states
    assert states[0]  # something counts
    standings = set()
    for person in people:
        headers = await _headers(app_client, ADMIN)
        standings.add(tuple([await _standing(app_client, headers, person, d)
                             for d in (date(2026, 6, 2), date(2026, 9, 2), date(2027, 3, 2), date(2027, 8, 1))]))
    assert len(standings) == 1
    assert (await chain.verify()).ok


async def test_review_queue_shows_what_approval_would_give_and_decides_in_bulk(app_client, later):
    headers = await _headers(app_client, ADMIN)
    a, b = await _fresh_people(2)
    first = await _record(app_client, headers, a, "WAGE-ARREARS", date(2027, 6, 1), level="up_to_2_months",
                          note="拖欠两名工人工资一个月")
    second = await _record(app_client, headers, a, "WAGE-ARREARS", date(2027, 7, 1), level="up_to_2_months")
    third = await _record(app_client, headers, b, "ENV-DUMPING", date(2027, 7, 2))
    queue = []
    for offset in range(0, 2000, 200):
        page = (await app_client.get("/api/v1/review/events", params={"limit": 200, "offset": offset},
                                     headers=headers)).json()
        queue += page["items"]
        if len(page["items"]) < 200:
            break
    rows = {r["id"]: r for r in queue}
    row = rows[first["id"]]
    assert (row["item_name_zh"], row["level"], row["level_name_zh"], row["note"]) == (
        "拖欠农民工工资", "up_to_2_months", "拖欠2个月及以内", "拖欠两名工人工资一个月")
    assert row["evidence_thumbnails"] == [f"/api/v1/evidence/{first['evidence_ids'][0]}/thumbnail"]
    # Neither is counted yet, so each would be −10 on its own.
    assert (row["points_if_approved"], rows[second["id"]]["points_if_approved"]) == ("-10.0", "-10.0")

    # Bulk: approve the two arrears, reject the dumping with a reason; another township's admin is refused.
    other = await app_client.post("/api/v1/review/events:decide", json={"event_ids": [first["id"]]},
                                  headers=await _headers(app_client, "township_admin2"))
    assert other.status_code == 200 and other.json()["results"][0]["error"]["code"] == "NOT_FOUND"
    response = await app_client.post("/api/v1/review/events:decide", headers=headers, json={
        "event_ids": [second["id"], first["id"]], "reason": "核实",
        "exceptions": [{"event_id": third["id"], "action": "reject", "reason": "照片与事件不符"}]})
    assert response.status_code == 200, response.text
    out = response.json()
    assert (out["approved"], out["rejected"], out["errors"]) == (2, 1, 0)
    # Approved later in the call, June is still the first offence: July is doubled whatever the order.
    july = (await app_client.get(f"/api/v1/events/{second['id']}", headers=headers)).json()
    assert [e["points"] for e in july["entries"]] == ["-10.0", "+10.0", "-20.0"]
    rejected = (await app_client.get(f"/api/v1/events/{third['id']}", headers=headers)).json()
    assert (rejected["status"], rejected["review_reason"], rejected["entries"]) == ("rejected", "照片与事件不符", [])


# --- the property, against the real database ----------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

POOL = [  # events a property example draws from: repeats, tiers across a lapse, caps, one act of two items
    ("WAGE-ARREARS", date(2026, 4, 1), {"level": "up_to_2_months"}),
    ("WAGE-ARREARS", date(2026, 10, 1), {"level": "months_2_to_6"}),
    ("WAGE-ARREARS", date(2027, 2, 1), {"level": "up_to_2_months"}),
    ("VOL-HOURS", date(2026, 3, 1), {"quantity": Decimal(25)}),
    ("VOL-HOURS", date(2026, 11, 1), {"quantity": Decimal(30)}),
    ("VOL-HOURS", date(2027, 6, 1), {"quantity": Decimal(10)}),
    ("GRID-MEDIATION", date(2026, 5, 1), {"level": "mass_incident_averted"}),
    ("GRID-MEDIATION", date(2026, 6, 1), {"level": "major_settled"}),
    ("GRID-MEDIATION", date(2026, 7, 1), {"level": "major_settled"}),
    ("HONOUR", date(2026, 7, 1), {"level": "county", "act_id": "act-0701"}),
    ("GRID-CLEANUP", date(2026, 7, 1), {"level": "organised", "act_id": "act-0701"}),
    ("JUDGMENT-DEFAULTER", date(2026, 8, 1), {}),
]


async def _apply(admin, person: int, chosen: list[int], record_order: list[int], approve_order: list[int],
                 reverse: int | None) -> None:
    ids = {}
    for i in record_order:
        item, day, extra = POOL[chosen[i]]
        event, _ = await services.record_event(admin, EventIn(
            idempotency_key=f"prop-{person}-{i:02d}", item_code=item, subject_kind="person", subject_id=person,
            occurred_on=day, evidence_ids=[await _photo_for(admin)], **extra))
        ids[i] = event
    for i in approve_order:
        if ids[i].status == "pending_review":
            await services.decide(admin, ids[i].id, approve=True, reason="")
    if reverse is not None:
        rows = await fetch("""SELECT e.id FROM ledger_entry e WHERE e.event = {} AND e.reverses_entry IS NULL
                              AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.reverses_entry = e.id)""",
                           ids[reverse].id)
        if rows:
            await services.reverse_entry(admin, rows[0]["id"], "更正")


@settings(max_examples=12, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(chosen=st.lists(st.sampled_from(range(len(POOL))), min_size=1, max_size=6, unique=True), data=st.data())
async def test_property_any_order_of_recording_approval_and_reversal_gives_the_same_ledger(app_client, chosen, data):
    n = len(chosen)
    orders = [(data.draw(st.permutations(range(n))), data.draw(st.permutations(range(n)))) for _ in range(2)]
    reverse = data.draw(st.none() | st.sampled_from(range(n)))
    with clock.frozen(LATER):
        admin = await _actor(ADMIN)
        people = await _fresh_people(2)
        for person, (record_order, approve_order) in zip(people, orders):
            await _apply(admin, person, chosen, list(record_order), list(approve_order), reverse)
        first, second = [await _in_force(p) for p in people]
        assert first == second
        headers = await _headers(app_client, ADMIN)
        for d in (date(2026, 4, 2), date(2026, 7, 2), date(2026, 10, 2), date(2027, 2, 2), date(2027, 6, 2)):
            assert await _standing(app_client, headers, people[0], d) == await _standing(app_client, headers,
                                                                                           people[1], d), d
    assert (await chain.verify()).ok
