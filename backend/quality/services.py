"""The data-quality views (数据质量): six checks over an admin's area, each a count and a list
with links, and their weekly trend (JSON, an SVG chart) — the lists also as Excel.

Counts and the trend are aggregates (no person named): no access-log row, and auditors may see
them. The lists name villagers: each list read writes one access-log row per subject shown, with
the purpose ``data_quality``; ID numbers appear masked only. Unmatched feed records name nobody
Cunxin knows (that is the problem): they are shown as the feeds queue shows them, with no row.
Where the records are, and whose they are, is the scope module's (``scope.area_filter_sql``)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from backend import clock
from backend.auth import scope
from backend.auth.roles import Actor
from backend.charts.svg import trend_chart
from backend.db import fetch
from backend.errors import NotFound, PermissionDenied
from backend.ledger.catalogue import catalogues
from backend.quality import checks
from backend.quality.schemas import (CheckCountOut, QualityEventOut, QualityListOut, QualityRowOut, QualitySummaryOut,
                                     QualityTrendOut, TrendPointOut)
from backend.ratings.calendar import work_calendar
from backend.sheets import XLSX, report_sheet
from points_rules import quality as rules
from points_rules.model import RuleError
from points_rules.workdays import WorkCalendar

PURPOSE = "data_quality"
UNKNOWN_CHECK = NotFound("没有这项数据质量检查", "No such data-quality check", code="QUALITY_UNKNOWN_CHECK")
LIST_URL = "/api/v1/quality/{check}"


def _check(check: str) -> str:
    if check not in rules.CHECKS:
        raise UNKNOWN_CHECK.fresh()
    return check


async def _area(actor: Actor, check: str, township_id: int | None, *, personal: bool) -> tuple[str, list[Any]]:
    county_column, township_column = checks.AREA_COLUMNS[check]
    found = await scope.area_filter_sql(actor, county_column=county_column, township_column=township_column,
                                        township_id=township_id, personal=personal)
    if found is None:
        raise PermissionDenied()
    return found


def _evidence_required(county_id: int) -> list[tuple[str, str]]:
    """(catalogue version, item code) of every item that requires photo evidence in that version."""
    return [(v.version, i.code) for v in catalogues(county_id).versions for i in v.items if i.evidence == "required"]


def _statement(check: str, area: str, area_args: list[Any], on: date, *, n: int, calendar: WorkCalendar,
               late_start: date, county_id: int) -> tuple[str, list[Any]]:
    """The FROM/WHERE of ``check`` as of the end of ``on``."""
    if check == rules.LATE_ENTRIES:
        return checks.late_entries(area, area_args, late_start, on)
    if check == rules.REVIEWS_WAITING:
        return checks.reviews_waiting(area, area_args, rules.waiting_cutoff(calendar.is_working_day, on, n), on)
    if check == rules.MISSING_PHOTOS:
        return checks.missing_photos(area, area_args, on, _evidence_required(county_id))
    if check == rules.UNMATCHED_FEED_RECORDS:
        return checks.unmatched_feed_records(area, area_args, on)
    if check == rules.HOUSEHOLDS_WITHOUT_HEAD:
        return checks.households_without_head(area, area_args, on)
    return checks.persons_without_household(area, area_args, on)


async def _count(actor: Actor, check: str, township_id: int | None, on: date, *, n: int, calendar: WorkCalendar,
                 late_start: date, personal: bool = False) -> int:
    area, area_args = await _area(actor, check, township_id, personal=personal)
    sql, args = _statement(check, area, area_args, on, n=n, calendar=calendar, late_start=late_start,
                           county_id=scope.county_of(actor))
    return (await fetch(f"SELECT count(*) AS n {sql}", *args))[0]["n"]


def _link(check: str, township_id: int | None, n: int, late_days: int) -> str:
    query = [f"waiting_days={n}" if check == rules.REVIEWS_WAITING else "",
             f"late_days={late_days}" if check == rules.LATE_ENTRIES else "",
             f"township_id={township_id}" if township_id is not None else ""]
    query = [q for q in query if q]
    return LIST_URL.format(check=check) + (f"?{'&'.join(query)}" if query else "")


async def summary(actor: Actor, *, township_id: int | None, n: int, late_days: int) -> QualitySummaryOut:
    """The six counts (no person named)."""
    today = clock.today()
    calendar = await work_calendar()
    late_start = today - timedelta(days=late_days - 1)
    out = []
    for check in rules.CHECKS:
        count = await _count(actor, check, township_id, today, n=n, calendar=calendar, late_start=late_start)
        out.append(CheckCountOut(check=check, name_zh=rules.NAMES_ZH[check], count=count,
                                 link=_link(check, township_id, n, late_days)))
    return QualitySummaryOut(as_of=today, township_id=township_id, waiting_days=n, late_since=late_start, checks=out)


_EVENT_COLUMNS = """e.id, e.county_id, e.recorded_by, e.subject_kind, e.subject_id, e.person_id, e.household_id,
                    e.township_id, e.grid_id, e.item_code, e.catalogue_version, e.occurred_on, e.recorded_on, e.status,
                    p.name AS person_name, p.id_number_masked"""


def _item_name(r: dict) -> str:
    """The item's name in the catalogue version that scored the event (its code if that is gone)."""
    try:
        return catalogues(r["county_id"]).version(r["catalogue_version"]).item(r["item_code"]).name_zh
    except RuleError:
        return r["item_code"]


