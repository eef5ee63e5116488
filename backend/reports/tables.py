"""Report runs: one row per build of a county's semi-annual report.

The figures are stored as the canonical JSON text (``points_rules.reports.canonical_json``) with
their SHA-256; who asked and when are columns of the run, never part of the figures, so two builds
of one half-year can be compared byte for byte.
"""

from piccolo.columns import Date, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATUSES = (QUEUED, RUNNING, DONE, FAILED)


class ReportRun(Table, tablename="report_run"):
    """半年报生成记录 — one build of a county's report for a half-year."""

    id = Serial(primary_key=True)
    county_id = Integer(index=True)  # the shard key; CHECK > 0 in the database
    period_code = Varchar(length=8)  # 2026H1 / 2026H2
    through = Date(null=True, default=None)  # a provisional report's data cut (the half-year not over yet)
    status = Varchar(length=16, default=QUEUED)
    progress_done = Integer(default=0)  # sections built
    progress_total = Integer(default=0)  # sections to build
    figures = Text(null=True, default=None)  # canonical JSON (sorted keys, no timestamps), once done
    figures_sha256 = Varchar(length=64, default="")
    error_code = Varchar(length=48, default="")
    requested_by = Integer(null=True, default=None)  # the account
    requested_at = Timestamptz(default=TimestamptzNow())
    started_at = Timestamptz(null=True, default=None)
    heartbeat_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)
