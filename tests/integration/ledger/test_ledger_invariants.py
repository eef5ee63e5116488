"""Invariants 1–3 of the ledger, against the real database:

1. ledger rows are never updated or deleted (the database refuses, not only the code);
   corrections are reversing entries that point at the original;
2. a subject's score is the base plus the points of its in-force entries, recomputable in SQL;
3. the hash chain verifies, and a changed or missing row is found by ``verify`` and the CLI.

Refused statements run on a separate connection inside a transaction that is always rolled
back, so a missing trigger fails the test without damaging the shared session database. The
tampering test works on its own throw-away database, through subprocesses.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import subprocess
import sys
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from PIL import Image

from backend import clock
from backend.db import fetch
from backend.dbadmin import server_sql, with_database
from backend.ledger import chain
from tests.integration.refusals import refused

TODAY = clock.today()
WORKER = "grid_worker"
PROJECT_ROOT = Path(__file__).resolve().parents[3]


# --- helpers ---------------------------------------------------------------------------------------

async def _worker_persons(app_client, tokens) -> list[int]:
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens(WORKER))).json()
    rows = await fetch(
        """SELECT m.person FROM household h
           JOIN household_membership m ON m.household = h.id AND m.valid_to IS NULL
           WHERE h.grid = ANY({}) ORDER BY m.person""", sorted(me["grid_ids"]))
    return [r["person"] for r in rows]


async def _fresh_person(app_client, tokens) -> int:
    """A person in the worker's grids nobody has recorded anything about yet."""
    rows = await fetch(
        """SELECT p FROM unnest({}::int[]) AS p WHERE NOT EXISTS
           (SELECT 1 FROM credit_event e WHERE e.subject_kind = 'person' AND e.subject_id = p)
           ORDER BY p LIMIT 1""", await _worker_persons(app_client, tokens))
    return rows[0]["p"]


async def _record(app_client, tokens, person: int, item: str = "COMMITMENT-KEPT", **extra) -> dict:
    body = {"idempotency_key": uuid.uuid4().hex, "item_code": item, "subject_kind": "person",
            "subject_id": person, "occurred_on": (TODAY - timedelta(days=4)).isoformat(), **extra}
    response = await app_client.post("/api/v1/events", json=body, headers=await tokens(WORKER))
    assert response.status_code == 201, response.text
    return response.json()


async def _photo(app_client, tokens) -> int:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (120, 20, 200)).save(buffer, "JPEG")
    response = await app_client.post("/api/v1/evidence", files={"data": ("p.jpg", buffer.getvalue(), "image/jpeg")},
                                     headers=await tokens(WORKER))
    assert response.status_code == 202, response.text
    return response.json()["id"]


async def _score(app_client, tokens, person: int, as_user: str = "county_admin") -> Decimal:
    response = await app_client.get(f"/api/v1/persons/{person}/points", headers=await tokens(as_user))
    assert response.status_code == 200, response.text
    return Decimal(response.json()["standing"]["score"])


async def _reverse(app_client, tokens, entry_id: int, user: str = "township_admin"):
    return await app_client.post(f"/api/v1/review/entries/{entry_id}/reverse", json={"reason": "录入有误，予以冲正"},
                                 headers=await tokens(user))


async def _entry_count() -> int:
    return (await fetch("SELECT count(*) AS n FROM ledger_entry"))[0]["n"]


async def _accepted(sql: str, *args) -> list:
    """Run ``sql`` in a rolled-back transaction and return its rows (it must succeed)."""
    conn = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            return await conn.fetch(sql, *args)
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


# --- invariant 1: append-only in the database ------------------------------------------------------

async def test_the_database_refuses_to_change_or_delete_ledger_entries(app_client, tokens):
    event = await _record(app_client, tokens, await _fresh_person(app_client, tokens))
    entry_id = event["entries"][0]["id"]
    for sql in (f"UPDATE ledger_entry SET points = points + 10 WHERE id = {entry_id}",
                f"UPDATE ledger_entry SET reason = 'x' WHERE id = {entry_id}",
                f"DELETE FROM ledger_entry WHERE id = {entry_id}",
                "DELETE FROM ledger_entry",
                "TRUNCATE ledger_entry"):
        refusal = await refused(sql)
        assert isinstance(refusal, asyncpg.InsufficientPrivilegeError), (sql, refusal)
        assert "append-only" in str(refusal)
    row = (await fetch("SELECT points, reason FROM ledger_entry WHERE id = {}", entry_id))[0]
    assert (row["points"], row["reason"]) == (20, "")


