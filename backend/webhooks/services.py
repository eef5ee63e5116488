"""Endpoints (county admins, their county only), secret rotation, the delivery log and replay.

Whether an endpoint is the caller's is the scope module's answer (``scope.covers_county``): "not
yours" is 404 like "does not exist". The delivery log shows the event type, the ``webhook-id`` and
each attempt — not the message bodies, which name households by id. Every write leaves a
``security_event`` row; a secret is shown once, when it is made.
"""

from __future__ import annotations

import json
from datetime import timedelta

from piccolo.engine import engine_finder

from backend import clock, jobs
from backend.audit.tables import SecurityEvent
from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.db import fetch
from backend.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.schemas import Page
from backend.webhooks import signing
from backend.webhooks.schemas import (
    AttemptOut,
    DeliveryOut,
    EndpointCreatedOut,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EventTypeOut,
    RotateIn,
    SecretOut,
)
from backend.webhooks.tables import DELIVERED, FAILED
from points_rules import webhooks as rules

RELAY_JOB = "relay_webhooks"

URL_REFUSED = InvalidInput("端点地址不被允许（须为 https，且不得指向内网或本机地址）",
                           "Endpoint URL refused (https required; no private, loopback or link-local address)",
                           code="WEBHOOK_URL_REFUSED")
RECIPIENT_UNKNOWN = InvalidInput("授权接收方不存在或不属于本县", "Unknown consent recipient (or not of my county)",
                                 code="WEBHOOK_RECIPIENT_UNKNOWN")
IN_PROGRESS = Conflict("该投递仍在重试中，无需重发", "This delivery is still being retried; no replay needed",
                       code="WEBHOOK_DELIVERY_IN_PROGRESS")
DISABLED = Conflict("端点已停用，请先启用", "The endpoint is disabled; enable it first", code="WEBHOOK_ENDPOINT_DISABLED")


def _county_admin(actor: Actor) -> int:
    if actor.role is not Role.COUNTY_ADMIN or actor.county_id is None:
        raise PermissionDenied()
    return actor.county_id


def event_types() -> list[EventTypeOut]:
    return [EventTypeOut(name=e.name, title_zh=e.title_zh, description_en=e.description_en,
                         data_fields=list(e.data_fields), to_recipient_only=e.to_recipient_only)
            for e in rules.EVENT_TYPES.values()]


def _out(r: dict) -> EndpointOut:
    types = json.loads(r["event_types"]) if isinstance(r["event_types"], str) else r["event_types"]
    return EndpointOut(id=r["id"], subscriber_zh=r["subscriber_zh"], recipient_id=r["recipient"], url=r["url"],
                       description=r["description"], event_types=types, enabled=r["enabled"],
                       disabled_reason=r["disabled_reason"], disabled_at=r["disabled_at"],
                       consecutive_failures=r["consecutive_failures"], failing_since=r["failing_since"],
                       previous_secret_valid_until=r["previous_valid_until"], created_at=r["created_at"])


async def _check_url(url: str) -> None:
    try:
        await signing.check_destination(url)
    except rules.UrlRefused as exc:
        raise InvalidInput(URL_REFUSED.message_zh, URL_REFUSED.message_en, code=URL_REFUSED.code,
                           details={"reason": exc.reason, "detail": str(exc)}) from exc


async def _audit(kind: str, actor: Actor, detail: dict) -> None:
    await SecurityEvent.insert(SecurityEvent(kind=kind, principal=actor.label[:64],
                                             detail=json.dumps(detail, ensure_ascii=False, default=str)))


async def _endpoint(actor: Actor, endpoint_id: int, *, lock: bool = False) -> dict:
    """The endpoint if the caller's scope covers its county; 404 otherwise, as for one that does not exist."""
    _county_admin(actor)
    rows = await fetch(f"SELECT * FROM webhook_endpoint WHERE id = {{}}{' FOR UPDATE' if lock else ''}", endpoint_id)
    if not rows or not await scope.covers_county(actor, rows[0]["county"]):
        raise NotFound()
    return rows[0]


async def create_endpoint(actor: Actor, data: EndpointIn) -> EndpointCreatedOut:
    county_id = _county_admin(actor)
    await _check_url(data.url)
    if data.recipient_id is not None and not await fetch(
            "SELECT 1 FROM consent_recipient WHERE id = {} AND county = {}", data.recipient_id, county_id):
        raise RECIPIENT_UNKNOWN
    secret, cipher = signing.new_secret()
    async with engine_finder().transaction():
        rows = await fetch("""INSERT INTO webhook_endpoint (county, subscriber_zh, recipient, url, description,
                              event_types, secret_cipher, previous_secret_cipher, enabled, disabled_reason,
                              consecutive_failures, created_by, created_at)
                              VALUES ({}, {}, {}, {}, {}, {}::jsonb, {}, '', true, '', 0, {}, {}) RETURNING *""",
                           county_id, data.subscriber_zh, data.recipient_id, data.url, data.description,
                           json.dumps(data.event_types), cipher, actor.label[:64], clock.now())
        await _audit("webhook_endpoint_created", actor, {"endpoint": rows[0]["id"], "county": county_id,
                                                         "url": data.url, "event_types": data.event_types})
    return EndpointCreatedOut(**_out(rows[0]).model_dump(), secret=secret)


async def list_endpoints(actor: Actor) -> list[EndpointOut]:
    county_id = _county_admin(actor)
    return [_out(r) for r in await fetch("SELECT * FROM webhook_endpoint WHERE county = {} ORDER BY id", county_id)]


async def get_endpoint(actor: Actor, endpoint_id: int) -> EndpointOut:
    return _out(await _endpoint(actor, endpoint_id))