def _event_out(r: dict, waited: int | None = None) -> QualityEventOut:
    return QualityEventOut(event_id=r["id"], link=f"/api/v1/events/{r['id']}", subject_kind=r["subject_kind"],
                           subject_id=r["subject_id"], person_name=r["person_name"],
                           id_number_masked=r["id_number_masked"], item_code=r["item_code"],
                           item_name_zh=_item_name(r),
                           occurred_on=r["occurred_on"], recorded_on=r["recorded_on"], status=r["status"],
                           township_id=r["township_id"], waiting_working_days=waited)


def _event_place(r: dict) -> scope.Location:
    return scope.Location(kind=r["subject_kind"], id=r["subject_id"], county_id=r["county_id"],
                          township_id=r["township_id"], grid_id=r["grid_id"], household_id=r["household_id"],
                          person_id=r["person_id"])


async def listing(actor: Actor, check: str, *, township_id: int | None, n: int, late_days: int, limit: int,
                  offset: int, request_id: str = "") -> QualityListOut:
    """One check's list as of today, with the reads it makes logged (one row per subject shown)."""
    check = _check(check)
    today = clock.today()
    calendar = await work_calendar()
    late_start = today - timedelta(days=late_days - 1)
    area, area_args = await _area(actor, check, township_id, personal=True)
    county = scope.county_of(actor)
    sql, args = _statement(check, area, area_args, today, n=n, calendar=calendar, late_start=late_start,
                           county_id=county)
    places: list[scope.Location] = []
    fields = ["credit_event"]
    if check == rules.LATE_ENTRIES:
        rows = [r for r in await fetch(f"SELECT {_EVENT_COLUMNS}, a.username, a.display_name {sql}", *args)
                if scope.covers(actor, _event_place(r))]
        groups = rules.group_late(rows)
        count, total = len(rows), len(groups)
        items = []
        for group in groups[offset:offset + limit]:
            first = group.events[0]
            items.append(QualityRowOut(
                link=f"/api/v1/grid-worker-work?from={late_start.isoformat()}&to={today.isoformat()}",
                account_id=group.account_id, username=first["username"], display_name=first["display_name"],
                late_count=len(group.events), events=[_event_out(e) for e in group.events]))
            places += [_event_place(e) for e in group.events]
    else:
        count = (await fetch(f"SELECT count(*) AS n {sql}", *args))[0]["n"]
        total = count
        items, places, fields = await _rows(actor, check, sql, args, today, calendar, limit, offset)
    await scope.log_reads(actor, places, fields=fields, purpose=PURPOSE, request_id=request_id)
    return QualityListOut(check=check, name_zh=rules.NAMES_ZH[check], as_of=today, count=count, total=total,
                          limit=limit, offset=offset, items=items)


