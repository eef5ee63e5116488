"""One hash chain per county (issue 14 item 2): batches for two counties append at the same time,
each county's chain starts at the genesis hash and verifies on its own, a county's chain lock held
elsewhere does not hold up the other county (but does hold up its own), the bank's attestation names
its county's chain head, and moving a row to another county's chain is refused by the database."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import timedelta

import asyncpg
import pytest

from backend import clock
from backend.auth import accounts
from backend.auth.roles import Role
from backend.db import fetch
from backend.ledger import chain
from dev.seed import DEMO_PASSWORD
from tests.integration.counties import own_county
from tests.integration.refusals import refused

TODAY = clock.today()


@pytest.fixture(scope="module")
async def second_county(app_client, tokens):
    """A county of its own with six people and a county admin who records for them."""
    own = await own_county("CC", "链", 6, birth_seed=60)
    code, county, people = own.code, own.county, [p for p, _ in own.people]
    tag = code[2:]
    await accounts.create_account(f"cc{tag}", DEMO_PASSWORD, Role.COUNTY_ADMIN, county_code=code,
                                  display_name="链区管理员")
    return {"county": county, "people": people, "admin": await tokens(f"cc{tag}")}


async def _demo(tokens) -> tuple[int, list[int], dict]:
    headers = await tokens("county_admin")
    county = (await fetch("SELECT county FROM account WHERE username = 'county_admin'"))[0]["county"]
    rows = await fetch("""SELECT m.person FROM household_membership m JOIN household h ON h.id = m.household
                          JOIN village v ON v.id = h.village JOIN township t ON t.id = v.township
                          WHERE m.valid_to IS NULL AND t.county = {} ORDER BY m.person DESC LIMIT 6""", county)
    return county, [r["person"] for r in rows], headers


def _batch(people: list[int], days: int) -> dict:
    return {"events": [{"idempotency_key": uuid.uuid4().hex, "item_code": "COMMITMENT-KEPT", "subject_kind": "person",
                        "subject_id": p, "occurred_on": (TODAY - timedelta(days=days)).isoformat()} for p in people]}


async def test_two_counties_append_batches_at_once_and_each_chain_verifies(app_client, tokens, second_county):
    demo_county, demo_people, demo_admin = await _demo(tokens)
    posts = []
    for days in (3, 4, 5):
        posts.append(app_client.post("/api/v1/events:batch", json=_batch(demo_people, days), headers=demo_admin))
        posts.append(app_client.post("/api/v1/events:batch", json=_batch(second_county["people"], days),
                                     headers=second_county["admin"]))
    answers = await asyncio.gather(*posts)
    for r in answers:
        assert r.status_code == 200 and r.json()["created"] == 6, r.text
    for county in (demo_county, second_county["county"]):
        result = await chain.verify_county(county)
        count = (await fetch("SELECT count(*) AS n FROM ledger_entry WHERE county_id = {}", county))[0]["n"]
        assert result.ok and result.checked == count, (county, result)
        first = (await fetch("SELECT prev_hash FROM ledger_entry WHERE county_id = {} ORDER BY id LIMIT 1", county))[0]
        assert first["prev_hash"] == chain.GENESIS_HASH
    events = await fetch("""SELECT count(*) AS n FROM credit_event e JOIN township t ON t.id = e.township_id
                            WHERE t.county = {}""", second_county["county"])
    assert events[0]["n"] == 18
    everything = await chain.verify()
    assert everything.ok and everything.counties >= 2
    # An entry's county is its event's township's county.
    wrong = await fetch("""SELECT count(*) AS n FROM ledger_entry e JOIN credit_event ev ON ev.id = e.event
                           JOIN township t ON t.id = ev.township_id WHERE t.county <> e.county_id""")
    assert wrong[0]["n"] == 0


async def test_one_countys_lock_does_not_hold_up_another(app_client, tokens, second_county):
    demo_county, demo_people, demo_admin = await _demo(tokens)
    holder = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        async with holder.transaction():
            await holder.execute("SELECT pg_advisory_xact_lock($1, $2)", chain.CHAIN_LOCKS, demo_county)
            other = await asyncio.wait_for(app_client.post(
                "/api/v1/events:batch", json=_batch(second_county["people"][:2], 6), headers=second_county["admin"]), 20)
            assert other.status_code == 200 and other.json()["created"] == 2, other.text
            own = asyncio.ensure_future(app_client.post("/api/v1/events:batch", json=_batch(demo_people[:2], 6),
                                                        headers=demo_admin))
            await asyncio.sleep(1.5)
            assert not own.done()  # the demo county's append waits for its chain's lock
        done = await asyncio.wait_for(own, 20)
        assert done.status_code == 200 and done.json()["created"] == 2, done.text
    finally:
        await holder.close()
    assert (await chain.verify_county(demo_county)).ok and (await chain.verify_county(second_county["county"])).ok


async def test_a_row_cannot_join_another_countys_chain(app_client, tokens, second_county):
    demo_county, _, _ = await _demo(tokens)
    other = second_county["county"]
    # A copy of the demo county's head, labelled as the other county's and linked to the demo chain.
    moved = await refused(f"""INSERT INTO ledger_entry (county_id, event, subject_kind, subject_id, person_id,
              household_id, item_code, catalogue_version, points, valid_from, valid_until, reason, explanation_zh,
              explanation, created_by, created_at, prev_hash, hash)
            SELECT {other}, event, subject_kind, subject_id, person_id, household_id, item_code, catalogue_version,
              points, valid_from, valid_until, 'moved', '', '{{}}', created_by, now(), hash, repeat('b', 64)
            FROM ledger_entry WHERE county_id = {demo_county} ORDER BY id DESC LIMIT 1""")
    assert isinstance(moved, asyncpg.CheckViolationError) and "does not link" in str(moved), moved
    nowhere = await refused("""INSERT INTO ledger_entry (county_id, event, subject_kind, subject_id, item_code,
              catalogue_version, points, valid_from, valid_until, created_at, prev_hash, hash)
            VALUES (0, NULL, 'person', 1, 'X', '2026.2', 0, current_date, current_date + 1, now(), repeat('0', 64),
                    repeat('c', 64))""")
    assert isinstance(nowhere, asyncpg.CheckViolationError), nowhere
    head = await chain.head(other)
    last = (await fetch("SELECT id, hash FROM ledger_entry WHERE county_id = {} ORDER BY id DESC LIMIT 1", other))[0]
    assert head == {"id": last["id"], "hash": last["hash"]}
    assert await chain.head(10**9) == {"id": 0, "hash": chain.GENESIS_HASH}
