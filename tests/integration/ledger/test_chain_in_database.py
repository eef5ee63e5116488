"""The chain invariant held by PostgreSQL (issue 9.5): an INSERT into ledger_entry that bypasses
``chain.append`` — a wrong link, a copied link, a row slipped in between — is refused; the normal
path and concurrent appends still verify; the chain's and the subjects' advisory locks live in
separate namespaces, so they cannot collide.

Refused statements run on their own connection in a transaction that is always rolled back.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import timedelta

import asyncpg
import pytest

from backend import clock
from backend.db import fetch
from backend.ledger import chain
from tests.integration.refusals import refused

TODAY = clock.today()

RAW = """INSERT INTO ledger_entry (id, county_id, event, subject_kind, subject_id, person_id, household_id, item_code,
             catalogue_version, points, valid_from, valid_until, reason, explanation_zh, explanation, created_by,
             created_at, prev_hash, hash)
         SELECT {id}, county_id, event, subject_kind, subject_id, person_id, household_id, item_code, catalogue_version,
                points, valid_from, valid_until, 'raw', '', '{{}}', created_by, now(), {prev}, repeat('a', 64)
         FROM ledger_entry WHERE id = (SELECT max(id) FROM ledger_entry)"""


async def _record(app_client, tokens, person: int) -> dict:
    body = {"idempotency_key": uuid.uuid4().hex, "item_code": "COMMITMENT-KEPT", "subject_kind": "person",
            "subject_id": person, "occurred_on": (TODAY - timedelta(days=2)).isoformat()}
    response = await app_client.post("/api/v1/events", json=body, headers=await tokens("grid_worker"))
    assert response.status_code == 201, response.text
    return response.json()


async def _worker_persons(app_client, tokens) -> list[int]:
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens("grid_worker"))).json()
    rows = await fetch("""SELECT m.person FROM household h JOIN household_membership m ON m.household = h.id
                          AND m.valid_to IS NULL WHERE h.grid = ANY({}) ORDER BY m.person""", sorted(me["grid_ids"]))
    return [r["person"] for r in rows]


async def test_raw_inserts_that_break_the_chain_arerefused(app_client, tokens):
    for person in (await _worker_persons(app_client, tokens))[-2:]:
        await _record(app_client, tokens, person)
    next_id = "nextval(pg_get_serial_sequence('ledger_entry', 'id'))"
    county = (await fetch("SELECT county_id FROM ledger_entry ORDER BY id DESC LIMIT 1"))[0]["county_id"]
    head = f"(SELECT hash FROM ledger_entry WHERE county_id = {county} ORDER BY id DESC LIMIT 1)"

    wrong = await refused(RAW.format(id=next_id, prev="repeat('f', 64)"))
    assert isinstance(wrong, asyncpg.CheckViolationError) and "does not link" in str(wrong), wrong
    genesis = await refused(RAW.format(id=next_id, prev="repeat('0', 64)"))
    assert isinstance(genesis, asyncpg.UniqueViolationError), genesis  # only a county's first row links to genesis
    copied = await refused(RAW.format(id=next_id, prev="prev_hash"))  # the head's own link, copied
    assert isinstance(copied, asyncpg.UniqueViolationError) and "prev_hash" in str(copied), copied
    # Slipped in between: an unused id below the head, linked to the row before it (its hash is taken).
    last_two = await fetch("SELECT id, hash FROM ledger_entry WHERE county_id = {} ORDER BY id DESC LIMIT 2", county)
    between = await refused(RAW.format(id=f"{last_two[0]['id']} - 1 + 0 * {last_two[1]['id']}",
                                        prev=f"'{last_two[1]['hash']}'").replace(
        "SELECT max(id) FROM ledger_entry", f"SELECT {last_two[0]['id']}"))
    assert isinstance(between, (asyncpg.UniqueViolationError, asyncpg.CheckViolationError)), between
    no_hash = await refused(RAW.format(id=next_id, prev=head).replace("repeat('a', 64)", "''"))
    assert isinstance(no_hash, asyncpg.CheckViolationError) and "SHA-256" in str(no_hash), no_hash
    assert (await chain.verify()).ok


async def test_the_normal_path_and_concurrent_appends_still_verify(app_client, tokens):
    persons = (await _worker_persons(app_client, tokens))[:6]
    headers = await tokens("grid_worker")
    bodies = [{"idempotency_key": uuid.uuid4().hex, "item_code": "COMMITMENT-KEPT", "subject_kind": "person",
               "subject_id": p, "occurred_on": (TODAY - timedelta(days=1)).isoformat()}
              for p in persons * 2]
    responses = await asyncio.gather(*[app_client.post("/api/v1/events", json=b, headers=headers) for b in bodies])
    assert all(r.status_code < 500 for r in responses), [r.text for r in responses]
    assert any(r.status_code == 201 for r in responses), [r.text for r in responses]
    result = await chain.verify(batch=11)
    assert result.ok, result
    assert result.checked == (await fetch("SELECT count(*) AS n FROM ledger_entry"))[0]["n"]


async def test_chain_and_subject_locks_use_separate_namespaces(app_client):
    # The old keys: the chain's one bigint, and subjects' hashtext() (an int4 in the same key space).
    # Now (namespace, key) pairs: no hashtext value can reach the chain's namespace.
    conn = await asyncpg.connect(os.environ["DATABASE_URL"])
    other = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1, 1)", chain.CHAIN_LOCKS)
            # Any subject's lock is still free while the chain's end is held.
            async with other.transaction():
                got = await other.fetchval("SELECT pg_try_advisory_xact_lock($1, $2)", chain.SUBJECT_LOCKS, 0)
                assert got is True
            locks = await conn.fetch("SELECT classid, objid, objsubid FROM pg_locks WHERE locktype = 'advisory' "
                                     "AND pid = pg_backend_pid()")
            assert [(r["classid"], r["objid"], r["objsubid"]) for r in locks] == [(chain.CHAIN_LOCKS, 1, 2)]
    finally:
        await conn.close()
        await other.close()
    assert len({chain.CHAIN_LOCKS, chain.SUBJECT_LOCKS, chain.STANDING_LOCKS}) == 3