async def _rows(actor: Actor, check: str, sql: str, args: list[Any], today: date, calendar: WorkCalendar,
                limit: int, offset: int) -> tuple[list[QualityRowOut], list[scope.Location], list[str]]:
    page = "LIMIT {} OFFSET {}"
    if check in (rules.REVIEWS_WAITING, rules.MISSING_PHOTOS):
        rows = [r for r in await fetch(f"SELECT {_EVENT_COLUMNS} {sql} ORDER BY e.recorded_on, e.id {page}",
                                       *args, limit, offset) if scope.covers(actor, _event_place(r))]
        waiting = check == rules.REVIEWS_WAITING
        items = [QualityRowOut(link=f"/api/v1/events/{r['id']}", township_id=r["township_id"],
                               event=_event_out(r, calendar.working_days_between(r["recorded_on"], today)
                                                if waiting else None)) for r in rows]
        return items, [_event_place(r) for r in rows], ["credit_event"]
    if check == rules.UNMATCHED_FEED_RECORDS:
        rows = await fetch(f"""SELECT r.id, r.township_id, r.record_id, r.record_type, r.name, r.identifier_masked,
                                      r.created_at, s.code AS source_code {sql} ORDER BY r.created_at, r.id {page}""",
                           *args, limit, offset)
        items = [QualityRowOut(link="/api/v1/feeds/queue?status=unmatched", township_id=r["township_id"],
                               queue_id=r["id"], source_code=r["source_code"], record_id=r["record_id"],
                               record_type=r["record_type"], name=r["name"], identifier_masked=r["identifier_masked"],
                               received_at=r["created_at"]) for r in rows]
        return items, [], []
    if check == rules.HOUSEHOLDS_WITHOUT_HEAD:
        rows = await fetch(f"""SELECT h.id, h.code, h.county_id, v.id AS village_id, v.township AS township_id,
                                      (SELECT count(*) FROM household_membership m2
                                       WHERE m2.county_id = h.county_id AND m2.household = h.id
                                         AND m2.valid_from <= {{}} AND (m2.valid_to IS NULL OR m2.valid_to >= {{}}))
                                      AS member_count
                               {sql} ORDER BY h.code, h.id {page}""", today, today, *args, limit, offset)
        places = [scope.Location(kind=scope.HOUSEHOLD, id=r["id"], county_id=r["county_id"],
                                 township_id=r["township_id"], village_id=r["village_id"], household_id=r["id"])
                  for r in rows]
        keep = [(r, w) for r, w in zip(rows, places) if scope.covers(actor, w)]
        items = [QualityRowOut(link=f"/api/v1/households/{r['id']}", township_id=r["township_id"],
                               household_id=r["id"], household_code=r["code"], member_count=r["member_count"])
                 for r, _ in keep]
        return items, [w for _, w in keep], ["code", "member_count", "membership_history"]
    rows = await fetch(f"""SELECT p.id, p.name, p.id_number_masked, p.county_id, h.id AS household_id,
                                  h.code AS household_code, COALESCE(v.township, ev.township_id) AS township_id
                           {sql} ORDER BY p.id {page}""", *args, limit, offset)
    places = [scope.Location(kind=scope.PERSON, id=r["id"], county_id=r["county_id"], township_id=r["township_id"],
                             household_id=r["household_id"], person_id=r["id"]) for r in rows]
    keep = [(r, w) for r, w in zip(rows, places) if scope.covers(actor, w)]
    items = [QualityRowOut(link=f"/api/v1/persons/{r['id']}", township_id=r["township_id"], person_id=r["id"],
                           name=r["name"], id_number_masked=r["id_number_masked"], household_id=r["household_id"],
                           household_code=r["household_code"]) for r, _ in keep]
    return items, [w for _, w in keep], ["name", "id_number", "membership_history"]


async def trend(actor: Actor, *, township_id: int | None, n: int, weeks: int) -> QualityTrendOut:
    """The six counts at the end of each of the last ``weeks`` weeks (the current week: today so
    far), each from the data as of that day; late entries are those recorded in that week."""
    calendar = await work_calendar()
    points = []
    for end in rules.week_ends(clock.today(), weeks):
        counts = {check: await _count(actor, check, township_id, end, n=n, calendar=calendar,
                                      late_start=rules.week_start(end)) for check in rules.CHECKS}
        points.append(TrendPointOut(week_end=end, counts=counts))
    return QualityTrendOut(township_id=township_id, waiting_days=n, checks=list(rules.CHECKS), weeks=points)


