"""工作日 — working days under the official Chinese calendar, for publicity periods and deadlines.

Pure: no clock; the calendar data are ``chinese_calendar``'s tables (国务院办公厅 holiday notices, with
adjusted workdays 调休) plus what an admin enters. ``chinese_calendar`` raises ``NotImplementedError``
for a year it has no table for (before 2004, or a year whose notice is not yet published — the notice
comes out each November): for such a year the fallback is Monday–Friday, minus the admin-entered
holidays, plus the admin-entered workdays. Admin entries override the official table too (a local
day off, a county-declared workday).

Counting convention (公示期、异议处理时限): a period of *n* working days that starts on day *s* ends on
the *n*-th working day **after** *s*; *s* itself never counts, whether or not it is a working day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Iterable

import chinese_calendar

__all__ = ["WorkCalendar", "official_data_covers"]


@lru_cache(maxsize=None)
def _covered_year(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def official_data_covers(d: date) -> bool:
    """Whether the installed ``chinese_calendar`` has the official holiday table for ``d``'s year."""
    return _covered_year(d.year)


@dataclass(frozen=True)
class WorkCalendar:
    """The official calendar with admin-entered overrides.

    ``extra_holidays``: admin-entered days off — for years ``chinese_calendar`` lacks (enter the State
    Council's notice when it is published) or local days off. ``extra_workdays``: admin-entered adjusted
    workdays (调休上班), e.g. a Saturday of next year's Spring Festival block. A day may not be in both.
    """

    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        # Accept any iterable of dates from the caller; keep frozensets (hashable, immutable).
        holidays, workdays = frozenset(self.extra_holidays), frozenset(self.extra_workdays)
        both = holidays & workdays
        if both:
            days = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"dates entered both as holiday and as workday: {days}")
        object.__setattr__(self, "extra_holidays", holidays)
        object.__setattr__(self, "extra_workdays", workdays)

    @classmethod
    def of(cls, holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> "WorkCalendar":
        return cls(frozenset(holidays), frozenset(workdays))

    def covered(self, d: date) -> bool:
        """Whether ``chinese_calendar`` has official data for ``d``'s year (else the weekday fallback applies)."""
        return official_data_covers(d)

    def is_working_day(self, d: date) -> bool:
        """Admin entries first; else the official table when it covers the year; else Monday–Friday."""
        if d in self.extra_workdays:
            return True
        if d in self.extra_holidays:
            return False
        if self.covered(d):
            return chinese_calendar.is_workday(d)
        return d.weekday() < 5

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (``start`` itself never counts); ``n == 0`` → ``start``."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError("n must be a whole number of working days, zero or more")
        d = start
        while n:
            d += timedelta(days=1)
            if self.is_working_day(d):
                n -= 1
        return d

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (``start``, ``end``]: ``start`` excluded, ``end`` included — so
        ``working_days_between(s, add_working_days(s, n)) == n``. Negative when ``end`` is before ``start``."""
        if end < start:
            return -self.working_days_between(end, start)
        count, d = 0, start
        while d < end:
            d += timedelta(days=1)
            count += self.is_working_day(d)
        return count
