"""异议 — the art. 46 deadlines and the on-time report, as pure functions (no clock, no I/O).

An objection raised on day *s* (the local date it was filed) must be *marked disputed* by the 1st
working day after *s* and *decided* by the 7th (``WorkCalendar.add_working_days``: *s* itself never
counts). The township is warned two working days before the decision deadline — on the 5th working
day after *s* — and an objection still open after its deadline is overdue and goes to the county.

One function serves every objection of the platform (on rating proposals and on ledger entries),
so the two can never count a holiday differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable

from points_rules.workdays import WorkCalendar

__all__ = [
    "DECISION_WORKING_DAYS",
    "MARK_WORKING_DAYS",
    "WARN_WORKING_DAYS_BEFORE",
    "Deadlines",
    "DecidedCase",
    "TownshipOnTime",
    "deadlines",
    "due_state",
    "on_time_rates",
]

MARK_WORKING_DAYS = 1  # art. 46: marked as disputed within 1 working day
DECISION_WORKING_DAYS = 7  # art. 46: a decision within 7 working days
WARN_WORKING_DAYS_BEFORE = 2  # the township is warned this many working days before the decision deadline


@dataclass(frozen=True)
class Deadlines:
    raised_on: date
    mark_by: date  # the record must be marked disputed by this day
    respond_by: date  # the decision is due by this day
    warn_on: date  # from this day the township's queue shows the case as due soon


def deadlines(calendar: WorkCalendar, raised_on: date) -> Deadlines:
    """The art. 46 deadlines of an objection raised on ``raised_on`` (a local date)."""
    return Deadlines(
        raised_on=raised_on,
        mark_by=calendar.add_working_days(raised_on, MARK_WORKING_DAYS),
        respond_by=calendar.add_working_days(raised_on, DECISION_WORKING_DAYS),
        warn_on=calendar.add_working_days(raised_on, DECISION_WORKING_DAYS - WARN_WORKING_DAYS_BEFORE),
    )


def due_state(today: date, *, status: str, warn_on: date, respond_by: date) -> str:
    """``decided`` (not open), ``overdue`` (open after ``respond_by``), ``due_soon`` (open, from
    ``warn_on``) or ``open``."""
    if status != "open":
        return "decided"
    if today > respond_by:
        return "overdue"
    if today >= warn_on:
        return "due_soon"
    return "open"


@dataclass(frozen=True)
class DecidedCase:
    """One objection as the report sees it: where it was decided, its deadline and its decision day."""

    township_id: int
    respond_by: date
    decided_on: date | None  # None: still open


@dataclass(frozen=True)
class TownshipOnTime:
    township_id: int
    filed: int  # objections counted in the report
    decided: int
    decided_on_time: int  # decided on or before respond_by
    decided_late: int
    open: int
    open_overdue: int  # still open after respond_by (as of the report's day)
    on_time_permille: int | None  # decided_on_time / decided, rounded down; None when nothing was decided


def on_time_rates(cases: Iterable[DecidedCase], today: date) -> list[TownshipOnTime]:
    """Per township (ascending id): how many were decided, how many of those by their deadline,
    how many are open and overdue on ``today``; the rate is on-time over decided, in permille."""
    grouped: dict[int, list[DecidedCase]] = {}
    for case in cases:
        grouped.setdefault(case.township_id, []).append(case)
    out = []
    for township_id in sorted(grouped):
        rows = grouped[township_id]
        decided = [c for c in rows if c.decided_on is not None]
        on_time = sum(c.decided_on <= c.respond_by for c in decided)
        still_open = [c for c in rows if c.decided_on is None]
        out.append(TownshipOnTime(
            township_id=township_id, filed=len(rows), decided=len(decided), decided_on_time=on_time,
            decided_late=len(decided) - on_time, open=len(still_open),
            open_overdue=sum(today > c.respond_by for c in still_open),
            on_time_permille=on_time * 1000 // len(decided) if decided else None,
        ))
    return out
