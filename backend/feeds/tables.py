"""Feed sources, the batches they send, and every source record received (with what became of it).

``feed_record`` is the idempotency claim: one row per (source, source record id), written in the
same transaction as the credit event it leads to, so a record is either recorded with its event
or not written at all. Records Cunxin cannot match stay here (``status = 'unmatched'``) as the
township's matching queue until a township admin matches or dismisses them: nothing is dropped.
``feed_batch.signature`` is the replay store: a signature accepted once is refused ever after.
"""

from piccolo.columns import JSONB, BigInt, BigSerial, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.auth.tables import Account
from backend.registry.tables import County

# feed_record.status
RECORDED = "recorded"  # its credit event is written (event)
UNMATCHED = "unmatched"  # in the matching queue of township_id (or of the county when NULL)
DISMISSED = "dismissed"  # taken out of the queue by an admin, with a reason
WITHDRAWN = "withdrawn"  # the source removed it before anyone matched it
REMOVED = "removed"  # recorded, then removed at the source: its entry reversed / event withdrawn
REMOVAL_PENDING = "removal_pending"  # a removal being applied (a crash here is retried by a re-post)
REMOVAL_DONE = "removal_done"  # a removal applied to the record it names
REMOVAL_UNKNOWN = "removal_unknown"  # a removal naming a record the source never sent


class FeedSource(Table, tablename="feed_source"):
    """数据来源 — a neighbouring system (court, labour bureau, volunteer platform) of one county.

    ``mapping`` maps the source's record types to catalogue items: ``{"listed": {"item_code":
    "JUDGMENT-DEFAULTER"}}``. Events are recorded under ``account``, an inactive account of the
    county (it cannot log in) that stands for the source in the ledger and the access log."""

    county = ForeignKey(County, null=False, index=True, on_delete=OnDelete.restrict)
    code = Varchar(length=32, unique=True, index=True)
    name = Varchar(length=64)
    kind = Varchar(length=24)
    mapping = JSONB(default={})
    key_id = Varchar(length=40, unique=True, index=True)
    secret_cipher = Text(secret=True)
    account = ForeignKey(Account, null=False, on_delete=OnDelete.restrict)
    active = Boolean(default=True)
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    rotated_at = Timestamptz(null=True, default=None)


class FeedBatch(Table, tablename="feed_batch"):
    """One delivery: a signed POST (``signature`` unique: the replay store) or an Excel upload."""

    id = BigSerial(primary_key=True)
    source = ForeignKey(FeedSource, null=False, index=True, on_delete=OnDelete.restrict)
    county_id = Integer(index=True)
    channel = Varchar(length=8)  # api | xlsx
    signature = Varchar(length=80, null=True, default=None, unique=True)
    uploaded_by = Integer(null=True, default=None)
    record_count = Integer(default=0)
    counts = JSONB(default={})
    received_at = Timestamptz(default=TimestamptzNow())


class FeedRecord(Table, tablename="feed_record"):
    """来源记录 — one source record, once per (source, record_id)."""

    id = BigSerial(primary_key=True)
    source = ForeignKey(FeedSource, null=False, index=True, on_delete=OnDelete.restrict)
    county_id = Integer(index=True)
    township_id = Integer(null=True, default=None, index=True)
    batch = BigInt(null=True, default=None)
    record_id = Varchar(length=64)
    action = Varchar(length=8)
    record_type = Varchar(length=48, default="")
    item_code = Varchar(length=48, default="")
    status = Varchar(length=16, index=True)
    digest = Varchar(length=64)
    subject_kind = Varchar(length=16, default="")
    subject_id = Integer(null=True, default=None)
    identifier_hash = Varchar(length=64, default="", secret=True)
    identifier_masked = Varchar(length=20, default="")
    name = Varchar(length=32, default="")
    details = JSONB(default={})
    event = BigInt(null=True, default=None, index=True)
    removes = BigInt(null=True, default=None)
    resolved_by = Integer(null=True, default=None)
    resolution_reason = Text(default="")
    resolved_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