async def update_endpoint(actor: Actor, endpoint_id: int, data: EndpointPatch) -> EndpointOut:
    if data.url is not None:
        await _check_url(data.url)
    changes = data.model_dump(exclude_none=True)
    async with engine_finder().transaction():
        current = await _endpoint(actor, endpoint_id, lock=True)
        sets, args = [], []
        for column in ("url", "subscriber_zh", "description"):
            if column in changes:
                sets.append(f"{column} = {{}}")
                args.append(changes[column])
        if "event_types" in changes:
            sets.append("event_types = {}::jsonb")
            args.append(json.dumps(changes["event_types"]))
        if changes.get("enabled") is True and not current["enabled"]:
            # enabled again: past failures are forgiven (the subscriber says it is fixed)
            sets += ["enabled = true", "disabled_reason = ''", "disabled_at = NULL", "consecutive_failures = 0",
                     "failing_since = NULL"]
        elif changes.get("enabled") is False and current["enabled"]:
            sets += ["enabled = false", "disabled_reason = 'admin'", "disabled_at = {}"]
            args.append(clock.now())
        if sets:
            await fetch(f"UPDATE webhook_endpoint SET {', '.join(sets)} WHERE id = {{}}", *args, endpoint_id)
            await _audit("webhook_endpoint_changed", actor, {"endpoint": endpoint_id, "changes": changes})
        row = (await fetch("SELECT * FROM webhook_endpoint WHERE id = {}", endpoint_id))[0]
    return _out(row)


async def rotate_secret(actor: Actor, endpoint_id: int, data: RotateIn) -> SecretOut:
    """A new secret; the current one keeps signing too for ``grace_hours`` (deliveries then carry
    two signatures), so the subscriber can switch without losing a message. A secret older than the
    current one is dropped at once."""
    secret, cipher = signing.new_secret()
    now = clock.now()
    async with engine_finder().transaction():
        current = await _endpoint(actor, endpoint_id, lock=True)
        until = now + timedelta(hours=data.grace_hours) if data.grace_hours else None
        await fetch("""UPDATE webhook_endpoint SET secret_cipher = {}, previous_secret_cipher = {},
                       previous_valid_until = {} WHERE id = {}""",
                    cipher, current["secret_cipher"] if until else "", until, endpoint_id)
        await _audit("webhook_secret_rotated", actor, {"endpoint": endpoint_id, "grace_hours": data.grace_hours})
    return SecretOut(endpoint_id=endpoint_id, secret=secret, previous_secret_valid_until=until)


_DELIVERY_SQL = """SELECT d.*, m.msg_id, m.event_type FROM webhook_delivery d JOIN webhook_outbox m ON m.id = d.message"""


async def _deliveries_out(rows: list[dict]) -> list[DeliveryOut]:
    attempts: dict[int, list[AttemptOut]] = {}
    if rows:
        for a in await fetch("SELECT * FROM webhook_attempt WHERE delivery = ANY({}) ORDER BY id",
                             [r["id"] for r in rows]):
            attempts.setdefault(a["delivery"], []).append(AttemptOut(
                attempt_no=a["attempt_no"], replay=a["replay"], started_at=a["started_at"],
                duration_ms=a["duration_ms"], status_code=a["status_code"], error=a["error"],
                response_excerpt=a["response_excerpt"]))
    return [DeliveryOut(id=r["id"], webhook_id=r["msg_id"], event_type=r["event_type"], endpoint_id=r["endpoint"],
                        status=r["status"], attempts=r["attempts"],
                        next_attempt_at=r["next_attempt_at"] if r["status"] in ("pending", "delivering") else None,
                        last_status_code=r["last_status_code"], last_error=r["last_error"],
                        delivered_at=r["delivered_at"], created_at=r["created_at"], log=attempts.get(r["id"], []))
            for r in rows]


async def list_deliveries(actor: Actor, endpoint_id: int, *, status: str | None, limit: int,
                          offset: int) -> Page[DeliveryOut]:
    await _endpoint(actor, endpoint_id)
    where, args = "WHERE d.endpoint = {}", [endpoint_id]
    if status is not None:
        where += " AND d.status = {}"
        args.append(status)
    total = (await fetch(f"SELECT count(*) AS n FROM webhook_delivery d {where}", *args))[0]["n"]
    rows = await fetch(f"{_DELIVERY_SQL} {where} ORDER BY d.id DESC LIMIT {{}} OFFSET {{}}", *args, limit, offset)
    return Page[DeliveryOut](items=await _deliveries_out(rows), total=total, limit=limit, offset=offset)


async def replay(actor: Actor, delivery_id: int) -> DeliveryOut:
    """Send a delivered or failed message to its endpoint once more: a new attempt, the same
    ``webhook-id`` (the receiver may recognise it)."""
    _county_admin(actor)
    async with engine_finder().transaction():
        rows = await fetch("SELECT * FROM webhook_delivery WHERE id = {} FOR UPDATE", delivery_id)
        if not rows:
            raise NotFound()
        endpoint = await _endpoint(actor, rows[0]["endpoint"])
        if rows[0]["status"] not in (DELIVERED, FAILED) or rows[0]["replay_pending"]:
            raise IN_PROGRESS
        if not endpoint["enabled"]:
            raise DISABLED
        await fetch("""UPDATE webhook_delivery SET status = 'pending', replay_pending = true, next_attempt_at = {}
                       WHERE id = {}""", clock.now(), delivery_id)
        await _audit("webhook_replay", actor, {"delivery": delivery_id, "endpoint": endpoint["id"]})
    await jobs.enqueue(RELAY_JOB, job_id=f"relay-replay-{delivery_id}-{rows[0]['attempts']}")  # after commit
    return (await _deliveries_out(await fetch(f"{_DELIVERY_SQL} WHERE d.id = {{}}", delivery_id)))[0]
