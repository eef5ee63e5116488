"""The batch endpoint writes set-based (issue 14 item 1): a clean batch never goes one by one (the
one-by-one function is made to fail, and the batch still records everything), its entries are exactly
the ones the events get when recorded singly in canonical order, a key repeated inside one batch is one
event (another payload under it is refused), and a batch whose set-based transaction meets a photo used meanwhile is rolled back whole and
answered item by item — nothing half-written. The chain verifies after each."""

from __future__ import annotations

import json
from datetime import timedelta

from backend import clock
from backend.db import fetch
from backend.ledger import bulk, chain, services

from .test_idempotency import WORKER, _event, _subjects

TODAY = clock.today()


def _fields(rows: list[dict]) -> list[tuple]:
    return [(r["subject_id"], r["item_code"], r["points"], r["valid_from"], r["valid_until"], r["explanation_zh"])
            for r in rows]


async def _fresh_people(app_client, tokens, n: int) -> list[int]:
    persons = (await _subjects(app_client, tokens))["person"]
    rows = await fetch("""SELECT p FROM unnest({}::int[]) AS p WHERE NOT EXISTS
                          (SELECT 1 FROM credit_event e WHERE e.subject_kind = 'person' AND e.subject_id = p)
                          ORDER BY p DESC LIMIT {}""", persons, n)  # the low ids are other tests' fixed people
    assert len(rows) == n
    return [r["p"] for r in rows]


async def test_a_clean_batch_is_written_at_once_like_single_events(app_client, tokens, monkeypatch):
    people = await _fresh_people(app_client, tokens, 6)
    headers = await tokens(WORKER)
    batch_people, single_people = people[:3], people[3:]
    plan = [(0, 9), (0, 5), (1, 7), (2, 3), (2, 2), (2, 1)]  # (person index, days ago): several events a person

    async def refuse(*args, **kwargs):
        raise AssertionError("a clean batch went one by one")

    repeated = _event("person", batch_people[1], days_ago=4)
    bodies = [_event("person", batch_people[i], days_ago=d) for i, d in plan] + [repeated, dict(repeated)]
    with monkeypatch.context() as m:
        m.setattr(services, "_record", refuse)
        response = await app_client.post("/api/v1/events:batch", json={"events": bodies}, headers=headers)
    assert response.status_code == 200, response.text
    out = response.json()
    assert (out["created"], out["replayed"], out["errors"]) == (7, 1, 0), out
    assert out["results"][-1]["event"]["id"] == out["results"][-2]["event"]["id"]  # one key, one event
    # The same events for other people, one request each, in canonical order: the same entries.
    for i, d in sorted(plan + [(1, 4)], key=lambda p: (p[0], -p[1])):
        r = await app_client.post("/api/v1/events", json=_event("person", single_people[i], days_ago=d), headers=headers)
        assert r.status_code == 201, r.text
    for a, b in zip(batch_people, single_people):
        batched = await fetch("SELECT * FROM ledger_entry WHERE subject_kind = 'person' AND subject_id = {} ORDER BY id", a)
        single = await fetch("SELECT * FROM ledger_entry WHERE subject_kind = 'person' AND subject_id = {} ORDER BY id", b)
        assert [f[1:] for f in _fields(batched)] == [f[1:] for f in _fields(single)], (a, b)
        points = [(await app_client.get(f"/api/v1/persons/{p}/points", headers=headers)).json()["standing"]["score"]
                  for p in (a, b)]
        assert points[0] == points[1]
        assert all(json.loads(r["explanation"])["inputs"]["event_id"] == r["event"] for r in batched)
    assert (await chain.verify()).ok

    # A later batch for the same people, after all they have: the fast form alone (no reconcile of
    # their history, nothing one by one), and still exactly what single requests give.
    later = [(0, 1), (0, 0), (1, 0), (2, 0)]
    with monkeypatch.context() as m:
        m.setattr(services, "_record", refuse)
        m.setattr(bulk, "record_in_order", refuse)
        response = await app_client.post("/api/v1/events:batch", headers=headers, json={
            "events": [_event("person", batch_people[i], days_ago=d) for i, d in later]})
    assert response.status_code == 200 and response.json()["created"] == 4, response.text
    for i, d in sorted(later, key=lambda p: (p[0], -p[1])):
        r = await app_client.post("/api/v1/events", json=_event("person", single_people[i], days_ago=d), headers=headers)
        assert r.status_code == 201, r.text
    for a, b in zip(batch_people, single_people):
        batched = await fetch("SELECT * FROM ledger_entry WHERE subject_kind = 'person' AND subject_id = {} ORDER BY id", a)
        single = await fetch("SELECT * FROM ledger_entry WHERE subject_kind = 'person' AND subject_id = {} ORDER BY id", b)
        assert [f[1:] for f in _fields(batched)] == [f[1:] for f in _fields(single)], (a, b)
        assert all(json.loads(r["explanation"])["inputs"]["event_id"] == r["event"] for r in batched)
    assert (await chain.verify()).ok


async def test_a_batch_that_meets_a_used_photo_is_answered_item_by_item(app_client, tokens):
    from .test_idempotency import _photo

    people = await _fresh_people(app_client, tokens, 2)
    headers = await tokens(WORKER)
    photo = await _photo(app_client, tokens)
    first = _event("person", people[0], item="BLOOD-DONATION", evidence_ids=[photo])
    r = await app_client.post("/api/v1/events", json=first, headers=headers)
    assert r.status_code == 201, r.text
    # The photo is now used: the set-based transaction fails at linking it, rolls back, and each item
    # gets its own answer — the good one created, the one with the used photo refused.
    good = _event("person", people[1])
    reuse = _event("person", people[1], item="BLOOD-DONATION", evidence_ids=[photo], days_ago=3)
    response = await app_client.post("/api/v1/events:batch", json={"events": [good, reuse]}, headers=headers)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["created", "error"], results
    assert results[1]["error"]["code"] == "EVIDENCE_UNKNOWN"
    assert len(await fetch("SELECT id FROM credit_event WHERE idempotency_key = {}", good["idempotency_key"])) == 1
    assert not await fetch("SELECT id FROM credit_event WHERE idempotency_key = {}", reuse["idempotency_key"])
    assert (await chain.verify()).ok


async def test_a_key_used_twice_in_one_batch_with_other_content_is_refused(app_client, tokens):
    person, = await _fresh_people(app_client, tokens, 1)
    first = _event("person", person, days_ago=3)
    other = {**first, "occurred_on": (TODAY - timedelta(days=4)).isoformat()}
    response = await app_client.post("/api/v1/events:batch", json={"events": [first, other]},
                                     headers=await tokens(WORKER))
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["created", "error"]
    assert results[1]["error"]["code"] == "LEDGER_IDEMPOTENCY_CONFLICT"
    assert len(await fetch("SELECT id FROM credit_event WHERE idempotency_key = {}", first["idempotency_key"])) == 1
