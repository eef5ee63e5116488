"""党建活动 — a party-organised activity recorded once; its attendees' events live in the ledger."""

from piccolo.columns import BigInt, Date, Integer, Numeric, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class PartyActivity(Table, tablename="party_activity"):
    """One activity of a party branch; ``(recorded_by, idempotency_key)`` is unique (raw SQL in the
    migration), so a replay or a concurrent double post finds the same row and the same events."""

    recorded_by = Integer(index=True)
    idempotency_key = Varchar(length=40)
    branch = Integer(index=True)
    township_id = Integer(index=True)
    kind = Varchar(length=24)
    item_code = Varchar(length=48)
    level = Varchar(length=48, null=True, default=None)
    quantity = Numeric(digits=(12, 2), null=True, default=None)
    occurred_on = Date()
    place = Varchar(length=128)
    description = Text()
    photo = BigInt(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class PatrolReport(Table, tablename="patrol_report"):
    """巡查报告 — a grid worker's patrol of one of their grids; each finding may be a ledger event
    (keyed from the report and the finding's place in it). ``(recorded_by, idempotency_key)`` is
    unique (raw SQL in the migration)."""

    recorded_by = Integer(index=True)
    idempotency_key = Varchar(length=40)
    grid_id = Integer(index=True)
    township_id = Integer(index=True)
    patrolled_on = Date()
    route = Varchar(length=500)
    notes = Text()
    photo = BigInt(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database
