"""On-time rates of entry objections per township (art. 46: decided within 7 working days), over
a range of filing dates: JSON, an SVG chart and an Excel workbook.

Aggregates only (counts per township, no person): no access-log row. A township admin sees their
township, a county admin every township of the county (those with no objection as zeros).
"""

from __future__ import annotations

import asyncio
from datetime import date


from backend import clock
from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.charts.svg import trend_chart
from backend.db import fetch
from backend.sheets import XLSX, report_sheet
from backend.errors import InvalidInput, PermissionDenied
from backend.objections.schemas import OnTimeReportOut, TownshipOnTimeOut
from points_rules.objections import DecidedCase, on_time_rates

MAX_RANGE_DAYS = 3660
HEADER = ["乡镇代码", "乡镇", "受理异议", "已办结", "按期办结", "逾期办结", "未办结", "其中已逾期", "按期办结率"]
WIDTHS = [14, 16, 10, 10, 10, 10, 10, 12, 12]


def parse_range(raw_from: str | None, raw_to: str | None) -> tuple[date, date]:
    """``from``/``to`` (YYYY-MM-DD, inclusive); default: 1 January of this year to today."""
    today = clock.today()
    try:
        start = date.fromisoformat(raw_from) if raw_from else date(today.year, 1, 1)
        end = date.fromisoformat(raw_to) if raw_to else today
    except ValueError:
        raise bad_range() from None
    if end < start or (end - start).days > MAX_RANGE_DAYS:
        raise bad_range()
    return start, end


def bad_range() -> InvalidInput:
    return InvalidInput("日期范围须为 YYYY-MM-DD，起始不晚于结束，且不超过十年",
                        "from/to must be YYYY-MM-DD, from not after to, at most ten years apart",
                        code="OBJECTION_REPORT_RANGE")


async def _townships(actor: Actor) -> list[dict]:
    if actor.role is Role.COUNTY_ADMIN and actor.county_id is not None:
        ids = await scope.townships_of_county(actor.county_id)
    elif actor.role is Role.TOWNSHIP_ADMIN and actor.township_id is not None:
        ids = [actor.township_id]
    else:
        raise PermissionDenied()
    return await fetch("SELECT id, code, name FROM township WHERE id = ANY({}) ORDER BY code", ids)


async def _cases(township_ids: list[int], start: date, end: date) -> list[dict]:
    return await fetch("""SELECT township_id, filed_on, respond_by, decided_on FROM entry_objection
                          WHERE township_id = ANY({}) AND filed_on BETWEEN {} AND {}""", township_ids, start, end)


def _percent(permille: int | None) -> str | None:
    return None if permille is None else f"{permille // 10}.{permille % 10}"


async def on_time_report(actor: Actor, start: date, end: date) -> OnTimeReportOut:
    townships = await _townships(actor)
    rows = await _cases([r["id"] for r in townships], start, end)
    today = clock.today()
    rates = {r.township_id: r for r in on_time_rates(
        [DecidedCase(r["township_id"], r["respond_by"], r["decided_on"]) for r in rows], today)}
    out = []
    for tw in townships:
        r = rates.get(tw["id"])
        out.append(TownshipOnTimeOut(
            township_id=tw["id"], township_code=tw["code"], township_name=tw["name"],
            filed=r.filed if r else 0, decided=r.decided if r else 0, decided_on_time=r.decided_on_time if r else 0,
            decided_late=r.decided_late if r else 0, open=r.open if r else 0,
            open_overdue=r.open_overdue if r else 0, on_time_percent=_percent(r.on_time_permille) if r else None))
    return OnTimeReportOut(date_from=start, date_to=end, as_of=today, townships=out)


def _months(start: date, end: date) -> list[tuple[int, int]]:
    months, (y, m) = [], (start.year, start.month)
    while (y, m) <= (end.year, end.month):
        months.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


async def on_time_chart(actor: Actor, start: date, end: date) -> str:
    """One line per township: the share decided on time among those filed each month (a gap where
    none filed that month was decided yet)."""
    townships = await _townships(actor)
    rows = await _cases([r["id"] for r in townships], start, end)
    months = _months(start, end)
    today = clock.today()
    series: dict[str, list[int | None]] = {}
    for tw in townships:
        values: list[int | None] = []
        for y, m in months:
            cases = [DecidedCase(r["township_id"], r["respond_by"], r["decided_on"]) for r in rows
                     if r["township_id"] == tw["id"] and (r["filed_on"].year, r["filed_on"].month) == (y, m)]
            rate = on_time_rates(cases, today)
            values.append(None if not rate or rate[0].on_time_permille is None else rate[0].on_time_permille // 10)
        series[tw["name"]] = values
    return trend_chart(f"异议按期办结率（{start.isoformat()}至{end.isoformat()}，按受理月份）",
                       [f"{y}年{m}月" for y, m in months], series, y_label="按期办结率 (%)", y_max=100)


def _workbook(report: OnTimeReportOut) -> bytes:
    return report_sheet(
        sheet_title="按期办结率",
        title=f"信用信息异议按期办结情况（{report.date_from:%Y年%m月%d日}至{report.date_to:%Y年%m月%d日}受理）",
        note=f"统计日：{report.as_of:%Y年%m月%d日}；办结时限：受理后7个工作日（按国家法定节假日及调休安排计算）",
        header=HEADER, widths=WIDTHS,
        rows=([tw.township_code, tw.township_name, tw.filed, tw.decided, tw.decided_on_time, tw.decided_late, tw.open,
               tw.open_overdue, f"{tw.on_time_percent}%" if tw.on_time_percent is not None else "—"]
              for tw in report.townships))


async def on_time_workbook(actor: Actor, start: date, end: date) -> bytes:
    report = await on_time_report(actor, start, end)
    return await asyncio.to_thread(_workbook, report)
