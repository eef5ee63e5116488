"""No stale standings (issue 9.4): a computation that read older data never overwrites the
standing a later one wrote, whatever order they finish in; every registry change (a person
changing household, a household moving to another grid or village) recomputes the households it
touched and the villages they left and joined.

Slow computations are simulated by holding the first computation after it has read the
database until the later one has stored its result.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from backend import clock, jobs
from backend.db import fetch
from backend.ratings import recompute
from backend.ratings.compute import compute_households
from backend.worker import recompute_standing

TODAY = clock.today()
WORKER = "grid_worker"


async def _fresh_person(app_client, tokens) -> tuple[int, int, int]:
    """(person, household, township) in the worker's grids with no events recorded yet."""
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens(WORKER))).json()
    rows = await fetch(
        """SELECT m.person, m.household, v.township FROM household h
           JOIN household_membership m ON m.household = h.id AND m.valid_to IS NULL
           JOIN village v ON v.id = h.village
           WHERE h.grid = ANY({}) AND NOT EXISTS (SELECT 1 FROM credit_event e
                 WHERE (e.subject_kind = 'person' AND e.subject_id = m.person)
                    OR (e.subject_kind = 'household' AND e.subject_id = m.household))
           ORDER BY m.person DESC LIMIT 1""", sorted(me["grid_ids"]))
    return rows[0]["person"], rows[0]["household"], rows[0]["township"]


async def _record(app_client, tokens, person: int) -> None:
    body = {"idempotency_key": uuid.uuid4().hex, "item_code": "COMMITMENT-KEPT", "subject_kind": "person",
            "subject_id": person, "occurred_on": (TODAY - timedelta(days=3)).isoformat()}
    response = await app_client.post("/api/v1/events", json=body, headers=await tokens(WORKER))
    assert response.status_code == 201, response.text


async def _stored(person: int, household: int) -> tuple:
    p = (await fetch("SELECT score FROM standing_person WHERE person_id = {}", person))[0]
    h = (await fetch("SELECT score, grade FROM standing_household WHERE household_id = {}", household))[0]
    return p["score"], h["score"], h["grade"]


async def _fresh(person: int, household: int) -> tuple:
    c = await compute_households(TODAY, household_ids=[household])
    return c.persons[person].score, c.households[household].score, c.households[household].grade


def _hold_first_computation(monkeypatch, **match):
    """Patch the computation: the first call matching ``match`` (keyword arguments) reads the
    database, then waits until ``release`` is set before returning what it read."""
    read, release = asyncio.Event(), asyncio.Event()
    real = compute_households

    async def slow(as_of, **kwargs):
        result = await real(as_of, **kwargs)
        if not read.is_set() and all(kwargs.get(k) == v for k, v in match.items()):
            read.set()
            await asyncio.wait_for(release.wait(), timeout=30)
        return result

    monkeypatch.setattr(recompute, "compute_households", slow)
    return read, release


async def test_two_jobs_finishing_out_of_order_leave_the_newer_standing(app_client, tokens, monkeypatch):
    person, household, _ = await _fresh_person(app_client, tokens)
    await recompute_standing({}, "person", person)
    read, release = _hold_first_computation(monkeypatch, household_ids=[household])

    older = asyncio.create_task(recompute_standing({}, "person", person))  # reads the ledger before the change
    await asyncio.wait_for(read.wait(), timeout=30)
    before = await _fresh(person, household)
    await _record(app_client, tokens, person)
    await recompute_standing({}, "person", person)  # the job of the change: reads it, stores first
    newer = await _fresh(person, household)
    assert newer != before and await _stored(person, household) == newer
    release.set()
    await older  # finishes last, with what it read before the change
    assert await _stored(person, household) == newer


async def test_a_full_recompute_that_read_before_a_change_keeps_the_later_job_result(app_client, tokens, monkeypatch):
    person, household, township = await _fresh_person(app_client, tokens)
    await recompute_standing({}, "person", person)
    read, release = _hold_first_computation(monkeypatch, township_id=township)

    full = asyncio.create_task(recompute.full_recompute(township_id=township))
    await asyncio.wait_for(read.wait(), timeout=30)
    await _record(app_client, tokens, person)
    await recompute_standing({}, "person", person)
    newer = await _fresh(person, household)
    release.set()
    await full
    assert await _stored(person, household) == newer
    # The village and township are rolled up from the stored households, the newer one included.
    village = (await fetch("SELECT village_id FROM standing_household WHERE household_id = {}", household))[0]
    stored_village = (await fetch("SELECT households, credit_households FROM standing_village WHERE village_id = {}",
                                  village["village_id"]))[0]
    counted = (await fetch("""SELECT count(*) AS n, count(*) FILTER (WHERE is_credit) AS credit
                              FROM standing_household WHERE village_id = {}""", village["village_id"]))[0]
    assert (stored_village["households"], stored_village["credit_households"]) == (counted["n"], counted["credit"])


