"""Credit events (what happened, as reported) and ledger entries (the points it earned).

``ledger_entry`` is append-only in the database (UPDATE/DELETE/TRUNCATE refused by triggers)
and hash-chained in ``id`` order; a correction is a new entry whose ``reverses_entry`` points at
the original. ``credit_event`` is a workflow record: only its review columns may change.
"""

from piccolo.columns import JSONB, BigInt, BigSerial, Boolean, Date, ForeignKey, Integer, Numeric, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from backend.auth.tables import Account

# credit_event.status
PENDING_REVIEW = "pending_review"  # waits for a township admin before it counts
COUNTED = "counted"  # scored; its entries are in the ledger
REJECTED = "rejected"  # refused by a reviewer (reason kept)
SKIPPED = "skipped"  # counted, but scores nothing (a larger item of the same act won)
REVERSED = "reversed"  # withdrawn by a correction: out of the counted set, its entries reversed
REPAIRED = "repaired"  # 信用修复 approved: out of the counted set, its entries cancelled; the record stays (art. 45)


class CreditEvent(Table, tablename="credit_event"):
    """信用事件 — one reported act, exactly once per (recorder, idempotency key)."""

    id = BigSerial(primary_key=True)
    idempotency_key = Varchar(length=64)
    recorded_by = ForeignKey(Account, null=False, index=True, on_delete=OnDelete.restrict)
    payload_hash = Varchar(length=64)
    item_code = Varchar(length=48)
    subject_kind = Varchar(length=16)
    subject_id = Integer()
    person_id = Integer(null=True, default=None, index=True)
    household_id = Integer(null=True, default=None, index=True)
    township_id = Integer(index=True)
    grid_id = Integer(null=True, default=None)
    occurred_on = Date()
    recorded_on = Date()
    quantity = Numeric(digits=(12, 2), null=True, default=None)
    level = Varchar(length=48, null=True, default=None)
    act_id = Varchar(length=64, null=True, default=None)
    note = Text(default="")
    evidence_ids = JSONB(default=[])
    catalogue_version = Varchar(length=16)
    status = Varchar(length=16, index=True)
    late = Boolean(default=False)
    flag_reason = Text(default="")
    review_reason = Text(default="")
    reviewed_by = Integer(null=True, default=None)
    reviewed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class LedgerEntry(Table, tablename="ledger_entry"):
    """积分记录 — points (in tenths) for one subject, valid over [valid_from, valid_until)."""

    id = BigSerial(primary_key=True)
    county_id = Integer(index=True)  # whose chain it is in (backend.ledger.chain); the shard key by county
    event = BigInt(null=True, default=None, index=True)
    subject_kind = Varchar(length=16)
    subject_id = Integer()
    person_id = Integer(null=True, default=None, index=True)
    household_id = Integer(null=True, default=None, index=True)
    item_code = Varchar(length=48)
    catalogue_version = Varchar(length=16)
    points = Integer()
    valid_from = Date()
    valid_until = Date()
    grade_override = Varchar(length=4, null=True, default=None)
    quantity = Numeric(digits=(12, 2), null=True, default=None)
    act_id = Varchar(length=64, null=True, default=None)
    reverses_entry = BigInt(null=True, default=None, unique=True)
    reason = Text(default="")
    explanation_zh = Text(default="")
    explanation = JSONB(default={})
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz()
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64, unique=True)
