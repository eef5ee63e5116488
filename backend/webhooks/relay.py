"""The relay: claims due deliveries from PostgreSQL, sends them as Standard Webhooks, records each
attempt. It is a cron of the worker (every 10 seconds, and at start-up), not a chain of Redis jobs:
what the outbox holds is sent whether Redis was up when the change committed or not.

Claiming is ``SELECT … FOR UPDATE SKIP LOCKED`` in a short transaction that marks the rows
``delivering`` with a claim token and a lease: two relays never send the same attempt at once. A
relay that dies after claiming leaves its rows to be reclaimed when the lease is over, so every
delivery happens at least once; a receiver that answered but whose answer was never recorded gets
the message again with the same ``webhook-id`` (receivers de-duplicate on it). An outcome is
recorded only under the claim it was sent under: a late relay whose lease was taken over logs its
attempt but does not overwrite the newer claim's state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
from piccolo.engine import engine_finder

from backend import clock
from backend.audit.tables import SecurityEvent
from backend.db import claim_leased, fetch
from backend.webhooks import signing
from backend.webhooks.tables import DELIVERED, DELIVERING, FAILED, PENDING
from points_rules import webhooks as rules

logger = logging.getLogger("cunxin.webhooks")

LEASE = timedelta(minutes=2)  # > a batch's worst case: BATCH / CONCURRENCY × TIMEOUT
TIMEOUT = 10.0  # seconds, connect + read: a subscriber answers quickly and does its work later
BATCH = 20
CONCURRENCY = 10
EXCERPT_CHARS = 1024
READ_BYTES = 4096  # the most of an answer we read (the rest is never downloaded)
RUN_SECONDS = 8.0  # one cron run; the next starts 10 s after this one started


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    token: str
    attempt_no: int
    replay: bool
    retry_step: int
    county_id: int
    endpoint_id: int
    url: str
    msg_id: str
    body: str
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str
    excerpt: str
    duration_ms: int
    started_at: object

    @property
    def ok(self) -> bool:
        return rules.is_success(self.status_code) and not self.error


_DUE = """SELECT d.id FROM webhook_delivery d JOIN webhook_endpoint e ON e.id = d.endpoint
          WHERE e.enabled AND ((d.status = 'pending' AND d.next_attempt_at <= {})
                               OR (d.status = 'delivering' AND d.lease_until < {}))
          ORDER BY d.next_attempt_at, d.id LIMIT {} FOR UPDATE OF d SKIP LOCKED"""


async def claim(limit: int = BATCH) -> list[Claimed]:
    """Take up to ``limit`` due deliveries (or ones whose relay's lease ran out) for this relay."""
    now = clock.now()
    token, rows = await claim_leased(
        _DUE,
        """UPDATE webhook_delivery d SET status = 'delivering', claim_token = {}, lease_until = {},
                  attempts = d.attempts + 1
           FROM webhook_outbox m, webhook_endpoint e
           WHERE d.id = ANY({}) AND m.id = d.message AND e.id = d.endpoint
           RETURNING d.id, d.attempts, d.replay_pending, d.retry_step, d.county_id, e.id AS endpoint_id, e.url,
                     e.secret_cipher, e.previous_secret_cipher, e.previous_valid_until, m.msg_id, m.body""",
        limit=limit, lease=LEASE)
    return [Claimed(delivery_id=r["id"], token=token, attempt_no=r["attempts"], replay=r["replay_pending"],
                    retry_step=r["retry_step"], county_id=r["county_id"], endpoint_id=r["endpoint_id"], url=r["url"],
                    msg_id=r["msg_id"], body=r["body"], secrets=tuple(signing.signing_secrets(r, now)))
            for r in sorted(rows, key=lambda r: r["id"])]


async def send(client: httpx.AsyncClient, item: Claimed) -> Outcome:
    """One HTTP attempt: the address is checked again first (DNS may have changed since registration)."""
    started_at = clock.now()
    timestamp = int(started_at.timestamp())
    began = time.perf_counter()  # a duration, not a time of day: not the clock's business

    def outcome(status_code: int | None, error: str, excerpt: str = "") -> Outcome:
        return Outcome(status_code, error[:500], excerpt[:EXCERPT_CHARS],
                       int((time.perf_counter() - began) * 1000), started_at)

    try:
        await signing.check_destination(item.url)
    except rules.UrlRefused as exc:
        return outcome(None, f"refused: {exc}")
    headers = rules.headers(item.secrets, item.msg_id, timestamp, item.body)
    try:
        # httpx's timeout is per read; this bounds the whole attempt (a server dripping bytes included)
        async with asyncio.timeout(TIMEOUT):
            async with client.stream("POST", item.url, content=item.body.encode("utf-8"),
                                     headers=headers) as response:
                data = b""
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) >= READ_BYTES:
                        break
                return outcome(response.status_code, "", data[:READ_BYTES].decode("utf-8", "replace"))
    except (httpx.TimeoutException, TimeoutError):
        return outcome(None, f"timeout after {TIMEOUT:g} s")
    except httpx.HTTPError as exc:
        return outcome(None, f"{type(exc).__name__}: {exc}")


