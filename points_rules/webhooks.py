"""Outbound webhooks as pure rules (Standard Webhooks, https://www.standardwebhooks.com/): the event
catalogue, who receives what, the signing input, the retry schedule, when an endpoint is disabled,
and which endpoint addresses are allowed. No I/O and no clock: instants are arguments.

Decisions written down here:

* **Thin payloads.** ``data`` carries ids and state words only ("effective", "upheld") — never a
  name, an ID number, a phone or a grade: a grade is personal data of a household, and a bank sees
  it only by pulling under the household's consent (``backend.bank``). The event says *something
  changed*; the subscriber asks for what it is entitled to.
* **Consent events go to that recipient only.** ``consent.*`` is delivered to endpoints registered
  for the consent's recipient (that bank, that subsidy office): another bank must not learn that a
  household deals with its competitor. Rating and objection events go to every endpoint of the
  county that subscribed to them.
* **Retries** (after Svix's schedule, stretched to about three days): attempt 1 at once, then after
  5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h — ten attempts over 75 h 35 min; then the
  delivery is *failed* (a replay may still send it).
* **Disabling**: an endpoint whose attempts have all failed for 5 days, with at least 10 failed
  attempts in a row, is disabled (a single failure after a long quiet spell does not disable).
* **Addresses** (SSRF): in production only ``https`` to a public address; loopback, link-local
  (169.254.x.x: cloud metadata), unspecified and multicast addresses are refused always in
  production, private networks (10/8, 172.16/12, 192.168/16, fc00::/7) unless the county runs
  its subscribers on its intranet and says so. Outside production ``http`` and local receivers are
  allowed (development, tests).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # Standard Webhooks: 24–64 random bytes, base64 after the prefix
SIGNATURE_VERSION = "v1"

RATING_EFFECTIVE = "rating.effective"
OBJECTION_DECIDED = "objection.decided"
CONSENT_GRANTED = "consent.granted"
CONSENT_WITHDRAWN = "consent.withdrawn"
REPAIR_DECIDED = "repair.decided"


@dataclass(frozen=True)
class EventType:
    name: str
    title_zh: str
    description_en: str
    data_fields: tuple[str, ...]
    to_recipient_only: bool = False  # delivered only to endpoints of the event's consent recipient


EVENT_TYPES: dict[str, EventType] = {e.name: e for e in (
    EventType(RATING_EFFECTIVE, "信用评定生效",
              "An official rating became effective (publicity over, no open objection). No grade: pull it under consent.",
              ("proposal_id", "period_id", "period_code", "level", "subject_kind", "subject_id", "status",
               "effective_on")),
    EventType(OBJECTION_DECIDED, "评定异议已处理",
              "An objection to a rating was decided (upheld or dismissed); the rating's state after the decision.",
              ("objection_id", "proposal_id", "period_id", "level", "subject_kind", "subject_id", "decision",
               "rating_status")),
    EventType(CONSENT_GRANTED, "授权已生效",
              "A household or person consented to this recipient (delivered to that recipient's endpoints only).",
              ("consent_id", "subject_kind", "subject_id", "recipient_id", "purpose", "data_scope", "expires_on"),
              to_recipient_only=True),
    EventType(CONSENT_WITHDRAWN, "授权已撤回",
              "A consent to this recipient was withdrawn, effective at once (that recipient's endpoints only).",
              ("consent_id", "grant_id", "subject_kind", "subject_id", "recipient_id", "purpose", "withdrawn_at"),
              to_recipient_only=True),
    EventType(REPAIR_DECIDED, "信用修复已办结",
              "A credit-repair application was decided: approved (the entry no longer counts; the catalogue's "
              "replacement event, if any, is recorded) or refused. Pull the rating again under consent.",
              ("repair_id", "subject_kind", "subject_id", "event_id", "decision", "replacement_event_id")),
)}


def routes_to(event_type: str, subscribed: Iterable[str], *, event_recipient_id: int | None,
              endpoint_recipient_id: int | None) -> bool:
    """Whether an endpoint (its subscribed types, its consent recipient) receives this event."""
    kind = EVENT_TYPES[event_type]
    if event_type not in set(subscribed):
        return False
    if kind.to_recipient_only:
        return endpoint_recipient_id is not None and endpoint_recipient_id == event_recipient_id
    return True


def envelope(event_type: str, at: datetime, data: dict) -> str:
    """The JSON body ``{type, timestamp, data}`` — fixed once, sent byte for byte on every attempt."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    unknown = set(data) - set(EVENT_TYPES[event_type].data_fields)
    if unknown:  # a field outside the catalogue could carry personal data nobody reviewed
        raise ValueError(f"{event_type}: fields outside the catalogue: {sorted(unknown)}")
    stamp = at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps({"type": event_type, "timestamp": stamp, "data": data}, ensure_ascii=False,
                      separators=(",", ":"), sort_keys=True, default=str)


