"""村规民约积分 tables: the county's limits, a village's rule versions, and the village points entries.

All three carry ``county_id`` (invariant 13) and none is ever deleted (migrations/village_rules, the
"guarantees" migration): a limits row never changes (a change is a new row, numbered per county);
a rule version's filing never changes and, once approved or rejected, nothing of it does; an entry
never changes (a reversal is a compensating row naming it). Village points live here only — never in
``ledger_entry`` — so the county's ledger, chain and standing cannot be touched by a village rule.
"""

from piccolo.columns import JSONB, BigInt, BigSerial, Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

# village_rule_version.status
PROPOSED = "proposed"
APPROVED = "approved"
REJECTED = "rejected"
STATUSES = (PROPOSED, APPROVED, REJECTED)


class VillageRuleLimits(Table, tablename="village_rule_limits"):
    """县级限额 — one version of a county's limits for village rule items (points in tenths)."""

    id = BigSerial(primary_key=True)
    county_id = Integer(index=True)
    version = Integer()  # 1, 2, … per county; the highest is in force
    min_points = Integer()
    max_points = Integer()
    max_validity_years = Integer()
    allowed_categories = JSONB(default=[])
    max_items = Integer()
    counts_toward_county_grade = Boolean(default=False)  # only *reported* beside the county grade
    note = Text(default="")
    created_by = Integer()
    created_at = Timestamptz(default=TimestamptzNow())


class VillageRuleVersion(Table, tablename="village_rule_version"):
    """A village's rule set (村规民约积分细则), proposed by a township admin for the village committee and
    approved by a second admin (maker-checker); frozen once decided."""

    id = BigSerial(primary_key=True)
    county_id = Integer(index=True)
    township_id = Integer(index=True)
    village_id = Integer(index=True)
    version = Integer()  # 1, 2, … per village (every proposal takes the next number)
    effective_from = Date()
    items = JSONB(default=[])
    canonical_json = Text()  # points_rules.village_rules.canonical_json; sha256 is its fingerprint
    sha256 = Varchar(length=64)
    limits_id = BigInt()  # the county limits it was checked against (at proposal, again at approval)
    status = Varchar(length=16, default=PROPOSED, index=True)
    proposed_by = Integer()
    proposed_at = Timestamptz(default=TimestamptzNow())
    note = Text(default="")
    decided_by = Integer(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    decision_reason = Text(default="")


class VillagePointsEntry(Table, tablename="village_points_entry"):
    """村规民约积分记录 — append-only; a reversal is a new row with ``reverses_entry`` and the opposite points."""

    id = BigSerial(primary_key=True)
    county_id = Integer(index=True)
    township_id = Integer(index=True)
    village_id = Integer(index=True)
    rule_version_id = BigInt()
    item_code = Varchar(length=48)
    item_name_zh = Varchar(length=64)
    category = Varchar(length=16)
    subject_kind = Varchar(length=16)
    subject_id = Integer()
    person_id = Integer(null=True, default=None, index=True)
    household_id = Integer(null=True, default=None, index=True)
    points = Integer()  # tenths
    occurred_on = Date()
    valid_until = Date()  # first day it no longer counts (validity from the event date)
    explanation_zh = Text()
    evidence_id = BigInt(null=True, default=None)
    note = Text(default="")
    recorded_by = Integer()
    recorded_by_role = Varchar(length=16)
    idempotency_key = Varchar(length=64)
    payload_hash = Varchar(length=64)
    reverses_entry = BigInt(null=True, default=None)
    recorded_at = Timestamptz(default=TimestamptzNow())
