"""Measures (one row per version) and eligibility lists built from them.

A measure row never changes (UPDATE/DELETE refused by the database): an edit or an end is a new
version that ``supersedes`` the previous one, so every list built from a version stays
reproducible. List entries are append-only and written in the same transaction that marks their
list ``done``; a done list no longer changes.
"""

from piccolo.columns import JSONB, BigSerial, Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.registry.tables import County

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
LIST_STATUSES = (QUEUED, RUNNING, DONE, FAILED)


class Measure(Table, tablename="measure"):
    """激励/惩戒措施 — one version of a listed measure of a county (清单之外不得实施)."""

    id = Serial(primary_key=True)
    county = ForeignKey(County, null=False, index=True, on_delete=OnDelete.restrict)
    code = Varchar(length=32)
    version = Integer(default=1)
    kind = Varchar(length=16)  # incentive | restriction
    category = Varchar(length=24)
    name_zh = Varchar(length=128)
    legal_basis = Text()
    conditions = JSONB(default=[])
    valid_from = Date()
    valid_to = Date(null=True, default=None)
    office_zh = Varchar(length=128)  # 实施单位
    supersedes = Integer(null=True, default=None)  # the version this one replaces
    change_reason = Text(default="")
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class EligibilityList(Table, tablename="eligibility_list"):
    """名单 — the households a measure version applies to on ``as_of``, built by a worker job."""

    id = Serial(primary_key=True)
    county = ForeignKey(County, null=False, index=True, on_delete=OnDelete.restrict)
    measure = ForeignKey(Measure, null=False, index=True, on_delete=OnDelete.restrict)
    as_of = Date()
    status = Varchar(length=16, default=QUEUED)
    progress_done = Integer(default=0)
    progress_total = Integer(null=True, default=None)
    households = Integer(null=True, default=None)
    catalogue_version = Varchar(length=16, default="")
    error_code = Varchar(length=48, default="")
    error_zh = Text(default="")
    requested_by = Integer()
    requested_at = Timestamptz(default=TimestamptzNow())
    started_at = Timestamptz(null=True, default=None)
    heartbeat_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)


class EligibilityListEntry(Table, tablename="eligibility_list_entry"):
    """One household on a list, with what the export shows, as it stood on the list's day."""

    id = BigSerial(primary_key=True)
    list = ForeignKey(EligibilityList, null=False, index=True, on_delete=OnDelete.restrict)
    seq = Integer()
    household_id = Integer()
    household_code = Varchar(length=24)
    township_id = Integer()
    township_name = Varchar(length=64)
    village_id = Integer()
    village_name = Varchar(length=64)
    grid_id = Integer()
    head_person_id = Integer(null=True, default=None)
    head_name_masked = Varchar(length=32, default="")
    head_id_masked = Varchar(length=18, default="")
    grade = Varchar(length=8, default="")
    period_code = Varchar(length=16, default="")
    period_name_zh = Varchar(length=64, default="")
    publicity_starts_on = Date(null=True, default=None)
    publicity_ends_on = Date(null=True, default=None)
    reason_zh = Text(default="")
    county_id = Integer()  # the county: the shard key (docs/scale-out.md); CHECK > 0 in the database
