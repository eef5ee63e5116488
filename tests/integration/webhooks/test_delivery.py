"""The relay against a real HTTP receiver: signatures the Standard Webhooks reference library
verifies; a relay that dies after claiming (before sending, or after sending but before recording)
loses nothing — the delivery happens after the lease, at least once, duplicates sharing the
``webhook-id``; two relays at once never send the same attempt; the back-off schedule, then
failed; an endpoint disabled after persistent failure, with a security event."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from datetime import timedelta

from standardwebhooks import Webhook

from backend import clock
from backend.db import fetch
from backend.settings import PROJECT_ROOT
from backend.webhooks import relay
from points_rules import webhooks as rules

from .conftest import delivery_of, disable, emit_test_message, make_endpoint


async def test_a_delivery_verifies_with_the_reference_library(app_client, tokens, receiver, county_id):
    county = await tokens("county_admin")
    url, path = receiver.url("ok")
    endpoint = await make_endpoint(app_client, county, url, ["rating.effective"])
    assert endpoint["secret"].startswith("whsec_")
    msg_id = await emit_test_message(county_id, 101)
    await relay.relay()
    [got] = receiver.at(path)
    assert got.headers["webhook-id"] == msg_id
    payload = Webhook(endpoint["secret"]).verify(got.body, got.headers)
    assert payload["type"] == "rating.effective" and payload["data"] == {"proposal_id": 101, "status": "effective"}
    assert set(payload) == {"type", "timestamp", "data"}
    row = await delivery_of(msg_id, endpoint["id"])
    assert row["status"] == "delivered" and row["attempts"] == 1 and row["last_status_code"] == 200
    await disable(app_client, county, endpoint["id"])


async def test_a_relay_that_dies_loses_nothing_and_a_duplicate_keeps_its_webhook_id(app_client, tokens, receiver,
                                                                                     county_id):
    county = await tokens("county_admin")
    url, path = receiver.url("ok")
    endpoint = await make_endpoint(app_client, county, url, ["rating.effective"])
    first = await emit_test_message(county_id, 201)
    second = await emit_test_message(county_id, 202)

    # relay A claims both, then "is killed": it never sends or records anything
    claimed = [c for c in await relay.claim(limit=200) if c.msg_id in (first, second)]
    assert {c.msg_id for c in claimed} == {first, second}
    # relay B, at once: the rows are leased to A, nothing is sent twice while A might still be at it
    await relay.relay()
    assert receiver.at(path) == []
    # relay C after the lease: both are delivered
    with clock.frozen(clock.now() + relay.LEASE + timedelta(seconds=1)):
        again = [c for c in await relay.claim(limit=200) if c.msg_id in (first, second)]
        assert {c.msg_id for c in again} == {first, second}
        # C sends the first, and dies after the receiver answered but before recording it
        one = next(c for c in again if c.msg_id == first)
        async with relay.http_client() as client:
            result = await relay.send(client, one)
        assert result.ok
        # the other is recorded normally
        other = next(c for c in again if c.msg_id == second)
        async with relay.http_client() as client:
            assert await relay.record(other, await relay.send(client, other)) == "delivered"
    # A's late outcome (its lease was taken over) is logged as an attempt but changes nothing
    assert await relay.record(next(c for c in claimed if c.msg_id == second), result) == "lease_lost"
    assert (await delivery_of(second, endpoint["id"]))["status"] == "delivered"

    # after C's lease the first is sent again: the receiver sees it twice, with the same webhook-id
    with clock.frozen(clock.now() + 2 * relay.LEASE + timedelta(seconds=2)):
        await relay.relay()
    ids = [r.headers["webhook-id"] for r in receiver.at(path)]
    assert sorted(ids) == sorted([first, first, second])
    bodies = {r.body for r in receiver.at(path) if r.headers["webhook-id"] == first}
    assert len(bodies) == 1  # byte for byte the same message
    row = await delivery_of(first, endpoint["id"])
    assert row["status"] == "delivered" and row["attempts"] == 3  # three claims, one of them recorded
    await disable(app_client, county, endpoint["id"])


RELAY_PROCESS = """
import asyncio
from piccolo.engine import engine_finder
from backend.webhooks import relay

