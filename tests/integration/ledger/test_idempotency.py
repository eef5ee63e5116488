"""Invariant 4: an idempotency key produces exactly one effect, however often and however
concurrently it is replayed; reusing a key with a different payload is an error. Also the
batch endpoint's per-item results (errors stay per item, late events are accepted).

The property test uses Hypothesis's ``@given`` directly on an ``async def`` test: pytest-asyncio
(1.x) recognises Hypothesis tests and runs every example as a coroutine on the session loop,
so the session-scoped app, its connection pool and the tokens are shared by all examples.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from backend import clock
from backend.auth import tokens as jwt_tokens
from backend.auth.services import load_actor, login
from backend.db import fetch
from backend.ledger import services
from backend.ledger.schemas import MAX_BATCH, EventIn
from dev.seed import DEMO_PASSWORD
from backend.settings import get_settings

TODAY = clock.today()
WORKER = "grid_worker"


# --- helpers ---------------------------------------------------------------------------------------

_cache: dict = {}


async def _subjects(app_client, tokens) -> dict[str, list[int]]:
    """Persons and households in the grid worker's grids (loaded once)."""
    if "subjects" not in _cache:
        me = (await app_client.get("/api/v1/auth/me", headers=await tokens(WORKER))).json()
        grids = sorted(me["grid_ids"])
        rows = await fetch(
            """SELECT m.person, h.id AS household FROM household h
               JOIN household_membership m ON m.household = h.id AND m.valid_to IS NULL
               WHERE h.grid = ANY({}) ORDER BY h.id, m.person""", grids)
        _cache["subjects"] = {"person": sorted({r["person"] for r in rows}),
                              "household": sorted({r["household"] for r in rows})}
        outside = await fetch(
            """SELECT m.person FROM household h
               JOIN household_membership m ON m.household = h.id AND m.valid_to IS NULL
               WHERE NOT (h.grid = ANY({})) ORDER BY m.person LIMIT 1""", grids)
        _cache["outside_person"] = outside[0]["person"]
    return _cache["subjects"]


async def _fresh_person(app_client, tokens) -> int:
    """A person in the worker's grids with no events yet (so points are predictable)."""
    persons = (await _subjects(app_client, tokens))["person"]
    rows = await fetch(
        """SELECT p FROM unnest({}::int[]) AS p
           WHERE NOT EXISTS (SELECT 1 FROM credit_event e WHERE e.subject_kind = 'person' AND e.subject_id = p)
           ORDER BY p DESC LIMIT 1""", persons)
    return rows[0]["p"]


def _key() -> str:
    return uuid.uuid4().hex


def _event(kind: str, subject_id: int, item: str = "COMMITMENT-KEPT", days_ago: int = 2, **extra) -> dict:
    body = {"idempotency_key": _key(), "item_code": item, "subject_kind": kind, "subject_id": subject_id,
            "occurred_on": (TODAY - timedelta(days=days_ago)).isoformat()}
    body.update(extra)
    return body


async def _scalar(sql: str, *args):
    return next(iter((await fetch(sql, *args))[0].values()))


async def _counts() -> tuple[int, int]:
    return (await _scalar("SELECT count(*) FROM credit_event"), await _scalar("SELECT count(*) FROM ledger_entry"))


async def _rows_for_key(key: str) -> list[dict]:
    return await fetch("SELECT * FROM credit_event WHERE idempotency_key = {}", key)


async def _entries_of_event(event_id: int) -> list[int]:
    return [r["id"] for r in await fetch("SELECT id FROM ledger_entry WHERE event = {} ORDER BY id", event_id)]


async def _photo(app_client, tokens) -> int:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (40, 160, 90)).save(buffer, "JPEG")
    response = await app_client.post("/api/v1/evidence", files={"data": ("p.jpg", buffer.getvalue(), "image/jpeg")},
                                     headers=await tokens(WORKER))
    assert response.status_code == 202, response.text
    return response.json()["id"]


