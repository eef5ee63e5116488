"""Data-quality checks for a township (数据质量): the pure parts — which recording date a review
must be older than to count as waiting too long, where the weeks of the trend end, and how late
entries are grouped per grid worker. Dates are arguments; nothing here reads a clock."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

LATE_ENTRIES = "late_entries"
REVIEWS_WAITING = "reviews_waiting"
MISSING_PHOTOS = "missing_photos"
UNMATCHED_FEED_RECORDS = "unmatched_feed_records"
HOUSEHOLDS_WITHOUT_HEAD = "households_without_head"
PERSONS_WITHOUT_HOUSEHOLD = "persons_without_household"
CHECKS = (LATE_ENTRIES, REVIEWS_WAITING, MISSING_PHOTOS, UNMATCHED_FEED_RECORDS, HOUSEHOLDS_WITHOUT_HEAD,
          PERSONS_WITHOUT_HOUSEHOLD)
NAMES_ZH = {
    LATE_ENTRIES: "逾期登记",
    REVIEWS_WAITING: "超期待审",
    MISSING_PHOTOS: "缺少证据照片",
    UNMATCHED_FEED_RECORDS: "未匹配的外部数据",
    HOUSEHOLDS_WITHOUT_HEAD: "无户主家庭",
    PERSONS_WITHOUT_HOUSEHOLD: "无所属家庭人员",
}

DEFAULT_WAITING_DAYS = 3
MAX_WAITING_DAYS = 60
DEFAULT_LATE_WINDOW_DAYS = 28
DEFAULT_WEEKS = 12
MAX_WEEKS = 104


def waiting_cutoff(is_working_day: Callable[[date], bool], on: date, n: int) -> date:
    """The latest recording date whose review, still open at the end of ``on``, has waited more than
    ``n`` working days: the working days in (recorded_on, on] exceed ``n`` exactly for recorded_on ≤
    this date (the recording day itself never counts, ``on`` does when it is a working day)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError("n must be a whole number of working days, zero or more")
    d, waited = on, 0
    while waited <= n:
        if is_working_day(d):
            waited += 1
        d -= timedelta(days=1)
    return d


def week_end(d: date) -> date:
    """The Sunday that ends ``d``'s week (weeks run Monday to Sunday)."""
    return d + timedelta(days=6 - d.weekday())


def week_ends(today: date, weeks: int) -> list[date]:
    """The ends of the last ``weeks`` weeks, oldest first; the current week ends today (so far): a
    point is the state at the end of that day, never a day that has not happened yet."""
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    current = week_end(today)
    ends = [current - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]
    return [min(e, today) for e in ends]


def week_start(end: date) -> date:
    """The Monday of the week ``end`` belongs to."""
    return end - timedelta(days=end.weekday())


@dataclass(frozen=True)
class LateGroup:
    """One recorder's late entries, oldest recording first."""

    account_id: int
    events: tuple[Any, ...]


def group_late(rows: Iterable[dict]) -> list[LateGroup]:
    """Late events grouped per recording account (``recorded_by``): most late entries first, then by
    account id; each group's events by recording date, then id."""
    groups: dict[int, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["recorded_by"], []).append(r)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [LateGroup(account, tuple(sorted(events, key=lambda e: (e["recorded_on"], e["id"]))))
            for account, events in ordered]