# Every column of credit_event except the review workflow's own.
NON_REVIEW_CHANGES = {
    "item_code": "item_code = 'HONOUR'",
    "subject_kind": "subject_kind = 'organisation'",
    "subject_id": "subject_id = subject_id + 1",
    "occurred_on": "occurred_on = occurred_on - 1",
    "recorded_on": "recorded_on = recorded_on - 1",
    "quantity": "quantity = 99",
    "level": "level = 'national'",
    "act_id": "act_id = 'other-act'",
    "note": "note = '改过'",
    "payload_hash": "payload_hash = md5('x')",
    "idempotency_key": "idempotency_key = 'replaced-key'",
    "recorded_by": "recorded_by = (SELECT id FROM account WHERE username = 'county_admin')",
    "created_at": "created_at = created_at - interval '1 day'",
    "catalogue_version": "catalogue_version = '2026.1'",
    "evidence_ids": "evidence_ids = '[424242]'::jsonb",
    "late": "late = NOT late",
    "person_id": "person_id = coalesce(person_id, 0) + 1",  # NULL for a household event
    "household_id": "household_id = household_id + 1",
    "township_id": "township_id = township_id + 1",
    "grid_id": "grid_id = grid_id + 1",
}


async def _pending_event(app_client, tokens) -> dict:
    grids = sorted((await app_client.get("/api/v1/auth/me", headers=await tokens(WORKER))).json()["grid_ids"])
    household = (await fetch("SELECT max(id) AS id FROM household WHERE grid = ANY({})", grids))[0]["id"]
    body = {"idempotency_key": uuid.uuid4().hex, "item_code": "CUSTOMS-REFORM", "subject_kind": "household",
            "subject_id": household, "occurred_on": (TODAY - timedelta(days=2)).isoformat()}
    response = await app_client.post("/api/v1/events", json=body, headers=await tokens(WORKER))
    assert response.status_code == 201 and response.json()["status"] == "pending_review", response.text
    return response.json()


@pytest.mark.parametrize("column", sorted(NON_REVIEW_CHANGES))
async def test_credit_event_refuses_changes_outside_the_review_columns(app_client, tokens, column):
    event = await _pending_event(app_client, tokens)
    refusal = await refused(f"UPDATE credit_event SET {NON_REVIEW_CHANGES[column]} WHERE id = $1", event["id"])
    assert isinstance(refusal, asyncpg.InsufficientPrivilegeError), refusal
    assert "review columns" in str(refusal)


async def test_credit_event_refuses_delete_but_accepts_a_review_decision(app_client, tokens):
    event = await _pending_event(app_client, tokens)
    for sql in ("DELETE FROM credit_event WHERE id = $1", "DELETE FROM credit_event WHERE id = $1 OR id > $1"):
        refusal = await refused(sql, event["id"])
        assert isinstance(refusal, asyncpg.InsufficientPrivilegeError) and "never deleted" in str(refusal)
    assert isinstance(await refused("TRUNCATE credit_event"), asyncpg.InsufficientPrivilegeError)
    rows = await _accepted(
        """UPDATE credit_event SET status = 'rejected', review_reason = '材料不全', reviewed_at = now(),
           reviewed_by = (SELECT id FROM account WHERE username = 'township_admin'), flag_reason = '复核'
           WHERE id = $1 RETURNING status, review_reason""", event["id"])
    assert [tuple(r) for r in rows] == [("rejected", "材料不全")]
    still = (await fetch("SELECT status FROM credit_event WHERE id = {}", event["id"]))[0]["status"]
    assert still == "pending_review"  # the accepted change was rolled back by the helper


# --- reversals -------------------------------------------------------------------------------------