async def record(item: Claimed, result: Outcome) -> str:
    """The attempt (always) and, if this relay still holds the claim, the delivery's new state and the
    endpoint's failure count — disabling it after persistent failure. Returns the new status."""
    now = clock.now()
    if result.ok:
        status, next_at = DELIVERED, None
    elif item.replay:
        status, next_at = FAILED, None  # a replay is one more attempt, not a new schedule
    else:
        delay = rules.next_delay(item.retry_step + 1)
        status, next_at = (PENDING, now + delay) if delay is not None else (FAILED, None)
    async with engine_finder().transaction():
        await fetch("""INSERT INTO webhook_attempt (delivery, county_id, attempt_no, replay, started_at, duration_ms,
                       status_code, error, response_excerpt) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {})""",
                    item.delivery_id, item.county_id, item.attempt_no, item.replay, result.started_at,
                    result.duration_ms, result.status_code, result.error, result.excerpt)
        held = await fetch(
            """UPDATE webhook_delivery SET status = {}, claim_token = '', lease_until = NULL,
                      next_attempt_at = COALESCE({}, next_attempt_at), last_status_code = {}, last_error = {},
                      retry_step = retry_step + (CASE WHEN {} THEN 0 ELSE 1 END), replay_pending = false,
                      delivered_at = CASE WHEN {} THEN {} ELSE delivered_at END
               WHERE id = {} AND claim_token = {} AND status = {} RETURNING id""",
            status, next_at, result.status_code, result.error, item.replay, result.ok, now, item.delivery_id,
            item.token, DELIVERING)
        if not held:
            logger.info("delivery %s: claim taken over after its lease; attempt logged only", item.delivery_id)
            return "lease_lost"
        await _count(item.endpoint_id, result.ok, now)
    return status


async def _count(endpoint_id: int, ok: bool, now) -> None:
    if ok:
        await fetch("UPDATE webhook_endpoint SET consecutive_failures = 0, failing_since = NULL WHERE id = {}",
                    endpoint_id)
        return
    row = (await fetch("""UPDATE webhook_endpoint SET consecutive_failures = consecutive_failures + 1,
                          failing_since = COALESCE(failing_since, {}) WHERE id = {}
                          RETURNING consecutive_failures, failing_since, enabled, county, url""", now, endpoint_id))[0]
    if row["enabled"] and rules.should_disable(row["consecutive_failures"], row["failing_since"], now):
        await fetch("""UPDATE webhook_endpoint SET enabled = false, disabled_reason = 'failing', disabled_at = {}
                       WHERE id = {}""", now, endpoint_id)
        await SecurityEvent.insert(SecurityEvent(kind="webhook_endpoint_disabled", principal="webhook-relay", detail=json.dumps(
            {"endpoint": endpoint_id, "county": row["county"], "consecutive_failures": row["consecutive_failures"],
             "failing_since": row["failing_since"].isoformat(), "reason": "failing"})))
        logger.warning("webhook endpoint %s disabled after %s failed attempts since %s", endpoint_id,
                       row["consecutive_failures"], row["failing_since"])


def http_client() -> httpx.AsyncClient:
    """Redirects are not followed (a 3xx is a failure, and cannot lead us to another host); the
    environment's proxies are not used."""
    return httpx.AsyncClient(timeout=httpx.Timeout(TIMEOUT), follow_redirects=False, trust_env=False)


async def relay_once(limit: int = BATCH) -> int:
    """Claim one batch, send it (at most :data:`CONCURRENCY` at a time), record it. Returns how many."""
    items = await claim(limit)
    if not items:
        return 0
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(client: httpx.AsyncClient, item: Claimed) -> None:
        async with gate:
            await record(item, await send(client, item))

    async with http_client() as client:
        await asyncio.gather(*(one(client, item) for item in items))
    return len(items)


async def relay(run_seconds: float = RUN_SECONDS) -> int:
    """Batches until nothing is due or the run's time is up (the cron runs it again)."""
    began, sent = time.perf_counter(), 0
    while time.perf_counter() - began < run_seconds:
        n = await relay_once()
        sent += n
        if n == 0:
            break
    return sent
