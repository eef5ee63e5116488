"""Each grid worker's own work over a range of recording dates (网格员工作量): events logged,
reviews passed and rejected, late entries, entry objections upheld against their entries, party
patrol reports filed, party activities recorded — JSON, an SVG chart and an Excel workbook.

Aggregates of staff work (counts per grid worker, no villager named): not villagers' personal
data, so no access-log row. A township admin sees the grid workers with a grid in their township,
a county admin those of the county, a grid worker their own row only.
"""

from __future__ import annotations

import asyncio
from datetime import date


from backend import clock
from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.charts.svg import trend_chart
from backend.db import fetch
from backend.sheets import report_sheet
from backend.errors import PermissionDenied
from backend.fieldwork.schemas import GridWorkerWorkOut, WorkReportOut
from backend.objections.report import XLSX, bad_range, parse_range  # noqa: F401  (the same range rules)

HEADER = ["账号", "网格员", "登记事件", "审核通过", "审核驳回", "逾期登记", "异议成立", "巡查报告", "党组织活动"]
WIDTHS = [16, 20, 10, 10, 10, 10, 10, 10, 12]

_WORKERS_SQL = """
SELECT DISTINCT a.id, a.username, a.display_name FROM account a
JOIN grid_assignment ga ON ga.account = a.id
JOIN grid g ON g.id = ga.grid JOIN village v ON v.id = g.village
WHERE a.role = 'grid_worker' AND v.township = ANY({}) AND ga.valid_from <= {}
  AND (ga.valid_to IS NULL OR ga.valid_to >= {})
ORDER BY a.username
"""

_COUNTS_SQL = """
SELECT e.recorded_by AS account,
       count(*) AS logged,
       count(*) FILTER (WHERE e.reviewed_by IS NOT NULL AND e.status <> 'rejected') AS approved,
       count(*) FILTER (WHERE e.status = 'rejected') AS rejected,
       count(*) FILTER (WHERE e.late) AS late,
       count(DISTINCT o.event_id) AS upheld
FROM credit_event e
LEFT JOIN entry_objection o ON o.event_id = e.id AND o.status = 'upheld'
WHERE e.recorded_by = ANY({}) AND e.recorded_on BETWEEN {} AND {}
GROUP BY e.recorded_by
"""


async def _workers(actor: Actor, start: date, end: date) -> list[dict]:
    if actor.role is Role.GRID_WORKER:
        return await fetch("SELECT id, username, display_name FROM account WHERE id = {}", actor.id)
    if actor.role is Role.COUNTY_ADMIN and actor.county_id is not None:
        townships = await scope.townships_of_county(actor.county_id)
    elif actor.role is Role.TOWNSHIP_ADMIN and actor.township_id is not None:
        townships = [actor.township_id]
    else:
        raise PermissionDenied()
    return await fetch(_WORKERS_SQL, townships, end, start)


async def work_report(actor: Actor, start: date, end: date) -> WorkReportOut:
    workers = await _workers(actor, start, end)
    ids = [w["id"] for w in workers]
    counts = {r["account"]: r for r in await fetch(_COUNTS_SQL, ids, start, end)}
    activities = {r["recorded_by"]: r["n"] for r in await fetch(
        """SELECT recorded_by, count(*) AS n FROM party_activity
           WHERE recorded_by = ANY({}) AND (created_at AT TIME ZONE {})::date BETWEEN {} AND {}
           GROUP BY recorded_by""", ids, str(clock.zone()), start, end)}
    patrols = {r["recorded_by"]: r["n"] for r in await fetch(
        """SELECT recorded_by, count(*) AS n FROM patrol_report
           WHERE recorded_by = ANY({}) AND patrolled_on BETWEEN {} AND {} GROUP BY recorded_by""", ids, start, end)}
    rows = []
    for w in workers:
        c = counts.get(w["id"], {})
        rows.append(GridWorkerWorkOut(
            account_id=w["id"], username=w["username"], display_name=w["display_name"],
            events_logged=c.get("logged", 0), reviews_approved=c.get("approved", 0),
            reviews_rejected=c.get("rejected", 0), late_entries=c.get("late", 0),
            objections_upheld=c.get("upheld", 0), patrols_filed=patrols.get(w["id"], 0),
            activities_recorded=activities.get(w["id"], 0)))
    return WorkReportOut(date_from=start, date_to=end, as_of=clock.today(), grid_workers=rows)


async def work_chart(actor: Actor, start: date, end: date) -> str:
    """One line per measure across the grid workers (SVG, no outside resources)."""
    report = await work_report(actor, start, end)
    rows = report.grid_workers
    series = {"登记事件": [r.events_logged for r in rows], "审核通过": [r.reviews_approved for r in rows],
              "审核驳回": [r.reviews_rejected for r in rows], "逾期登记": [r.late_entries for r in rows],
              "异议成立": [r.objections_upheld for r in rows], "巡查报告": [r.patrols_filed for r in rows]}
    return trend_chart(f"网格员工作量（{start.isoformat()}至{end.isoformat()}）",
                       [r.display_name or r.username for r in rows], series, y_label="件数", y_max=None)


def _workbook(report: WorkReportOut) -> bytes:
    return report_sheet(
        sheet_title="网格员工作量",
        title=f"网格员工作量（{report.date_from:%Y年%m月%d日}至{report.date_to:%Y年%m月%d日}登记）",
        note=f"统计日：{report.as_of:%Y年%m月%d日}", header=HEADER, widths=WIDTHS,
        rows=([r.username, r.display_name, r.events_logged, r.reviews_approved, r.reviews_rejected, r.late_entries,
               r.objections_upheld, r.patrols_filed, r.activities_recorded] for r in report.grid_workers))


async def work_workbook(actor: Actor, start: date, end: date) -> bytes:
    return await asyncio.to_thread(_workbook, await work_report(actor, start, end))