async def main():
    await engine_finder().start_connection_pool(min_size=1, max_size=2)
    await relay.relay(run_seconds=60)

asyncio.run(main())
"""


async def test_a_worker_killed_mid_delivery_delivers_after_restart(app_client, tokens, receiver, county_id):
    """A real relay process, killed with SIGKILL while the receiver is answering: after the lease the
    next relay delivers again — at least once, the duplicate with the same webhook-id."""
    county = await tokens("county_admin")
    url, path = receiver.url("hang")
    endpoint = await make_endpoint(app_client, county, url, ["rating.effective"])
    msg_id = await emit_test_message(county_id, 250)
    worker = subprocess.Popen([sys.executable, "-c", RELAY_PROCESS], env=os.environ.copy(), cwd=PROJECT_ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if receiver.at(path):
                break
            await asyncio.sleep(0.1)
        assert receiver.at(path), "the relay process never sent the message"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    row = await delivery_of(msg_id, endpoint["id"])
    assert row["status"] == "delivering" and row["delivered_at"] is None  # claimed, never recorded
    await relay.relay()  # restarted at once: the lease still holds, nothing is sent twice concurrently
    assert len(receiver.at(path)) == 1
    with clock.frozen(clock.now() + relay.LEASE + timedelta(seconds=1)):
        await relay.relay()
    row = await delivery_of(msg_id, endpoint["id"])
    assert row["status"] == "delivered" and row["attempts"] == 2
    assert [r.headers["webhook-id"] for r in receiver.at(path)] == [msg_id, msg_id]
    await disable(app_client, county, endpoint["id"])


async def test_two_relays_at_once_never_send_the_same_attempt(app_client, tokens, receiver, county_id):
    county = await tokens("county_admin")
    url, path = receiver.url("slow")
    endpoint = await make_endpoint(app_client, county, url, ["rating.effective"])
    sent = [await emit_test_message(county_id, 300 + n) for n in range(24)]
    counts = await asyncio.gather(relay.relay(run_seconds=30), relay.relay(run_seconds=30),
                                  relay.relay_once(limit=5))
    assert sum(counts) >= 24
    ids = [r.headers["webhook-id"] for r in receiver.at(path)]
    assert sorted(ids) == sorted(sent), "every message exactly once"
    attempts = await fetch("""SELECT count(*) AS n FROM webhook_attempt a JOIN webhook_delivery d ON d.id = a.delivery
                              WHERE d.endpoint = {}""", endpoint["id"])
    assert attempts[0]["n"] == 24
    await disable(app_client, county, endpoint["id"])


async def test_back_off_then_failed_then_disabled(app_client, tokens, receiver, county_id):
    county = await tokens("county_admin")
    url, path = receiver.url("fail")
    endpoint = await make_endpoint(app_client, county, url, ["rating.effective"])
    start = clock.now()
    msg_id = await emit_test_message(county_id, 401)
    await relay.relay()
    row = await delivery_of(msg_id, endpoint["id"])
    assert row["status"] == "pending" and row["attempts"] == 1
    waits = [row["next_attempt_at"] - (await fetch(
        "SELECT max(started_at) AS t FROM webhook_attempt WHERE delivery = {}", row["id"]))[0]["t"]]
    for _ in range(rules.MAX_ATTEMPTS - 1):
        due = row["next_attempt_at"]
        with clock.frozen(due - timedelta(seconds=1)):  # not before it is due
            await relay.relay()
        assert (await delivery_of(msg_id, endpoint["id"]))["attempts"] == row["attempts"]
        with clock.frozen(due):
            await relay.relay()
            row = await delivery_of(msg_id, endpoint["id"])
            if row["status"] == "pending":
                waits.append(row["next_attempt_at"] - due)
    assert row["status"] == "failed" and row["attempts"] == rules.MAX_ATTEMPTS
    assert [abs(w - d) < timedelta(seconds=2) for w, d in zip(waits, rules.RETRY_DELAYS)] == [True] * 9
    assert len(receiver.at(path)) == rules.MAX_ATTEMPTS
    assert {r.headers["webhook-id"] for r in receiver.at(path)} == {msg_id}
    log = (await app_client.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}/deliveries", headers=county)).json()
    [item] = log["items"]
    assert item["status"] == "failed" and item["webhook_id"] == msg_id and len(item["log"]) == rules.MAX_ATTEMPTS
    assert all(a["status_code"] == 500 and len(a["response_excerpt"]) == 1024 and a["duration_ms"] >= 0
               for a in item["log"])
    state = (await app_client.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}", headers=county)).json()
    assert state["enabled"] and state["consecutive_failures"] == rules.MAX_ATTEMPTS  # 3 days: not yet disabled

    # five days of nothing but failures: the next failed attempt disables it, with a security event
    later = start + rules.DISABLE_AFTER + timedelta(minutes=1)
    with clock.frozen(later):
        next_msg = await emit_test_message(county_id, 402)
        await relay.relay()
    state = (await app_client.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}", headers=county)).json()
    assert not state["enabled"] and state["disabled_reason"] == "failing"
    events = await fetch("SELECT detail FROM security_event WHERE kind = 'webhook_endpoint_disabled'")
    assert any(json.loads(e["detail"])["endpoint"] == endpoint["id"] for e in events)
    # a disabled endpoint gets nothing new, and its pending delivery waits
    with clock.frozen(later + timedelta(days=1)):
        await relay.relay()
    assert (await delivery_of(next_msg, endpoint["id"]))["status"] == "pending"
    before = len(receiver.at(path))
    await emit_test_message(county_id, 403)
    assert (await fetch("SELECT count(*) AS n FROM webhook_delivery WHERE endpoint = {}", endpoint["id"]))[0]["n"] == 2
    assert len(receiver.at(path)) == before
    # enabled again: the failures are forgiven
    r = await app_client.patch(f"/api/v1/webhooks/endpoints/{endpoint['id']}", headers=county, json={"enabled": True})
    assert r.json()["enabled"] and r.json()["consecutive_failures"] == 0 and r.json()["failing_since"] is None
    await disable(app_client, county, endpoint["id"])


async def test_the_outbox_and_the_attempts_cannot_be_changed(app_client):
    import asyncpg
    import pytest

    for sql in ("UPDATE webhook_outbox SET body = '{}'", "DELETE FROM webhook_outbox",
                "UPDATE webhook_attempt SET status_code = 200", "DELETE FROM webhook_attempt"):
        with pytest.raises(asyncpg.PostgresError):
            await fetch(sql)


def test_the_worker_runs_the_relay_every_ten_seconds_and_at_start_up():
    from backend.worker import WorkerSettings

    [job] = [c for c in WorkerSettings.cron_jobs if c.name == "cron:relay_webhooks"]
    assert job.second == set(range(0, 60, 10)) and job.minute is None and job.run_at_startup
    assert any(f.__name__ == "relay_webhooks" for f in WorkerSettings.functions)


async def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(app_client, tokens, receiver, county_id,
                                                                      monkeypatch):
    monkeypatch.setattr(relay, "TIMEOUT", 0.5)  # the receiver answers after 3 s
    county = await tokens("county_admin")
    url, path = receiver.url("hang")
    endpoint = await make_endpoint(app_client, county, url, ["rating.effective"])
    msg_id = await emit_test_message(county_id, 901)
    await relay.relay()
    row = await delivery_of(msg_id, endpoint["id"])
    assert row["status"] == "pending" and row["last_error"] == "timeout after 0.5 s" and row["last_status_code"] is None
    [attempt] = await fetch("SELECT * FROM webhook_attempt WHERE delivery = {}", row["id"])
    assert attempt["duration_ms"] < 2500 and attempt["status_code"] is None
    await disable(app_client, county, endpoint["id"])
