"""Party activities through the HTTP API: one activity with 30 attendees → 30 events, replay-safe
(replayed, 10 concurrent replays), a late attendee added alone, an attendee outside the recorder's
township refused alone, one photo for all attendees not flagged as reuse, another township's admin
neither sees the activity nor records for this township's branch."""

from __future__ import annotations

import asyncio
import uuid

from backend import clock
from backend.db import fetch
from backend.evidence import services as evidence
from dev.demo_data import COUNTY_CODE
from tests.integration.fieldwork.photos import upload

URL = "/api/v1/party-activities/"
ADMIN, OTHER_ADMIN = "township_admin", "township_admin2"


async def _township_of(username: str) -> int:
    return (await fetch("SELECT township FROM account WHERE username = {}", username))[0]["township"]


async def _people_of(township_id: int, n: int) -> list[int]:
    """Persons of the last households of the township's last village (demo county only)."""
    rows = await fetch(
        """SELECT p.id FROM person p
           JOIN household_membership m ON m.person = p.id AND m.valid_to IS NULL
           JOIN household h ON h.id = m.household JOIN village v ON v.id = h.village
           JOIN township t ON t.id = v.township JOIN county c ON c.id = t.county
           WHERE t.id = {} AND c.code = {}
           ORDER BY v.id DESC, h.id DESC, p.id LIMIT {}""",
        township_id, COUNTY_CODE, n,
    )
    assert len(rows) == n
    return [r["id"] for r in rows]


async def _branch_of(township_id: int) -> int:
    rows = await fetch("""SELECT b.id FROM party_branch b JOIN village v ON v.id = b.village
                          WHERE v.township = {} ORDER BY v.id DESC LIMIT 1""", township_id)
    return rows[0]["id"]


async def _photo(app_client, tokens, user: str) -> int:
    evidence_id = await upload(app_client, await tokens(user))
    assert await evidence.process_evidence(evidence_id) == "ready"
    return evidence_id


def _body(key: str, branch: int, attendees: list[int], photo: int | None) -> dict:
    return {"idempotency_key": key, "branch_id": branch, "kind": "environment_cleanup", "item_code": "GRID-CLEANUP",
            "level": "took_part", "occurred_on": clock.today().isoformat(), "place": "村委会广场",
            "description": "主题党日：党员带头清理河道", "photo_evidence_id": photo, "attendee_person_ids": attendees}


async def _events_of(activity_id: int) -> list[dict]:
    return await fetch("SELECT * FROM credit_event WHERE idempotency_key LIKE {} ORDER BY id",
                       f"party-activity-{activity_id}-person-%")


async def test_thirty_attendees_thirty_events_replay_safe(app_client, tokens):
    township = await _township_of(ADMIN)
    people = await _people_of(township, 31)
    attendees, late = people[:30], people[30]
    outsider = (await _people_of(await _township_of(OTHER_ADMIN), 1))[0]
    branch = await _branch_of(township)
    photo = await _photo(app_client, tokens, ADMIN)
    key = f"pa-{uuid.uuid4().hex[:24]}"
    headers = await tokens(ADMIN)

    first = await app_client.post(URL, json=_body(key, branch, attendees, photo), headers=headers)
    assert first.status_code == 200, first.text
    out = first.json()
    assert (out["created"], out["replayed"], out["errors"]) == (30, 0, 0), out
    activity_id = out["activity"]["id"]
    events = await _events_of(activity_id)
    assert len(events) == 30 and sorted(e["subject_id"] for e in events) == sorted(attendees)
    # One photo for the activity: every attendee's event carries it, none is flagged as a reuse.
    assert all(e["evidence_ids"] == [photo] or e["evidence_ids"] == f"[{photo}]" for e in events)
    assert all(e["flag_reason"] == "" for e in events), [e["flag_reason"] for e in events]

    replay = await app_client.post(URL, json=_body(key, branch, attendees, photo), headers=headers)
    assert replay.status_code == 200 and replay.json()["replayed"] == 30 and replay.json()["created"] == 0
    concurrent = await asyncio.gather(*(app_client.post(URL, json=_body(key, branch, attendees, photo),
                                                        headers=headers) for _ in range(10)))
    assert all(r.status_code == 200 and r.json()["created"] == 0 for r in concurrent), [r.text for r in concurrent]
    assert len(await _events_of(activity_id)) == 30

    # A late attendee and one outside the township: only the late one's event is created.
    more = await app_client.post(URL, json=_body(key, branch, attendees + [late, outsider], photo), headers=headers)
    assert more.status_code == 200, more.text
    results = more.json()["results"]
    assert [r["outcome"] for r in results[-2:]] == ["created", "error"]
    assert results[-1]["error"]["code"] == "NOT_FOUND"
    assert more.json()["replayed"] == 30
    events = await _events_of(activity_id)
    assert len(events) == 31 and outsider not in {e["subject_id"] for e in events}
    assert all(e["flag_reason"] == "" for e in events)

    # The same key with another activity's details is a conflict, nothing written.
    changed = _body(key, branch, attendees, photo) | {"place": "别处"}
    assert (await app_client.post(URL, json=changed, headers=headers)).status_code == 409

    seen = await app_client.get(f"{URL}{activity_id}", headers=headers)
    assert seen.status_code == 200 and len(seen.json()["event_ids"]) == 31
    assert (await app_client.get(f"{URL}{activity_id}", headers=await tokens("county_admin"))).status_code == 200