async def _standing(app_client, tokens, kind: str, subject_id: int) -> tuple:
    """What the API shows for a subject: person → score, grade and entries; household → its entries."""
    if kind == "person":
        body = (await app_client.get(f"/api/v1/persons/{subject_id}/points", headers=await tokens(WORKER))).json()
        return body["standing"]["score"], body["standing"]["grade"], tuple(e["id"] for e in body["entries"])
    body = (await app_client.get(f"/api/v1/households/{subject_id}/points", headers=await tokens(WORKER))).json()
    return tuple(e["id"] for e in body["household_entries"])


async def _actor(username: str):
    """The same Actor the auth middleware would build, from a real login."""
    pair = await login(get_settings(), username, DEMO_PASSWORD)
    return await load_actor(jwt_tokens.decode_access_token(pair.access_token, settings=get_settings()))


# --- concurrency -----------------------------------------------------------------------------------

async def test_fifty_concurrent_replays_over_http_make_one_event(app_client, tokens):
    person = await _fresh_person(app_client, tokens)
    body = _event("person", person)
    headers = await tokens(WORKER)
    before = await _counts()

    responses = await asyncio.gather(*(app_client.post("/api/v1/events", json=body, headers=headers)
                                       for _ in range(50)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 49 + [201], [r.text for r in responses if r.status_code not in (200, 201)]
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 1
    (event_id,) = ids
    rows = await _rows_for_key(body["idempotency_key"])
    assert [r["id"] for r in rows] == [event_id]
    assert rows[0]["status"] == "counted"
    entries = await _entries_of_event(event_id)
    assert len(entries) == 1
    assert all([e["id"] for e in r.json()["entries"]] == entries for r in responses)
    assert await _counts() == (before[0] + 1, before[1] + 1)
    points = (await app_client.get(f"/api/v1/persons/{person}/points", headers=headers)).json()
    assert points["standing"]["score"] == "1002.0"


async def test_fifty_concurrent_replays_through_the_service_make_one_event(app_client, tokens):
    subjects = await _subjects(app_client, tokens)
    household = subjects["household"][-1]
    actor = await _actor(WORKER)
    data = EventIn(**_event("household", household))
    before = await _counts()

    results = await asyncio.gather(*(services.record_event(actor, data) for _ in range(50)))

    assert sorted(created for _, created in results) == [False] * 49 + [True]
    assert len({event.id for event, _ in results}) == 1
    rows = await _rows_for_key(data.idempotency_key)
    assert len(rows) == 1 and rows[0]["id"] == results[0][0].id
    assert len(await _entries_of_event(rows[0]["id"])) == 1
    assert await _counts() == (before[0] + 1, before[1] + 1)


async def test_one_key_raced_for_different_subjects_creates_one_and_refuses_the_rest(app_client, tokens):
    """Different subjects take different subject locks, so the unique index decides: one wins,
    every other payload is a conflict (never a 500, never a second event). The subjects have no
    history, so the winner's event is exactly one entry (with history, an earlier-dated event may
    also re-score later ones)."""
    rows = await fetch(
        """SELECT p FROM unnest({}::int[]) AS p
           WHERE NOT EXISTS (SELECT 1 FROM credit_event e WHERE e.subject_kind = 'person' AND e.subject_id = p)
           ORDER BY p LIMIT 8""", (await _subjects(app_client, tokens))["person"])
    persons = [r["p"] for r in rows]
    assert len(persons) == 8
    key = _key()
    headers = await tokens(WORKER)
    bodies = [{**_event("person", p), "idempotency_key": key} for p in persons]
    before = await _counts()

    responses = await asyncio.gather(*(app_client.post("/api/v1/events", json=b, headers=headers) for b in bodies))

    assert sorted(r.status_code for r in responses) == [201] + [409] * (len(bodies) - 1), [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"LEDGER_IDEMPOTENCY_CONFLICT"}
    winner = next(r.json() for r in responses if r.status_code == 201)
    rows = await _rows_for_key(key)
    assert [(r["id"], r["subject_id"]) for r in rows] == [(winner["id"], winner["subject_id"])]
    assert await _counts() == (before[0] + 1, before[1] + 1)


# --- conflicts -------------------------------------------------------------------------------------

async def test_reusing_a_key_with_another_payload_is_refused_and_writes_nothing(app_client, tokens):
    person = await _fresh_person(app_client, tokens)
    headers = await tokens(WORKER)
    body = _event("person", person)
    first = await app_client.post("/api/v1/events", json=body, headers=headers)
    assert first.status_code == 201, first.text
    before = await _counts()
    standing = await _standing(app_client, tokens, "person", person)

    variants = [
        {**body, "occurred_on": (TODAY - timedelta(days=5)).isoformat()},
        {**body, "note": "另一条"},
        {**body, "subject_id": (await _subjects(app_client, tokens))["person"][0]},
        {**body, "item_code": "CUSTOMS-REFORM", "subject_kind": "household",
         "subject_id": (await _subjects(app_client, tokens))["household"][0]},
    ]
    for variant in variants:
        response = await app_client.post("/api/v1/events", json=variant, headers=headers)
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "LEDGER_IDEMPOTENCY_CONFLICT"
        batch = await app_client.post("/api/v1/events:batch", json={"events": [variant]}, headers=headers)
        assert batch.status_code == 200
        assert batch.json()["results"][0]["outcome"] == "error"
        assert batch.json()["results"][0]["error"]["code"] == "LEDGER_IDEMPOTENCY_CONFLICT"

    assert await _counts() == before
    assert await _standing(app_client, tokens, "person", person) == standing
    rows = await _rows_for_key(body["idempotency_key"])
    assert len(rows) == 1 and rows[0]["note"] == "" and rows[0]["subject_id"] == person
    # The original payload still replays.
    again = await app_client.post("/api/v1/events", json=body, headers=headers)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]


# --- property: replaying any part of a batch changes nothing ------------------------------------------

# (item, subject kind, needs a photo, quantity)
EVENT_KINDS = [
    ("COMMITMENT-KEPT", "person", False, None),  # counted at once, no evidence
    ("COMMITMENT-KEPT", "household", False, None),
    ("CUSTOMS-REFORM", "household", False, None),  # waits for review: no entries
    ("VOL-HOURS", "person", True, "7.5"),  # evidence required, cumulative tiers
]
event_specs = st.tuples(st.sampled_from(range(len(EVENT_KINDS))), st.integers(0, 10**6), st.integers(0, 25))


@settings(max_examples=15, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(specs=st.lists(event_specs, min_size=1, max_size=6), data=st.data())
async def test_replaying_any_subset_of_a_batch_changes_nothing(app_client, tokens, specs, data):
    subjects = await _subjects(app_client, tokens)
    headers = await tokens(WORKER)
    bodies = []
    for kind_index, pick, days_ago in specs:
        item, kind, needs_photo, quantity = EVENT_KINDS[kind_index]
        extra = {"quantity": quantity} if quantity else {}
        if needs_photo:
            extra["evidence_ids"] = [await _photo(app_client, tokens)]
        pool = subjects[kind]
        bodies.append(_event(kind, pool[pick % len(pool)], item=item, days_ago=days_ago, **extra))

    created = await app_client.post("/api/v1/events:batch", json={"events": bodies}, headers=headers)
    assert created.status_code == 200, created.text
    results = created.json()["results"]
    assert [r["outcome"] for r in results] == ["created"] * len(bodies), results
    event_ids = [r["event"]["id"] for r in results]
    touched = sorted({(b["subject_kind"], b["subject_id"]) for b in bodies})
    counts = await _counts()
    standings = {s: await _standing(app_client, tokens, *s) for s in touched}

    rounds = data.draw(st.lists(st.lists(st.integers(0, len(bodies) - 1), min_size=1, max_size=2 * len(bodies)),
                                min_size=1, max_size=3), label="replay rounds")
    for indices in rounds:
        replay = await app_client.post("/api/v1/events:batch", json={"events": [bodies[i] for i in indices]},
                                       headers=headers)
        assert replay.status_code == 200, replay.text
        out = replay.json()
        assert (out["created"], out["replayed"], out["errors"]) == (0, len(indices), 0), out
        assert [r["outcome"] for r in out["results"]] == ["replayed"] * len(indices)
        assert [r["event"]["id"] for r in out["results"]] == [event_ids[i] for i in indices]
        assert [r["idempotency_key"] for r in out["results"]] == [bodies[i]["idempotency_key"] for i in indices]

    assert await _counts() == counts
    assert {s: await _standing(app_client, tokens, *s) for s in touched} == standings
    for body, event_id in zip(bodies, event_ids):
        assert [r["id"] for r in await _rows_for_key(body["idempotency_key"])] == [event_id]


# --- the batch endpoint ----------------------------------------------------------------------------

async def test_a_batch_over_the_limit_is_refused_whole(app_client, tokens):
    persons = (await _subjects(app_client, tokens))["person"]
    bodies = [_event("person", persons[i % len(persons)]) for i in range(MAX_BATCH + 1)]
    before = await _counts()
    response = await app_client.post("/api/v1/events:batch", json={"events": bodies}, headers=await tokens(WORKER))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "REQUEST_INVALID"
    assert await _counts() == before
    assert await _scalar("SELECT count(*) FROM credit_event WHERE idempotency_key = ANY({})",
                         [b["idempotency_key"] for b in bodies]) == 0


async def test_bad_items_fail_alone_and_the_rest_are_created(app_client, tokens):
    subjects = await _subjects(app_client, tokens)
    good_person, good_household = await _fresh_person(app_client, tokens), subjects["household"][1]
    bodies = [
        _event("person", good_person),
        _event("person", good_person, item="NO-SUCH-ITEM"),
        _event("person", _cache["outside_person"]),  # not in the worker's grids
        _event("person", good_person, days_ago=-1),  # tomorrow
        _event("household", good_household),
    ]
    before = await _counts()
    response = await app_client.post("/api/v1/events:batch", json={"events": bodies}, headers=await tokens(WORKER))
    assert response.status_code == 200, response.text
    out = response.json()
    results = out["results"]
    assert [r["outcome"] for r in results] == ["created", "error", "error", "error", "created"]
    assert [r["error"]["code"] for r in results if r["error"]] == ["RULES_UNKNOWN_ITEM", "NOT_FOUND",
                                                                   "LEDGER_FUTURE_EVENT"]
    assert all(r["error"]["message_zh"] for r in results if r["error"])
    assert (out["created"], out["replayed"], out["errors"]) == (2, 0, 3)
    assert [r["idempotency_key"] for r in results] == [b["idempotency_key"] for b in bodies]
    assert await _counts() == (before[0] + 2, before[1] + 2)
    for body, result in zip(bodies, results):
        rows = await _rows_for_key(body["idempotency_key"])
        assert [r["id"] for r in rows] == ([result["event"]["id"]] if result["outcome"] == "created" else [])


async def test_a_late_event_is_accepted_and_marked_late(app_client, tokens):
    person = await _fresh_person(app_client, tokens)
    on_time, late = _event("person", person, days_ago=3), _event("person", person, days_ago=40)
    response = await app_client.post("/api/v1/events:batch", json={"events": [on_time, late]},
                                     headers=await tokens(WORKER))
    assert response.status_code == 200, response.text
    first, second = (r["event"] for r in response.json()["results"])
    assert (first["late"], second["late"]) == (False, True)
    assert second["status"] == "counted"
    assert [e["points"] for e in second["entries"]] == ["+2.0"]  # late changes nothing about the points
    assert "迟报" in second["entries"][0]["explanation_zh"]
    assert (await fetch("SELECT late FROM credit_event WHERE id = {}", second["id"]))[0]["late"] is True