async def test_reversal_restores_the_score_and_cannot_be_repeated_or_reversed(app_client, tokens):
    person = await _fresh_person(app_client, tokens)
    start = await _score(app_client, tokens, person)
    entry = (await _record(app_client, tokens, person))["entries"][0]
    assert await _score(app_client, tokens, person) == start + Decimal("2.0")

    response = await _reverse(app_client, tokens, entry["id"])
    assert response.status_code == 201, response.text
    reversal = response.json()
    assert (reversal["reverses_entry"], reversal["points"]) == (entry["id"], "-2.0")
    assert (reversal["valid_from"], reversal["valid_until"]) == (entry["valid_from"], entry["valid_until"])
    assert await _score(app_client, tokens, person) == start
    # The original stays in the ledger, shown but not in force.
    shown = {e["id"]: e for e in (await app_client.get(f"/api/v1/persons/{person}/points",
                                                        headers=await tokens("township_admin"))).json()["entries"]}
    assert shown[entry["id"]]["in_force"] is False and shown[reversal["id"]]["in_force"] is False
    assert (await fetch("SELECT points FROM ledger_entry WHERE id = {}", entry["id"]))[0]["points"] == 20

    count = await _entry_count()
    of_reversal = await _reverse(app_client, tokens, reversal["id"])
    assert of_reversal.status_code == 409 and of_reversal.json()["code"] == "LEDGER_REVERSAL_OF_REVERSAL"
    twice = await _reverse(app_client, tokens, entry["id"])
    assert twice.status_code == 409 and twice.json()["code"] == "LEDGER_ALREADY_REVERSED"
    assert await _entry_count() == count
    assert await _score(app_client, tokens, person) == start


async def test_the_database_refuses_bad_reversals_written_directly(app_client, tokens):
    person = await _fresh_person(app_client, tokens)
    entry = (await _record(app_client, tokens, person))["entries"][0]
    reversal = (await _reverse(app_client, tokens, entry["id"])).json()

    copy = """INSERT INTO ledger_entry (county_id, event, subject_kind, subject_id, person_id, household_id, item_code,
                  catalogue_version, points, valid_from, valid_until, reverses_entry, reason, explanation_zh,
                  explanation, created_by, created_at, prev_hash, hash)
              SELECT county_id, event, subject_kind, subject_id, person_id, household_id, item_code, catalogue_version,
                  {points}, valid_from, valid_until, id, 'direct', '', '{{}}', created_by, now(), hash,
                  md5(random()::text) || md5(random()::text)
              FROM ledger_entry WHERE id = $1"""
    of_reversal = await refused(copy.format(points="-points"), reversal["id"])
    assert isinstance(of_reversal, asyncpg.CheckViolationError) and "cannot be reversed" in str(of_reversal)
    second = await refused(copy.format(points="-points"), entry["id"])
    assert isinstance(second, asyncpg.UniqueViolationError)  # one reversal per entry
    other = (await _record(app_client, tokens, person))["entries"][0]
    inexact = await refused(copy.format(points="-points + 1"), other["id"])
    assert isinstance(inexact, asyncpg.CheckViolationError) and "negate it exactly" in str(inexact)
    unknown = await refused(copy.format(points="-points").replace("valid_until, id,", "valid_until, id + 1000000000,"),
                             other["id"])
    assert isinstance(unknown, asyncpg.ForeignKeyViolationError)


async def test_reversal_outside_the_jurisdiction_or_role_isrefused(app_client, tokens):
    person = await _fresh_person(app_client, tokens)
    entry = (await _record(app_client, tokens, person))["entries"][0]
    count = await _entry_count()
    elsewhere = await _reverse(app_client, tokens, entry["id"], user="township_admin2")
    assert elsewhere.status_code == 404 and elsewhere.json()["code"] == "NOT_FOUND"
    worker = await _reverse(app_client, tokens, entry["id"], user=WORKER)
    assert worker.status_code == 403
    missing = await _reverse(app_client, tokens, 10**12)
    assert missing.status_code == 404
    assert await _entry_count() == count
    assert not await fetch("SELECT 1 FROM ledger_entry WHERE reverses_entry = {}", entry["id"])


async def test_concurrent_reversals_of_one_entry_append_exactly_one(app_client, tokens):
    person = await _fresh_person(app_client, tokens)
    start = await _score(app_client, tokens, person)
    entry = (await _record(app_client, tokens, person))["entries"][0]
    responses = await asyncio.gather(*(_reverse(app_client, tokens, entry["id"]) for _ in range(8)))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7, [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"LEDGER_ALREADY_REVERSED"}
    assert len(await fetch("SELECT id FROM ledger_entry WHERE reverses_entry = {}", entry["id"])) == 1
    assert await _score(app_client, tokens, person) == start


# --- invariant 2: the score is recomputable from the ledger alone ------------------------------------

