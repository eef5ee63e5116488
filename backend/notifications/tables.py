"""通知 — the villager's inbox, one delivery per notice and external channel, and the delivery log.

``notice`` is written inside the transaction of the change it announces (the outbox pattern: see
``backend.notifications.outbox``); ``(county_id, recipient_person_id, dedupe_key)`` is unique, so a
replayed change or a second run writes nothing. ``notice_delivery`` is one row per notice and
external channel (SMS, WeChat, the logging stand-in), claimed by the dispatcher with a token and a
lease. ``notice_attempt`` is the delivery log, append-only: every send and every skip, with the
exact text that left the platform and the masked address it went to. The guarantees the database
holds are in ``migrations/notifications/``.
"""

from piccolo.columns import BigInt, BigSerial, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

# notice_delivery.status
PENDING = "pending"  # waits for its due_at (after quiet hours)
SENDING = "sending"  # claimed by a dispatcher until lease_until (reclaimed after, if it died)
SENT = "sent"
FAILED = "failed"  # the attempts are spent
SKIPPED = "skipped"  # nothing to send to (no phone, no openid)
STATUSES = (PENDING, SENDING, SENT, FAILED, SKIPPED)


class Notice(Table, tablename="notice"):
    """站内通知 — one notice in one person's inbox (the phone app's 消息)."""

    id = BigSerial(primary_key=True)
    county_id = Integer()
    recipient_person_id = Integer()
    kind = Varchar(length=32)  # points_rules.notifications.KINDS
    dedupe_key = Varchar(length=96)  # e.g. event:{id}:recorded — one notice per recipient and key
    title_zh = Varchar(length=64)
    body_zh = Text()
    link = Varchar(length=128, null=True, default=None)  # a phone-app hash route ("/me", "/objections/12")
    subject_kind = Varchar(length=16, default="")  # what it is about: person | household | ""
    subject_id = Integer(null=True, default=None)
    ref_kind = Varchar(length=24, default="")  # the record it announces: event | period | objection | …
    ref_id = BigInt(null=True, default=None)
    external_text = Text(default="")  # what a channel may send: content-free (points_rules.notifications)
    created_at = Timestamptz(default=TimestamptzNow())
    read_at = Timestamptz(null=True, default=None)


class NoticeDelivery(Table, tablename="notice_delivery"):
    """One notice to one external channel: its state, when it is due, and the dispatcher's claim."""

    id = BigSerial(primary_key=True)
    county_id = Integer()
    notice = BigInt(index=True)
    recipient_person_id = Integer()
    channel = Varchar(length=16)
    status = Varchar(length=16, default=PENDING)
    due_at = Timestamptz(default=TimestamptzNow())  # the end of quiet hours, or the notice's time
    attempts = Integer(default=0)
    claim_token = Varchar(length=32, default="")
    lease_until = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    sent_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class NoticeAttempt(Table, tablename="notice_attempt"):
    """发送记录 — the delivery log (append-only): each send or skip, the channel, the masked address
    and the exact text that left the platform (or would have)."""

    id = BigSerial(primary_key=True)
    county_id = Integer()
    delivery = BigInt(index=True)
    notice = BigInt()
    recipient_person_id = Integer(index=True)
    channel = Varchar(length=16)
    outcome = Varchar(length=16)  # sent | failed | skipped
    address_masked = Varchar(length=64, default="")
    text = Text(default="")
    error = Text(default="")
    at = Timestamptz(default=TimestamptzNow())
