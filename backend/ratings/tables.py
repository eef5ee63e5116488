"""Live standing (a cache recomputed from the ledger) and official ratings (periods, proposals,
decisions, objections, publicity). Only *effective* proposals are official."""

from piccolo.columns import (
    JSONB, BigSerial, Boolean, Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.constraints import Unique
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from backend.registry.tables import County

# rating_proposal.level
HOUSEHOLD, VILLAGE, TOWNSHIP = "household", "village", "township"
LEVELS = (HOUSEHOLD, VILLAGE, TOWNSHIP)

# rating_proposal.status
PROPOSED = "proposed"  # generated at period close, waiting for the township (or county) admin
AWAITING_SECOND = "awaiting_second"  # approved once; the catalogue asks for a second approver
RETURNED = "returned"  # sent back with a reason; may be re-proposed with a changed grade
PUBLICISED = "publicised"  # in its publicity period (公示期); objections possible
DISPUTED = "disputed"  # an objection is open: held back
EFFECTIVE = "effective"  # official: the only status banks and subsidy lists see


class StandingPerson(Table, tablename="standing_person"):
    """Live standing of a person (recomputed from the ledger)."""

    person_id = Integer(primary_key=True)
    household_id = Integer(null=True, default=None, index=True)
    score = Integer()
    grade = Varchar(length=4)
    grade_override = Varchar(length=4, null=True, default=None)
    serious_dishonesty = Boolean(default=False)
    catalogue_version = Varchar(length=16)
    as_of = Date()
    computed_at = Timestamptz(default=TimestamptzNow())
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class StandingHousehold(Table, tablename="standing_household"):
    household_id = Integer(primary_key=True)
    village_id = Integer(index=True)
    township_id = Integer(index=True)
    grid_id = Integer(index=True)
    score = Integer()
    grade = Varchar(length=8)
    is_credit = Boolean()
    serious_dishonesty = Boolean(default=False)
    catalogue_version = Varchar(length=16)
    as_of = Date()
    explanation_zh = Text(default="")
    computed_at = Timestamptz(default=TimestamptzNow())
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class StandingVillage(Table, tablename="standing_village"):
    village_id = Integer(primary_key=True)
    township_id = Integer(index=True)
    households = Integer()
    credit_households = Integer()
    serious_dishonesty_households = Integer()
    share_permille = Integer()
    is_credit = Boolean()
    stars = Integer()
    grade_counts = JSONB(default={})
    catalogue_version = Varchar(length=16)
    as_of = Date()
    explanation_zh = Text(default="")
    computed_at = Timestamptz(default=TimestamptzNow())
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class StandingTownship(Table, tablename="standing_township"):
    township_id = Integer(primary_key=True)
    villages = Integer()
    credit_villages = Integer()
    share_permille = Integer()
    is_credit = Boolean()
    catalogue_version = Varchar(length=16)
    as_of = Date()
    explanation_zh = Text(default="")
    computed_at = Timestamptz(default=TimestamptzNow())
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class RatingPeriod(Table, tablename="rating_period"):
    """评定周期 — e.g. the 2026 annual rating, as of ``ends_on``. Codes are the county's own
    (two counties may both have a "2026")."""

    id = Serial(primary_key=True)
    county = ForeignKey(County, null=False, on_delete=OnDelete.restrict)
    code = Varchar(length=16)
    name_zh = Varchar(length=64)
    starts_on = Date()
    ends_on = Date()
    status = Varchar(length=16, default="open")  # open | closed
    closed_at = Timestamptz(null=True, default=None)
    closed_by = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())

    rating_period_county_code = Unique([county, code])


class RatingProposal(Table, tablename="rating_proposal"):
    """One subject's rating for one period, from proposal to effective."""

    id = BigSerial(primary_key=True)
    period = ForeignKey(RatingPeriod, null=False, index=True, on_delete=OnDelete.restrict)
    level = Varchar(length=16)
    subject_id = Integer()
    township_id = Integer(index=True)
    village_id = Integer(null=True, default=None, index=True)
    computed_grade = Varchar(length=8)
    computed_score = Integer(null=True, default=None)
    grade = Varchar(length=8)  # the grade being approved: computed, or changed with a reason
    is_credit = Boolean()
    change_reason = Text(default="")
    status = Varchar(length=16, default=PROPOSED, index=True)
    explanation_zh = Text(default="")
    explanation = JSONB(default={})
    catalogue_version = Varchar(length=16)
    maker = Integer(null=True, default=None)
    checker = Integer(null=True, default=None)
    approved_at = Timestamptz(null=True, default=None)
    publicity_starts_on = Date(null=True, default=None)
    publicity_ends_on = Date(null=True, default=None)
    effective_on = Date(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class RatingDecision(Table, tablename="rating_decision"):
    """Every action on a proposal, append-only: who did what, when, why."""

    id = BigSerial(primary_key=True)
    proposal = ForeignKey(RatingProposal, null=False, index=True, on_delete=OnDelete.restrict)
    action = Varchar(length=24)
    actor = Integer(null=True, default=None)
    from_status = Varchar(length=16)
    to_status = Varchar(length=16)
    grade = Varchar(length=8, default="")
    reason = Text(default="")
    at = Timestamptz(default=TimestamptzNow())
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class RatingObjection(Table, tablename="rating_objection"):
    """异议 against a publicised rating; holds the rating back until every objection on it is decided.

    The art. 46 deadlines are stored when the objection is raised (1 working day to mark the record
    disputed, 7 to decide), so a later change to the calendar overrides cannot move them.
    """

    id = BigSerial(primary_key=True)
    proposal = ForeignKey(RatingProposal, null=False, index=True, on_delete=OnDelete.restrict)
    raised_by = Integer()
    reason = Text()
    status = Varchar(length=16, default="open")  # open | upheld | dismissed
    resolution_reason = Text(default="")
    resolution_grade = Varchar(length=8, default="")  # the corrected grade, when upheld
    resolved_by = Integer(null=True, default=None)
    raised_at = Timestamptz(default=TimestamptzNow())
    raised_on = Date(null=True, default=None)  # local date of raised_at: the day the deadlines count from
    mark_by = Date(null=True, default=None)  # legal deadline to mark the record disputed (1 working day)
    disputed_marked_on = Date(null=True, default=None)  # when it was marked (at once, on raising)
    respond_by = Date(null=True, default=None)  # legal deadline for the decision (7 working days)
    resolved_at = Timestamptz(null=True, default=None)
    resolved_on = Date(null=True, default=None)  # local date of resolved_at
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database


class CalendarOverride(Table, tablename="calendar_override"):
    """Admin-entered holidays and adjusted workdays (for years the official calendar lacks)."""

    day = Date(unique=True)
    kind = Varchar(length=8)  # holiday | workday
    note = Text(default="")
    created_by = Integer(null=True, default=None)
