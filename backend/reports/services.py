"""The semi-annual report (半年报, by 06-20 and 12-20): a county admin asks for a half-year, the worker
builds its eight sections from the data alone, and the run keeps the figures as canonical JSON with
their SHA-256.

Decisions (the issue left them open):

- **The report is due before its half-year ends** (06-20, 12-20), so the current half-year is built
  *provisionally*, up to a data cut ``through``: by default yesterday, the last day that is over
  (the cut is part of the run and of the figures, and two builds with one cut agree byte for
  byte). A past half-year is built whole (or up to a cut the caller names). A half-year that has
  not begun, or a cut that is today or later, is refused (409): those figures could still move.
- **The cut** is the day a record was written (``backend.reports.figures``), so a report for a past
  half-year built again later gives the same figures, byte for byte.
- **Runs, not caches.** Every POST makes a run (building twice is how a county checks the figures
  did not move), except while a run of the same half-year is still queued or running: that run is
  answered instead.
- The run row carries who asked, when it was asked and finished; the figures carry none of it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date, timedelta

from asyncpg.exceptions import PostgresError

from backend import clock, jobs
from backend.audit.tables import SecurityEvent
from backend.auth.roles import Actor, Role
from backend.db import fetch
from backend.errors import Conflict, CunxinError, InvalidInput, NotFound, PermissionDenied
from backend.reports import figures as sections
from backend.reports.schemas import ReportRunOut
from backend.reports.tables import DONE, FAILED, QUEUED, RUNNING
from points_rules.reports import HalfYear, PeriodError, canonical_json, figures_sha256, parse_period

logger = logging.getLogger("cunxin.reports")

STALE_AFTER = timedelta(minutes=10)
PERIOD_INVALID = InvalidInput("半年度代码应为 YYYYH1 或 YYYYH2，如 2026H1", "period must be YYYYH1 or YYYYH2, e.g. 2026H1",
                              code="REPORT_PERIOD_INVALID")
NOT_STARTED = Conflict("该半年度尚未开始（或今天才开始），还没有可报告的数据", "That half-year has not begun (or begins today): "
                       "there is nothing to report yet", code="REPORT_PERIOD_NOT_STARTED")
CUT_NOT_OVER = Conflict("统计截止日须早于今天（当天的数据还会变化）", "The data cut must be a day before today "
                        "(today's records can still change)", code="REPORT_CUT_NOT_OVER")
CUT_INVALID = Conflict("统计截止日不在该半年度内", "The data cut is not a day of that half-year", code="REPORT_CUT_INVALID")
NOT_DONE = Conflict("报告尚未生成完毕", "The report is not built yet", code="REPORT_NOT_DONE")

Progress = Callable[[int, int], None]


def _reader_county(actor: Actor) -> int:
    if actor.role not in (Role.COUNTY_ADMIN, Role.AUDITOR) or actor.county_id is None:
        raise PermissionDenied()
    return actor.county_id


def _admin_county(actor: Actor) -> int:
    if actor.role is not Role.COUNTY_ADMIN or actor.county_id is None:
        raise PermissionDenied()
    return actor.county_id


def half_year(code: str, through: date | None = None, today: date | None = None) -> HalfYear:
    """The half-year ``code`` up to its data cut: a past half-year whole unless ``through`` names a
    day in it; the current one up to ``through`` or, by default, yesterday. The cut must be over."""
    today = today or clock.today()
    try:
        period = parse_period(code)
    except PeriodError:
        raise PERIOD_INVALID.fresh() from None
    if period.starts_on >= today:
        raise NOT_STARTED.fresh(period=period.code, starts_on=period.starts_on.isoformat())
    if through is None and not period.is_over(today):
        through = today - timedelta(days=1)
    if through is not None and through >= today:
        raise CUT_NOT_OVER.fresh(period=period.code, through=through.isoformat(), today=today.isoformat())
    try:
        return period.cut(through)
    except PeriodError:
        raise CUT_INVALID.fresh(period=period.code, starts_on=period.starts_on.isoformat(),
                                ends_on=period.full_ends_on.isoformat(), through=through.isoformat()) from None


# --- runs ----------------------------------------------------------------------------------------

async def request_report(actor: Actor, code: str, through: date | None = None) -> ReportRunOut:
    """A county admin's request: a queued run (or the one of that half-year and cut still in progress)."""
    county_id = _admin_county(actor)
    period = half_year(code, through)
    pending = await fetch("SELECT id FROM report_run WHERE county_id = {} AND period_code = {} "
                          "AND through IS NOT DISTINCT FROM {} AND status = ANY({}) ORDER BY id DESC LIMIT 1",
                          county_id, period.code, period.through, [QUEUED, RUNNING])
    if pending:
        return await _run_out(pending[0]["id"], county_id)
    run_id = (await fetch("INSERT INTO report_run (county_id, period_code, through, progress_total, requested_by) "
                          "VALUES ({}, {}, {}, {}, {}) RETURNING id", county_id, period.code, period.through,
                          len(sections.SECTIONS), actor.id))[0]["id"]
    await SecurityEvent.insert(SecurityEvent(kind="report_requested", principal=actor.label[:64],
                                             detail=json.dumps({"run": run_id, "county": county_id, "period": period.code,
                                                                 "through": period.through and period.through.isoformat()})))
    await jobs.enqueue("build_semi_annual_report", run_id, job_id=f"report-run-{run_id}")
    return await _run_out(run_id, county_id)