# --- signing ------------------------------------------------------------------------------------


def secret_from_bytes(raw: bytes) -> str:
    """``whsec_`` + base64 of the key bytes (how Standard Webhooks libraries read a secret)."""
    if not 24 <= len(raw) <= 64:
        raise ValueError("a signing key is 24 to 64 bytes")
    return SECRET_PREFIX + base64.b64encode(raw).decode("ascii")


def _key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    return base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)


def signing_input(msg_id: str, timestamp: int, body: str) -> bytes:
    """What is signed: ``{webhook-id}.{webhook-timestamp}.{body}``."""
    return f"{msg_id}.{timestamp}.{body}".encode("utf-8")


def signature(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """``v1,<base64 HMAC-SHA256>`` of the signing input under one secret."""
    digest = hmac.new(_key(secret), signing_input(msg_id, timestamp, body), hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def headers(secrets: Iterable[str], msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers; one signature per valid secret, space-separated (during
    a rotation the receiver may still hold the old secret)."""
    signatures = [signature(s, msg_id, timestamp, body) for s in secrets]
    if not signatures:
        raise ValueError("at least one secret")
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": " ".join(signatures),
            "content-type": "application/json"}


# --- retries and disabling ---------------------------------------------------------------------------

RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=5),
    timedelta(hours=10), timedelta(hours=14), timedelta(hours=20), timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1  # the first attempt is immediate
DISABLE_AFTER = timedelta(days=5)
DISABLE_MIN_FAILURES = 10


def next_delay(failed_attempts: int) -> timedelta | None:
    """After the ``failed_attempts``-th scheduled attempt failed: how long until the next one, or
    ``None`` when the schedule is spent (the delivery has failed)."""
    if failed_attempts < 1:
        raise ValueError("counts attempts from 1")
    return RETRY_DELAYS[failed_attempts - 1] if failed_attempts <= len(RETRY_DELAYS) else None


def is_success(status_code: int | None) -> bool:
    """2xx is delivered; anything else (a redirect included: we do not follow them) is a failure."""
    return status_code is not None and 200 <= status_code < 300


def should_disable(consecutive_failures: int, failing_since: datetime | None, now: datetime) -> bool:
    """Persistent failure: every attempt failed for :data:`DISABLE_AFTER`, and enough of them."""
    return (failing_since is not None and consecutive_failures >= DISABLE_MIN_FAILURES
            and now - failing_since >= DISABLE_AFTER)


# --- addresses (SSRF) -------------------------------------------------------------------------------


class UrlRefused(ValueError):
    """``reason`` is a stable word: scheme, host, credentials, address."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def check_url(url: str, *, production: bool) -> tuple[str, str, int]:
    """The URL's form: ``(scheme, host, port)``, or :class:`UrlRefused`. Addresses are checked apart
    (:func:`check_addresses`), at registration and again before every attempt (DNS may change)."""
    try:
        parts = urlsplit(url)
        parts.hostname, parts.port  # noqa: B018 - both parse lazily and raise on a malformed netloc
    except ValueError as exc:  # "http://[::1", a port out of range
        raise UrlRefused("host", "malformed host or port") from exc
    if parts.scheme not in ("https", "http") or (production and parts.scheme != "https"):
        raise UrlRefused("scheme", "https is required" if production else "http or https")
    if parts.username or parts.password:
        raise UrlRefused("credentials", "no user or password in the URL")
    if not parts.hostname:
        raise UrlRefused("host", "no host")
    if parts.fragment:
        raise UrlRefused("host", "no fragment")
    return parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def check_addresses(addresses: Iterable[str], *, production: bool, allow_private: bool) -> None:
    """Every address a host resolves to must be allowed (one bad one refuses the host)."""
    addresses = list(addresses)
    if not addresses:
        raise UrlRefused("address", "the host does not resolve")
    if not production:
        return
    for raw in addresses:
        ip = ipaddress.ip_address(raw)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast or ip.is_reserved:
            raise UrlRefused("address", f"{ip} is not reachable from outside")
        if (ip.is_private or not ip.is_global) and not allow_private:
            raise UrlRefused("address", f"{ip} is a private address")