# ── registry changes recompute the standing they touch ────────────────────────────────────────


@pytest.fixture
def queued(monkeypatch):
    """The jobs enqueued (instead of sending them to Redis), to be run by the test as the worker would."""
    calls: list[tuple] = []

    async def capture(function: str, *args, job_id: str | None = None) -> bool:
        calls.append((function, *args))
        return True

    monkeypatch.setattr(jobs, "enqueue", capture)
    return calls


async def _run_queued(calls: list[tuple]) -> None:
    for function, *args in calls:
        assert function == "recompute_standing"
        await recompute_standing({}, *args)
    calls.clear()


async def _village_households(village_id: int) -> set[int]:
    rows = await fetch("SELECT household_id FROM standing_household WHERE village_id = {}", village_id)
    return {r["household_id"] for r in rows}


async def _village_count(village_id: int) -> int:
    return (await fetch("SELECT households FROM standing_village WHERE village_id = {}", village_id))[0]["households"]


async def _households_of_township(index: int, min_members: int) -> list[dict]:
    return await fetch(
        """SELECT h.id, h.village, h.grid, v.township FROM household h JOIN village v ON v.id = h.village
           WHERE v.township = (SELECT id FROM township ORDER BY code OFFSET {} LIMIT 1)
             AND (SELECT count(*) FROM household_membership m WHERE m.household = h.id AND m.valid_to IS NULL) >= {}
             AND NOT EXISTS (SELECT 1 FROM household_membership m WHERE m.household = h.id AND m.valid_from >= {})
             AND NOT EXISTS (SELECT 1 FROM party_member_link l WHERE l.household = h.id)  -- keeps the demo's links local
           ORDER BY h.id DESC""", index, min_members, TODAY)


async def test_a_household_moving_to_another_village_leaves_the_old_village_standing(app_client, tokens, queued):
    await recompute.full_recompute()
    mover = (await _households_of_township(0, 1))[0]
    target = (await fetch("""SELECT g.id, g.village, v.township FROM grid g JOIN village v ON v.id = g.village
                             WHERE g.village <> {} ORDER BY g.id LIMIT 1""", mover["village"]))[0]
    old_count, new_count = await _village_count(mover["village"]), await _village_count(target["village"])
    assert mover["id"] in await _village_households(mover["village"])

    response = await app_client.post(f"/api/v1/households/{mover['id']}/residence", headers=await tokens("county_admin"),
                                     json={"grid_id": target["id"], "address": "新址一号", "valid_from": TODAY.isoformat(),
                                           "reason": "迁居"})
    assert response.status_code == 200, response.text
    assert queued == [("recompute_standing", "household", mover["id"])]
    await _run_queued(queued)

    row = (await fetch("SELECT village_id, grid_id, township_id FROM standing_household WHERE household_id = {}",
                       mover["id"]))[0]
    assert (row["village_id"], row["grid_id"], row["township_id"]) == (target["village"], target["id"],
                                                                        target["township"])
    assert mover["id"] not in await _village_households(mover["village"])
    assert await _village_count(mover["village"]) == old_count - 1
    assert await _village_count(target["village"]) == new_count + 1


async def test_a_person_changing_household_recomputes_both_households(app_client, tokens, queued):
    await recompute.full_recompute()
    source = (await _households_of_township(0, 2))[0]
    target = (await _households_of_township(0, 1))[-1]
    person = (await fetch("""SELECT person FROM household_membership WHERE household = {} AND valid_to IS NULL
                             AND relation <> '户主' ORDER BY person LIMIT 1""", source["id"]))[0]["person"]

    response = await app_client.post(f"/api/v1/households/{target['id']}/members", headers=await tokens("county_admin"),
                                     json={"person_id": person, "relation": "其他", "valid_from": TODAY.isoformat(),
                                           "reason": "迁户"})
    assert response.status_code == 200, response.text
    assert sorted(queued) == sorted([("recompute_standing", "household", source["id"]),
                                     ("recompute_standing", "household", target["id"])])
    await _run_queued(queued)

    stored = (await fetch("SELECT household_id FROM standing_person WHERE person_id = {}", person))[0]
    assert stored["household_id"] == target["id"]
    for household in (source["id"], target["id"]):
        fresh = (await compute_households(TODAY, household_ids=[household])).households[household]
        row = (await fetch("SELECT score, grade FROM standing_household WHERE household_id = {}", household))[0]
        assert (row["score"], row["grade"]) == (fresh.score, fresh.grade)