async def _readable_run(actor: Actor, run_id: int) -> dict:
    county_id = _reader_county(actor)
    rows = await fetch("SELECT * FROM report_run WHERE county_id = {} AND id = {}", county_id, run_id)
    if not rows:
        raise NotFound()
    return rows[0]


async def get_run(actor: Actor, run_id: int) -> ReportRunOut:
    return run_out(await _readable_run(actor, run_id), with_figures=True)


async def list_runs(actor: Actor, *, limit: int, offset: int) -> list[ReportRunOut]:
    county_id = _reader_county(actor)
    rows = await fetch("SELECT * FROM report_run WHERE county_id = {} ORDER BY id DESC LIMIT {} OFFSET {}",
                       county_id, limit, offset)
    return [run_out(r) for r in rows]


async def done_run(actor: Actor, run_id: int) -> tuple[dict, dict]:
    """A finished run and its figures (for the workbook and the print page)."""
    row = await _readable_run(actor, run_id)
    if row["status"] != DONE:
        raise NOT_DONE.fresh(status=row["status"])
    return row, json.loads(row["figures"])


def run_out(r: dict, *, with_figures: bool = False) -> ReportRunOut:
    return ReportRunOut(
        id=r["id"], county_id=r["county_id"], period=r["period_code"], through=r["through"],
        provisional=r["through"] is not None, status=r["status"],
        progress_done=r["progress_done"], progress_total=r["progress_total"], requested_by=r["requested_by"],
        requested_at=r["requested_at"], started_at=r["started_at"], finished_at=r["finished_at"],
        error_code=r["error_code"], figures_sha256=r["figures_sha256"],
        figures=json.loads(r["figures"]) if with_figures and r["figures"] else None)


async def _run_out(run_id: int, county_id: int) -> ReportRunOut:
    return run_out((await fetch("SELECT * FROM report_run WHERE county_id = {} AND id = {}", county_id, run_id))[0])


# --- building ------------------------------------------------------------------------------------

async def build_figures(county_id: int, period: HalfYear, progress: Callable[[int], object] | None = None) -> dict:
    """The report's figures, from the data alone (no clock, no requester): section by section."""
    county = (await fetch("SELECT code, name FROM county WHERE id = {}", county_id))[0]
    built = {}
    for done, (key, section) in enumerate(sections.SECTIONS, 1):
        built[key] = await section(county_id, period)
        if progress is not None:
            await progress(done)
    return {"period": period.code, "period_name_zh": period.name_zh, "starts_on": period.starts_on.isoformat(),
            "ends_on": period.ends_on.isoformat(), "provisional": period.provisional,
            "period_ends_on": period.full_ends_on.isoformat(), "county": {"code": county["code"], "name": county["name"]},
            "cut": sections.CUT, "sections": built}


async def _claim(run_id: int) -> dict | None:
    """Take a queued run (or one whose worker was lost) for this process; None if it is not ours to do."""
    now = clock.now()
    rows = await fetch(
        """UPDATE report_run SET status = {}, started_at = coalesce(started_at, {}), heartbeat_at = {},
                  progress_done = 0, attempts = attempts + 1
           WHERE id = {} AND (status = {} OR (status = {} AND heartbeat_at < {})) RETURNING *""",
        RUNNING, now, now, run_id, QUEUED, RUNNING, now - STALE_AFTER)
    return rows[0] if rows else None


async def run_report(run_id: int, *, progress: Progress | None = None) -> str:
    """Build one run (the worker job). Idempotent: a run that has ended, or that a live worker is
    building, is left alone; a lost worker's run is built again from the start."""
    run = await _claim(run_id)
    if run is None:
        rows = await fetch("SELECT status FROM report_run WHERE id = {}", run_id)
        return rows[0]["status"] if rows else "missing"
    county_id, total = run["county_id"], len(sections.SECTIONS)

    async def step(done: int) -> None:
        await fetch("UPDATE report_run SET progress_done = {}, heartbeat_at = {} WHERE county_id = {} AND id = {}",
                    done, clock.now(), county_id, run_id)
        if progress is not None:
            progress(done, total)

    if progress is not None:
        progress(0, total)
    try:
        figures = await build_figures(county_id, parse_period(run["period_code"]).cut(run["through"]), step)
        text = canonical_json(figures)
    except (CunxinError, PostgresError, PeriodError) as exc:
        logger.exception("report run %s failed", run_id)
        code = exc.code if isinstance(exc, CunxinError) else "REPORT_BUILD_FAILED"
        await fetch("UPDATE report_run SET status = {}, error_code = {}, finished_at = {} WHERE county_id = {} AND id = {}",
                    FAILED, code[:48], clock.now(), county_id, run_id)
        return FAILED
    await fetch("""UPDATE report_run SET status = {}, figures = {}, figures_sha256 = {}, progress_done = {},
                          finished_at = {}, heartbeat_at = {} WHERE county_id = {} AND id = {}""",
                DONE, text, figures_sha256(figures), total, clock.now(), clock.now(), county_id, run_id)
    return DONE


async def requeue_stale() -> int:
    """Runs still queued (Redis was down when asked) or whose worker was lost: queued again."""
    now = clock.now()
    rows = await fetch(
        """SELECT id FROM report_run WHERE (status = {} AND requested_at < {}) OR (status = {} AND heartbeat_at < {})
           ORDER BY id""", QUEUED, now - timedelta(minutes=2), RUNNING, now - STALE_AFTER)
    for r in rows:
        await jobs.enqueue("build_semi_annual_report", r["id"], job_id=None)
    return len(rows)
