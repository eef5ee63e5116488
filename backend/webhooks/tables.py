"""Outbound webhooks: endpoints, the transactional outbox, one delivery per (message, endpoint),
and every attempt. The guarantees the database holds are in ``migrations/webhooks/``: closed
vocabularies, one delivery per message and endpoint, attempts append-only, outbox rows never
changed or deleted."""

from piccolo.columns import JSONB, BigSerial, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.consent.tables import ConsentRecipient
from backend.registry.tables import County

# webhook_delivery.status
PENDING = "pending"  # waiting for its next attempt (``next_attempt_at``)
DELIVERING = "delivering"  # claimed by a relay until ``lease_until`` (reclaimed after, if it died)
DELIVERED = "delivered"
FAILED = "failed"  # the retry schedule is spent; a replay may send it again


class WebhookEndpoint(Table, tablename="webhook_endpoint"):
    """订阅端点 — a subscriber's URL (a bank, a subsidy system) for some event types of one county.

    ``recipient`` ties it to a consent recipient: ``consent.*`` events reach that recipient's
    endpoints only. Secrets are ``whsec_`` keys we generate, stored encrypted; during a rotation the
    previous one signs too until ``previous_valid_until``."""

    county = ForeignKey(County, null=False, index=True, on_delete=OnDelete.restrict)
    subscriber_zh = Varchar(length=128)
    recipient = ForeignKey(ConsentRecipient, null=True, default=None, on_delete=OnDelete.restrict)
    url = Varchar(length=2048)
    description = Text(default="")
    event_types = JSONB(default=[])
    secret_cipher = Text(secret=True)
    previous_secret_cipher = Text(default="", secret=True)
    previous_valid_until = Timestamptz(null=True, default=None)
    enabled = Boolean(default=True)
    disabled_reason = Varchar(length=16, default="")  # "" | admin | failing
    disabled_at = Timestamptz(null=True, default=None)
    consecutive_failures = Integer(default=0)
    failing_since = Timestamptz(null=True, default=None)
    created_by = Varchar(length=64, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class WebhookOutbox(Table, tablename="webhook_outbox"):
    """One message, written in the same transaction as the change it announces. ``msg_id`` is the
    ``webhook-id`` (the same on every attempt and replay); ``body`` the exact bytes sent."""

    id = BigSerial(primary_key=True)
    msg_id = Varchar(length=64, unique=True)
    county_id = Integer(index=True)
    event_type = Varchar(length=64)
    body = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class WebhookDelivery(Table, tablename="webhook_delivery"):
    """One message to one endpoint: its state, the next attempt and, while a relay holds it, the
    claim (``claim_token``, ``lease_until``)."""

    id = BigSerial(primary_key=True)
    message = ForeignKey(WebhookOutbox, null=False, index=True, on_delete=OnDelete.restrict)
    endpoint = ForeignKey(WebhookEndpoint, null=False, index=True, on_delete=OnDelete.restrict)
    county_id = Integer()
    status = Varchar(length=16, default=PENDING)
    attempts = Integer(default=0)
    retry_step = Integer(default=0)  # scheduled attempts whose outcome is recorded
    replay_pending = Boolean(default=False)  # a replay asked for one more attempt (same webhook-id)
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    claim_token = Varchar(length=32, default="")
    lease_until = Timestamptz(null=True, default=None)
    last_status_code = Integer(null=True, default=None)
    last_error = Text(default="")
    delivered_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class WebhookAttempt(Table, tablename="webhook_attempt"):
    """One HTTP attempt (append-only): status code or error, duration, the start of the answer."""

    id = BigSerial(primary_key=True)
    delivery = ForeignKey(WebhookDelivery, null=False, index=True, on_delete=OnDelete.restrict)
    county_id = Integer()
    attempt_no = Integer()
    replay = Boolean(default=False)
    started_at = Timestamptz(default=TimestamptzNow())
    duration_ms = Integer(default=0)
    status_code = Integer(null=True, default=None)
    error = Text(default="")
    response_excerpt = Text(default="")
