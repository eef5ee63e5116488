"""The dispatcher: claims due external deliveries from PostgreSQL, sends them through the channel
adapters, and writes the delivery log. A cron of the worker (every 15 seconds and at start-up), not
a chain of Redis jobs: a notice committed while Redis was down is sent by the next run.

Claiming is ``SELECT … FOR UPDATE SKIP LOCKED`` in a short transaction that marks the rows
``sending`` with a claim token and a lease (as ``backend.webhooks.relay`` does): two dispatchers
never send the same delivery at once, and one that dies leaves its rows to be reclaimed when the
lease is over. An outcome is recorded only under the claim it was sent under.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from piccolo.engine import engine_finder

from backend import clock
from backend.db import claim_leased, fetch
from backend.identity.masking import mask_phone
from backend.notifications import channels
from backend.notifications.tables import FAILED, PENDING, SENDING, SENT, SKIPPED
from backend.registry import protection

LEASE = timedelta(minutes=2)
BATCH = 50
MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=5)  # × the attempt number
RUN_SECONDS = 12.0
LOGGED_ADDRESS = "日志（未外发）"  # the logging channel's "address": nothing left the platform


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    token: str
    attempt_no: int
    county_id: int
    notice_id: int
    person_id: int
    channel: str
    text: str
    phone_cipher: str | None
    phone_masked: str | None


_DUE = """SELECT d.id FROM notice_delivery d
          WHERE (d.status = 'pending' AND d.due_at <= {}) OR (d.status = 'sending' AND d.lease_until < {})
          ORDER BY d.due_at, d.id LIMIT {} FOR UPDATE OF d SKIP LOCKED"""


async def claim(limit: int = BATCH) -> list[Claimed]:
    """Take up to ``limit`` due deliveries (or ones whose dispatcher's lease ran out)."""
    token, rows = await claim_leased(
        _DUE,
        """UPDATE notice_delivery d SET status = 'sending', claim_token = {}, lease_until = {},
                  attempts = d.attempts + 1
           FROM notice n, person p
           WHERE d.id = ANY({}) AND n.county_id = d.county_id AND n.id = d.notice
             AND p.county_id = d.county_id AND p.id = d.recipient_person_id
           RETURNING d.id, d.attempts, d.county_id, d.notice, d.recipient_person_id, d.channel, n.external_text,
                     p.phone_cipher, p.phone_masked""",
        limit=limit, lease=LEASE)
    return [Claimed(r["id"], token, r["attempts"], r["county_id"], r["notice"], r["recipient_person_id"], r["channel"],
                    r["external_text"], r["phone_cipher"], r["phone_masked"]) for r in sorted(rows, key=lambda r: r["id"])]


def _address(item: Claimed, channel: channels.Channel) -> tuple[str, str]:
    """(the address the adapter is given, its masked form for the log)."""
    if channel.needs == channels.PHONE:
        if not item.phone_cipher:
            return "", ""
        phone = protection.reveal_phone(item.phone_cipher)
        return phone, item.phone_masked or mask_phone(phone)
    if channel.needs == channels.OPENID:
        return "", ""  # persons have no openid yet
    return "", LOGGED_ADDRESS


async def send(item: Claimed, enabled: dict[str, channels.Channel]) -> tuple[str, str, str]:
    """(outcome sent/failed/skipped, masked address, error) of one attempt."""
    channel = enabled.get(item.channel)
    if channel is None:
        return SKIPPED, "", "channel not enabled"
    address, masked = _address(item, channel)
    result = await channel.send(address, item.text)
    if result.ok:
        return SENT, masked, ""
    return (SKIPPED if result.skipped else FAILED), masked, result.error


async def record(item: Claimed, outcome: str, masked: str, error: str) -> str:
    """The attempt (always, in the delivery log) and, if this dispatcher still holds the claim, the
    delivery's new state. Returns it (``lease_lost`` when the claim was taken over)."""
    now = clock.now()
    status, due_at = outcome, None
    if outcome == FAILED and item.attempt_no < MAX_ATTEMPTS:
        status, due_at = PENDING, now + RETRY_AFTER * item.attempt_no
    async with engine_finder().transaction():
        await fetch("""INSERT INTO notice_attempt (county_id, delivery, notice, recipient_person_id, channel, outcome,
                                                  address_masked, text, error, at)
                       VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {})""",
                    item.county_id, item.delivery_id, item.notice_id, item.person_id, item.channel, outcome, masked,
                    item.text if outcome != SKIPPED else "", error[:500], now)
        held = await fetch(
            """UPDATE notice_delivery SET status = {}, claim_token = '', lease_until = NULL, last_error = {},
                      due_at = COALESCE({}, due_at), sent_at = CASE WHEN {} THEN {}::timestamptz ELSE NULL END
               WHERE county_id = {} AND id = {} AND claim_token = {} AND status = {} RETURNING id""",
            status, error[:500], due_at, status == SENT, now, item.county_id, item.delivery_id, item.token, SENDING)
    return status if held else "lease_lost"


async def dispatch_once(limit: int = BATCH) -> int:
    """Claim one batch, send it, record it. Returns how many were claimed."""
    items = await claim(limit)
    enabled = channels.enabled()
    for item in items:
        outcome, masked, error = await send(item, enabled)
        await record(item, outcome, masked, error)
    return len(items)


async def dispatch(run_seconds: float = RUN_SECONDS) -> int:
    """Batches until nothing is due or the run's time is up (the cron runs it again)."""
    began, done = time.perf_counter(), 0
    while time.perf_counter() - began < run_seconds:
        n = await dispatch_once()
        done += n
        if n == 0:
            break
    return done
