"""The transactional outbox: a change that others must hear about writes its message, and one
delivery per subscribed endpoint, *in its own transaction* (DESIGN invariant 12). Nothing here
talks to Redis or the network: a change commits whether Redis is up or not, and the relay
(``backend.webhooks.relay``, a cron of the worker) sends what was committed — at least once.

Callers hold a transaction (``async with engine_finder().transaction():``) and call one of the
``emit_*`` functions inside it; a rollback takes the message with it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable

from piccolo.engine import engine_finder

from backend import clock
from backend.db import fetch
from points_rules import webhooks as rules


def _in_transaction() -> None:
    if engine_finder().current_transaction.get() is None:
        raise RuntimeError("outbox messages are written inside the transaction of the change they announce")


def new_msg_id() -> str:
    return "msg_" + uuid.uuid4().hex


async def _endpoints(county_id: int) -> list[dict]:
    rows = await fetch("SELECT id, event_types, recipient FROM webhook_endpoint WHERE county = {} AND enabled",
                       county_id)
    for r in rows:
        if isinstance(r["event_types"], str):
            r["event_types"] = json.loads(r["event_types"])
    return rows


async def emit_many(county_id: int, event_type: str, items: Iterable[tuple[dict, int | None]]) -> list[str]:
    """Messages of one type in one county: ``items`` are ``(data, consent recipient id or None)``.
    Only messages some enabled endpoint subscribed to are written. Returns their ``webhook-id``s."""
    _in_transaction()
    endpoints = await _endpoints(county_id)
    if not endpoints:
        return []
    now = clock.now()
    msg_ids, bodies, pairs = [], [], []
    for data, recipient_id in items:
        targets = [e["id"] for e in endpoints
                   if rules.routes_to(event_type, e["event_types"], event_recipient_id=recipient_id,
                                      endpoint_recipient_id=e["recipient"])]
        if not targets:
            continue
        msg_ids.append(new_msg_id())
        bodies.append(rules.envelope(event_type, now, data))
        pairs += [(len(msg_ids) - 1, endpoint_id) for endpoint_id in targets]
    if not msg_ids:
        return []
    rows = await fetch("""INSERT INTO webhook_outbox (msg_id, county_id, event_type, body, created_at)
                          SELECT m, {}, {}, b, {} FROM unnest({}::text[], {}::text[]) AS u(m, b)
                          RETURNING id, msg_id""", county_id, event_type, now, msg_ids, bodies)
    ids = {r["msg_id"]: r["id"] for r in rows}
    await fetch("""INSERT INTO webhook_delivery (message, endpoint, county_id, status, attempts, retry_step,
                   replay_pending, next_attempt_at, claim_token, last_error, created_at)
                   SELECT m, e, {}, 'pending', 0, 0, false, {}, '', '', {}
                   FROM unnest({}::bigint[], {}::int[]) AS u(m, e)""",
                county_id, now, now, [ids[msg_ids[i]] for i, _ in pairs], [e for _, e in pairs])
    return msg_ids


async def emit(county_id: int, event_type: str, data: dict, *, recipient_id: int | None = None) -> str | None:
    """One message (see :func:`emit_many`); its ``webhook-id``, or ``None`` when nobody subscribed."""
    written = await emit_many(county_id, event_type, [(data, recipient_id)])
    return written[0] if written else None


# --- the events of the other slices (each called inside the transaction of its change) ---------------


async def emit_ratings_effective(proposal_ids: list[int]) -> list[str]:
    """``rating.effective`` for ratings ``finalize`` has just made effective (ids and state only)."""
    if not proposal_ids:
        return []
    rows = await fetch("""SELECT p.id, p.period, pe.code, pe.county, p.level, p.subject_id, p.status, p.effective_on
                          FROM rating_proposal p JOIN rating_period pe ON pe.id = p.period
                          WHERE p.id = ANY({}) ORDER BY p.id""", list(proposal_ids))
    written: list[str] = []
    for county_id in sorted({r["county"] for r in rows}):
        written += await emit_many(county_id, rules.RATING_EFFECTIVE, [
            ({"proposal_id": r["id"], "period_id": r["period"], "period_code": r["code"], "level": r["level"],
              "subject_kind": r["level"], "subject_id": r["subject_id"], "status": r["status"],
              "effective_on": r["effective_on"].isoformat() if r["effective_on"] else None}, None)
            for r in rows if r["county"] == county_id])
    return written


async def emit_objection_decided(objection_id: int) -> str | None:
    """``objection.decided``: upheld or dismissed, and the rating's state after the decision."""
    rows = await fetch("""SELECT o.id, o.status, p.id AS proposal, p.period, p.level, p.subject_id,
                                 p.status AS rating_status, pe.county
                          FROM rating_objection o JOIN rating_proposal p ON p.id = o.proposal
                          JOIN rating_period pe ON pe.id = p.period WHERE o.id = {}""", objection_id)
    if not rows:
        return None
    r = rows[0]
    return await emit(r["county"], rules.OBJECTION_DECIDED, {
        "objection_id": r["id"], "proposal_id": r["proposal"], "period_id": r["period"], "level": r["level"],
        "subject_kind": r["level"], "subject_id": r["subject_id"], "decision": r["status"],
        "rating_status": r["rating_status"]})


async def emit_consent_event(row: dict) -> str | None:
    """``consent.granted`` / ``consent.withdrawn`` for a ``consent_event`` row, to that recipient only."""
    if row["action"] == "grant":
        return await emit(row["county_id"], rules.CONSENT_GRANTED, {
            "consent_id": row["id"], "subject_kind": row["subject_kind"], "subject_id": row["subject_id"],
            "recipient_id": row["recipient"], "purpose": row["purpose"], "data_scope": row["data_scope"],
            "expires_on": row["expires_on"].isoformat() if row["expires_on"] else None},
            recipient_id=row["recipient"])
    return await emit(row["county_id"], rules.CONSENT_WITHDRAWN, {
        "consent_id": row["id"], "grant_id": row["withdraws"], "subject_kind": row["subject_kind"],
        "subject_id": row["subject_id"], "recipient_id": row["recipient"], "purpose": row["purpose"],
        "withdrawn_at": row["recorded_at"].isoformat()}, recipient_id=row["recipient"])