IN_FORCE_SQL = """
SELECT coalesce(sum(e.points), 0) AS tenths FROM ledger_entry e
WHERE e.subject_kind = 'person' AND e.subject_id = {} AND e.valid_from <= {} AND {} < e.valid_until
  AND e.reverses_entry IS NULL
  AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.reverses_entry = e.id)
  -- an entry under an open objection does not count until it is decided (art. 46)
  AND NOT EXISTS (SELECT 1 FROM entry_objection o WHERE o.status = 'open'
                  AND (o.event_id = e.event OR (o.event_id IS NULL AND o.entry_id = e.id)))
"""


async def test_every_score_equals_base_plus_in_force_entries(app_client, tokens):
    # Make sure the ledger holds each kind of entry: positive, negative (after review), a
    # reversal pair, and a pending event that must not count.
    people = [await _fresh_person(app_client, tokens)]
    await _record(app_client, tokens, people[0])
    await _record(app_client, tokens, people[0], item="VOL-HOURS", quantity="55",
                  evidence_ids=[await _photo(app_client, tokens)])
    arrears = await _record(app_client, tokens, people[0], item="WAGE-ARREARS", level="up_to_2_months",
                            evidence_ids=[await _photo(app_client, tokens)])
    assert arrears["status"] == "pending_review"
    people.append(await _fresh_person(app_client, tokens))
    kept = await _record(app_client, tokens, people[1])
    assert (await _reverse(app_client, tokens, kept["entries"][0]["id"])).status_code == 201
    await _record(app_client, tokens, people[1])
    assert await _score(app_client, tokens, people[0]) == Decimal("1012.0")  # +2 kept, +10 for 50 h
    assert await _score(app_client, tokens, people[1]) == Decimal("1002.0")
    approved = await app_client.post(f"/api/v1/review/events/{arrears['id']}/approve", json={"reason": "核实"},
                                     headers=await tokens("township_admin"))
    assert approved.status_code == 200, approved.text
    assert await _score(app_client, tokens, people[0]) == Decimal("1002.0")

    persons = [r["subject_id"] for r in await fetch(
        "SELECT DISTINCT subject_id FROM ledger_entry WHERE subject_kind = 'person' ORDER BY subject_id")]
    assert len(persons) >= 3 and set(people) <= set(persons)
    for person in persons:
        response = await app_client.get(f"/api/v1/persons/{person}/points", headers=await tokens("county_admin"))
        standing = response.json()["standing"]
        tenths = (await fetch(IN_FORCE_SQL, person, TODAY, TODAY))[0]["tenths"]
        assert standing["base"] == "1000.0"
        assert Decimal(standing["score"]) == Decimal("1000.0") + Decimal(tenths) / 10, (person, standing)


async def test_the_session_chain_verifies(app_client, tokens):
    await _record(app_client, tokens, await _fresh_person(app_client, tokens))
    result = await chain.verify(batch=7)  # small pages: the walk crosses page boundaries
    assert result.ok, result
    assert result.checked == await _entry_count()


# --- invariant 3: tampering is found (on a throw-away database) ---------------------------------------

RECORD_SCRIPT = """
import asyncio, json, uuid
from backend.clock import today
from datetime import date, timedelta
from piccolo.engine import engine_finder

async def main():
    from backend.auth import tokens
    from backend.auth.services import load_actor, login
    from backend.db import fetch
    from backend.ledger import services
    from backend.ledger.schemas import EventIn
    from dev.seed import DEMO_PASSWORD, seed_demo
    from backend.settings import get_settings

    async def actor(name):
        pair = await login(get_settings(), name, DEMO_PASSWORD)
        return await load_actor(tokens.decode_access_token(pair.access_token, settings=get_settings()))

    engine = engine_finder()
    await engine.start_connection_pool(min_size=1, max_size=2)
    try:
        await seed_demo()  # the county and its accounts (the CLI's seed-demo also records a demo history)
        worker = await actor("grid_worker")
        persons = await fetch("SELECT m.person FROM household h JOIN household_membership m ON m.household = h.id "
                              "AND m.valid_to IS NULL WHERE h.grid = ANY({}) ORDER BY m.person LIMIT 3",
                              sorted(worker.grid_ids))
        entries = []
        for row in persons * 2:
            event, _ = await services.record_event(worker, EventIn(
                idempotency_key=uuid.uuid4().hex, item_code="COMMITMENT-KEPT", subject_kind="person",
                subject_id=row["person"], occurred_on=today() - timedelta(days=3)))
            entries += [e.id for e in event.entries]
        reversal = await services.reverse_entry(await actor("township_admin"), entries[0], "录入有误")
        print(json.dumps({"entries": entries + [reversal.id]}))
    finally:
        await engine.close_connection_pool()

asyncio.run(main())
"""