async def chart(actor: Actor, *, township_id: int | None, n: int, weeks: int) -> str:
    data = await trend(actor, township_id=township_id, n=n, weeks=weeks)
    series = {rules.NAMES_ZH[c]: [p.counts[c] for p in data.weeks] for c in rules.CHECKS}
    return trend_chart(f"数据质量趋势（近{weeks}周，每周末状态）", [f"{p.week_end:%m-%d}" for p in data.weeks],
                       series, y_label="件数", y_max=None)


_SHEETS = {
    rules.LATE_ENTRIES: (["网格员账号", "网格员", "事件编号", "事项", "对象", "身份证号（脱敏）", "发生日期", "登记日期", "状态"],
                         [16, 14, 10, 20, 10, 20, 12, 12, 14]),
    rules.REVIEWS_WAITING: (["事件编号", "事项", "对象", "身份证号（脱敏）", "登记日期", "已等待工作日", "状态"],
                            [10, 20, 10, 20, 12, 12, 14]),
    rules.MISSING_PHOTOS: (["事件编号", "事项", "对象", "身份证号（脱敏）", "发生日期", "登记日期", "状态"],
                           [10, 20, 10, 20, 12, 12, 14]),
    rules.UNMATCHED_FEED_RECORDS: (["队列编号", "来源", "来源记录号", "记录类型", "姓名", "证件号（脱敏）", "接收时间"],
                                   [10, 12, 16, 14, 10, 20, 20]),
    rules.HOUSEHOLDS_WITHOUT_HEAD: (["户编号", "乡镇编号", "现有成员数"], [20, 10, 12]),
    rules.PERSONS_WITHOUT_HOUSEHOLD: (["人员编号", "姓名", "身份证号（脱敏）", "最近所属户", "乡镇编号"], [10, 10, 20, 20, 10]),
}


def _sheet_rows(check: str, items: list[QualityRowOut]) -> list[list[object]]:
    def ev(e: QualityEventOut) -> list[object]:
        return [e.event_id, e.item_name_zh, e.person_name or f"{e.subject_kind} {e.subject_id}", e.id_number_masked or ""]
    if check == rules.LATE_ENTRIES:
        return [[i.username, i.display_name, *ev(e), e.occurred_on.isoformat(), e.recorded_on.isoformat(), e.status]
                for i in items for e in i.events or []]
    if check == rules.REVIEWS_WAITING:
        return [[*ev(i.event), i.event.recorded_on.isoformat(), i.event.waiting_working_days, i.event.status]
                for i in items if i.event]
    if check == rules.MISSING_PHOTOS:
        return [[*ev(i.event), i.event.occurred_on.isoformat(), i.event.recorded_on.isoformat(), i.event.status]
                for i in items if i.event]
    if check == rules.UNMATCHED_FEED_RECORDS:
        return [[i.queue_id, i.source_code, i.record_id, i.record_type, i.name, i.identifier_masked,
                 i.received_at.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M") if i.received_at else ""]
                for i in items]
    if check == rules.HOUSEHOLDS_WITHOUT_HEAD:
        return [[i.household_code, i.township_id, i.member_count] for i in items]
    return [[i.person_id, i.name, i.id_number_masked, i.household_code or "", i.township_id or ""] for i in items]


MAX_SHEET_ROWS = 10_000


async def workbook(actor: Actor, check: str, *, township_id: int | None, n: int, late_days: int,
                   request_id: str = "") -> bytes:
    """The list (up to ``MAX_SHEET_ROWS`` rows) as Excel; the reads are logged as for the list."""
    data = await listing(actor, check, township_id=township_id, n=n, late_days=late_days, limit=MAX_SHEET_ROWS,
                         offset=0, request_id=request_id)
    header, widths = _SHEETS[data.check]
    note = f"统计日：{data.as_of:%Y年%m月%d日}；共{data.count}条" + (
        f"；待审超过{n}个工作日（按国家法定节假日及调休安排计算）" if data.check == rules.REVIEWS_WAITING else "")
    return await asyncio.to_thread(report_sheet, sheet_title=data.name_zh, title=f"数据质量：{data.name_zh}",
                                   note=note, header=header, widths=widths, rows=_sheet_rows(data.check, data.items))