async def test_another_township_sees_nothing_and_cannot_record(app_client, tokens):
    township = await _township_of(ADMIN)
    attendee = (await _people_of(township, 32))[31]
    branch = await _branch_of(township)
    photo = await _photo(app_client, tokens, ADMIN)
    created = await app_client.post(URL, json=_body(f"pa-{uuid.uuid4().hex[:24]}", branch, [attendee], photo),
                                    headers=await tokens(ADMIN))
    assert created.status_code == 200 and created.json()["created"] == 1, created.text
    activity_id = created.json()["activity"]["id"]

    other = await tokens(OTHER_ADMIN)
    assert (await app_client.get(f"{URL}{activity_id}", headers=other)).status_code == 404
    assert (await app_client.get(f"{URL}{activity_id + 10_000}", headers=other)).status_code == 404
    before = (await fetch("SELECT count(*) AS n FROM party_activity"))[0]["n"]
    foreign = await app_client.post(URL, json=_body(f"pa-{uuid.uuid4().hex[:24]}", branch, [attendee], None),
                                    headers=other)
    assert foreign.status_code == 404 and foreign.json()["code"] == "NOT_FOUND"
    assert (await fetch("SELECT count(*) AS n FROM party_activity"))[0]["n"] == before
    assert (await app_client.post(URL, json=_body("pa-villager-x", branch, [attendee], None),
                                  headers=await tokens("villager"))).status_code == 403


async def test_activity_photo_cannot_serve_another_event(app_client, tokens):
    """The shared-photo path is only for the activity's own attendees: a plain event cannot take it."""
    township = await _township_of(ADMIN)
    people = await _people_of(township, 34)
    branch = await _branch_of(township)
    photo = await _photo(app_client, tokens, ADMIN)
    headers = await tokens(ADMIN)
    done = await app_client.post(URL, json=_body(f"pa-{uuid.uuid4().hex[:24]}", branch, people[32:33], photo),
                                 headers=headers)
    assert done.status_code == 200 and done.json()["created"] == 1, done.text
    plain = await app_client.post("/api/v1/events", headers=headers, json={
        "idempotency_key": f"plain-{uuid.uuid4().hex[:20]}", "item_code": "GRID-CLEANUP", "level": "took_part",
        "subject_kind": "person", "subject_id": people[33], "occurred_on": clock.today().isoformat(),
        "evidence_ids": [photo]})
    assert plain.status_code == 422 and plain.json()["code"] == "EVIDENCE_UNKNOWN", plain.text
    second = await app_client.post(URL, json=_body(f"pa-{uuid.uuid4().hex[:24]}", branch, people[33:34], photo),
                                   headers=headers)
    assert second.status_code == 422 and second.json()["code"] == "FIELDWORK_PHOTO_UNKNOWN", second.text


async def test_grid_worker_records_for_their_village_and_out_of_grid_attendee_is_refused_alone(app_client, tokens):
    """A grid worker records for their village's branch; an attendee of the same village but another
    grid is refused alone (the ledger's scoped write), the others' events are created."""
    worker = await tokens("grid_worker")
    grids = [r["grid"] for r in await fetch(
        """SELECT ga.grid FROM grid_assignment ga JOIN account a ON a.id = ga.account
           WHERE a.username = 'grid_worker' AND ga.valid_to IS NULL ORDER BY ga.grid""")]
    village = (await fetch("SELECT village FROM grid WHERE id = {}", grids[0]))[0]["village"]
    branch = (await fetch("SELECT id FROM party_branch WHERE village = {} ORDER BY id LIMIT 1", village))[0]["id"]

    async def people(where: str, n: int) -> list[int]:
        rows = await fetch(f"""SELECT p.id FROM person p
                               JOIN household_membership m ON m.person = p.id AND m.valid_to IS NULL
                               JOIN household h ON h.id = m.household
                               WHERE h.village = {{}} AND {where} ORDER BY h.id DESC, p.id LIMIT {n}""", village, grids)
        return [r["id"] for r in rows]

    inside = await people("h.grid = ANY({})", 3)
    other_grid = await people("NOT (h.grid = ANY({}))", 1)
    assert len(inside) == 3 and len(other_grid) == 1
    body = _body(f"pa-{uuid.uuid4().hex[:24]}", branch, inside[:1] + other_grid + inside[1:],
                 await _photo(app_client, tokens, "grid_worker"))
    done = await app_client.post(URL, json=body, headers=worker)
    assert done.status_code == 200, done.text
    assert [r["outcome"] for r in done.json()["results"]] == ["created", "error", "created", "created"]
    assert done.json()["results"][1]["error"]["code"] == "NOT_FOUND"
    assert len(await _events_of(done.json()["activity"]["id"])) == 3

    # another village's branch is not the worker's: 404, nothing recorded
    foreign = (await fetch("SELECT id FROM party_branch WHERE village <> {} ORDER BY id LIMIT 1", village))[0]["id"]
    refused = await app_client.post(URL, json=_body(f"pa-{uuid.uuid4().hex[:24]}", foreign, inside[:1], None),
                                    headers=worker)
    assert refused.status_code == 404


async def test_concurrent_first_posts_make_one_activity(app_client, tokens):
    """Ten posts of a new activity at once (a phone retrying on a bad line): one activity, one event each."""
    township = await _township_of(ADMIN)
    attendees = (await _people_of(township, 40))[35:40]
    body = _body(f"pa-{uuid.uuid4().hex[:24]}", await _branch_of(township), attendees,
                 await _photo(app_client, tokens, ADMIN))
    headers = await tokens(ADMIN)
    answers = await asyncio.gather(*(app_client.post(URL, json=body, headers=headers) for _ in range(10)))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200]
    assert {a.json()["activity"]["id"] for a in answers} == {answers[0].json()["activity"]["id"]}
    assert sum(a.json()["created"] for a in answers) == 5 and all(a.json()["errors"] == 0 for a in answers)
    assert len(await _events_of(answers[0].json()["activity"]["id"])) == 5