VERIFY_SCRIPT = """
import asyncio, json
from piccolo.engine import engine_finder

async def main():
    from backend.ledger import chain
    engine = engine_finder()
    await engine.start_connection_pool(min_size=1, max_size=2)
    try:
        r = await chain.verify(batch=3)
        print(json.dumps({"ok": r.ok, "checked": r.checked, "first_broken_id": r.first_broken_id, "reason": r.reason}))
    finally:
        await engine.close_connection_pool()

asyncio.run(main())
"""


def _run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=300)


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return _run(env, "-m", "backend.cli", *args)


def _verify(env: dict) -> dict:
    done = _run(env, "-c", VERIFY_SCRIPT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def tamper_database():
    """A fresh, migrated database of its own; dropped afterwards."""
    server = os.environ["DATABASE_URL"]
    name = f"cunxin_tamper_{secrets.token_hex(4)}"

    # A fresh loop of its own (in a thread): the session loop is busy running this test.
    def run(sql: str) -> None:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, server_sql(server, sql)).result()

    run(f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    env = {**os.environ, "DATABASE_URL": url}
    try:
        done = _cli(env, "migrate")
        assert done.returncode == 0, (done.stdout, done.stderr)
        yield env, url
    finally:
        run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _sql(url: str, sql: str):
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def _tamper(url: str, sql: str) -> None:
    """Do the forbidden thing the only way it can be done: switch the guard off, in one
    transaction, so no other session ever sees the table unguarded."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute("ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_append_only")
            await conn.execute(sql)
            await conn.execute("ALTER TABLE ledger_entry ENABLE TRIGGER ledger_entry_append_only")
        enabled = await conn.fetchval("SELECT tgenabled FROM pg_trigger WHERE tgname = 'ledger_entry_append_only'")
        assert enabled == b"O"  # "char": enabled (origin)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE ledger_entry SET points = points WHERE id = (SELECT min(id) FROM ledger_entry)")
    finally:
        await conn.close()


async def test_verify_finds_a_changed_and_a_missing_row(tamper_database):
    env, url = tamper_database
    recorded = _run(env, "-c", RECORD_SCRIPT)
    assert recorded.returncode == 0, recorded.stderr
    entries = json.loads(recorded.stdout.strip().splitlines()[-1])["entries"]
    assert len(entries) == 7

    total = await _sql(url, "SELECT count(*) FROM ledger_entry")
    assert total >= 7 and await _sql(url, f"SELECT count(*) FROM ledger_entry WHERE id = ANY(ARRAY{entries})") == 7

    assert _verify(env) == {"ok": True, "checked": total, "first_broken_id": None, "reason": ""}
    intact = _cli(env, "ledger", "verify")
    assert intact.returncode == 0 and f"{total} entries verified" in intact.stdout, intact.stdout + intact.stderr

    # One byte of one row: its points.
    target = entries[3]
    await _tamper(url, f"UPDATE ledger_entry SET points = points + 10 WHERE id = {target}")
    result = _verify(env)
    before_target = await _sql(url, f"SELECT count(*) FROM ledger_entry WHERE id < {target}")
    assert (result["ok"], result["first_broken_id"], result["checked"]) == (False, target, before_target)
    assert "changed" in result["reason"]
    broken = _cli(env, "ledger", "verify")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"entry {target}" in broken.stdout and "ledger broken" in broken.stdout

    # Put the value back: the chain verifies again (the hash covers content, nothing else).
    await _tamper(url, f"UPDATE ledger_entry SET points = points - 10 WHERE id = {target}")
    assert _verify(env)["ok"] is True

    # A row removed: the next row's link to its predecessor no longer matches.
    await _tamper(url, f"DELETE FROM ledger_entry WHERE id = {entries[1]}")
    result = _verify(env)
    assert (result["ok"], result["first_broken_id"]) == (False, entries[2])
    assert "link" in result["reason"]
    missing = _cli(env, "ledger", "verify")
    assert missing.returncode == 1 and f"entry {entries[2]}" in missing.stdout
