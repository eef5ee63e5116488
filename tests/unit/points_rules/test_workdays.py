"""Working days: the official calendar (with 调休), the fallback for years it lacks, admin overrides.

Counting convention: a period of n working days starting on day s ends on the n-th working day AFTER s.
The 2026 facts below are chinese_calendar's tables (State Council notice for 2026):
  中秋节 9-25 (Fri) … 9-27 off;  国庆节 10-01 … 10-07 off;  adjusted workdays 9-20 (Sun) and 10-10 (Sat).
  春节 2-15 … 2-23 off;  adjusted workdays 2-14 (Sat) and 2-28 (Sat).
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from points_rules import WorkCalendar

CAL = WorkCalendar()


def _days(first: date, last: date) -> frozenset[date]:
    return frozenset(first + timedelta(days=i) for i in range((last - first).days + 1))


def test_the_2026_tables_are_what_the_tests_assume():
    # Guard: if a chinese_calendar update changed these, the expectations below must be re-derived.
    assert all(not chinese_calendar.is_workday(d) for d in _days(date(2026, 10, 1), date(2026, 10, 7)))
    assert all(not chinese_calendar.is_workday(d) for d in _days(date(2026, 9, 25), date(2026, 9, 27)))
    assert all(not chinese_calendar.is_workday(d) for d in _days(date(2026, 2, 15), date(2026, 2, 23)))
    for adjusted in (date(2026, 9, 20), date(2026, 10, 10), date(2026, 2, 14), date(2026, 2, 28)):
        assert adjusted.weekday() >= 5 and chinese_calendar.is_workday(adjusted)


def test_publicity_from_2026_09_30_across_national_day():
    start = date(2026, 9, 30)                        # Wed, a working day; never counts itself
    assert CAL.is_working_day(start)
    # 10-01 … 10-07 National Day (Thu … Wed, incl. the weekend 10-03/04): none count.
    # 10-08 Thu (1), 10-09 Fri (2), 10-10 Sat — adjusted workday 调休 (3), 10-11 Sun off,
    # 10-12 Mon (4), 10-13 Tue (5) → 5 working days end on 2026-10-13.
    assert CAL.add_working_days(start, 5) == date(2026, 10, 13)
    # …, 10-14 Wed (6), 10-15 Thu (7) → a county configuring 7 working days ends on 2026-10-15.
    assert CAL.add_working_days(start, 7) == date(2026, 10, 15)
    # An objection filed on 9-30 must be marked disputed within 1 working day: by 10-08.
    assert CAL.add_working_days(start, 1) == date(2026, 10, 8)
    assert CAL.is_working_day(date(2026, 10, 10)) and not CAL.is_working_day(date(2026, 10, 5))
    assert CAL.working_days_between(start, date(2026, 10, 13)) == 5
    assert CAL.working_days_between(start, date(2026, 10, 7)) == 0


def test_publicity_across_mid_autumn_with_a_sunday_workday():
    start = date(2026, 9, 18)                        # Fri
    # 9-19 Sat off, 9-20 Sun — adjusted workday (1), 9-21 (2), 9-22 (3), 9-23 (4), 9-24 (5).
    assert CAL.add_working_days(start, 5) == date(2026, 9, 24)
    # 9-25 … 9-27 Mid-Autumn off; 9-28 Mon (6), 9-29 Tue (7).
    assert CAL.add_working_days(start, 7) == date(2026, 9, 29)


def test_publicity_across_the_spring_festival():
    start = date(2026, 2, 12)                        # Thu
    # 2-13 Fri (1), 2-14 Sat — adjusted workday (2), 2-15 … 2-23 Spring Festival off,
    # 2-24 Tue (3), 2-25 (4), 2-26 Thu (5).
    assert CAL.add_working_days(start, 5) == date(2026, 2, 26)
    # 2-27 Fri (6), 2-28 Sat — adjusted workday (7).
    assert CAL.add_working_days(start, 7) == date(2026, 2, 28)
    assert CAL.working_days_between(date(2026, 2, 14), date(2026, 2, 23)) == 0


def test_a_year_without_official_data_falls_back_to_weekends_and_admin_holidays():
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2035, 2, 5))    # the pitfall: no table for 2035
    assert CAL.covered(date(2026, 6, 1)) and not CAL.covered(date(2035, 2, 5))
    start = date(2035, 2, 2)                          # Fri
    # Weekdays only: 2-5 Mon (1), 2-6 (2), 2-7 (3), 2-8 (4), 2-9 Fri (5).
    assert CAL.add_working_days(start, 5) == date(2035, 2, 9)
    assert not CAL.is_working_day(date(2035, 2, 3))   # Sat
    # The admin enters next year's Spring Festival block before the library has it:
    # off 2-07 (Wed) … 2-13 (Tue); adjusted workdays 2-03 (Sat) and 2-17 (Sat).
    spring = WorkCalendar(extra_holidays=_days(date(2035, 2, 7), date(2035, 2, 13)),
                          extra_workdays=frozenset({date(2035, 2, 3), date(2035, 2, 17)}))
    # 2-03 Sat workday (1), 2-04 Sun off, 2-05 (2), 2-06 (3), 2-07 … 2-13 off, 2-14 Wed (4), 2-15 Thu (5).
    assert spring.add_working_days(start, 5) == date(2035, 2, 15)
    # 2-16 Fri (6), 2-17 Sat workday (7).
    assert spring.add_working_days(start, 7) == date(2035, 2, 17)
    assert spring.working_days_between(start, date(2035, 2, 17)) == 7


def test_admin_overrides_beat_the_official_table():
    start = date(2026, 9, 30)
    local_day_off = WorkCalendar(extra_holidays=frozenset({date(2026, 10, 9)}))   # Fri, a local holiday
    # 10-08 (1), 10-09 off, 10-10 Sat adjusted (2), 10-12 (3), 10-13 (4), 10-14 (5).
    assert local_day_off.add_working_days(start, 5) == date(2026, 10, 14)
    sunday_worked = WorkCalendar(extra_workdays=frozenset({date(2026, 10, 11), date(2026, 10, 6)}))
    # 10-06 declared worked (1), 10-08 (2), 10-09 (3), 10-10 (4), 10-11 Sun declared worked (5).
    assert sunday_worked.add_working_days(start, 5) == date(2026, 10, 11)
    with pytest.raises(ValueError):
        WorkCalendar(extra_holidays=frozenset({date(2026, 5, 6)}), extra_workdays=frozenset({date(2026, 5, 6)}))
    assert WorkCalendar.of([date(2026, 10, 9)]) == local_day_off


def test_edge_cases():
    assert CAL.add_working_days(date(2026, 10, 3), 0) == date(2026, 10, 3)     # n = 0 → start, even a holiday
    assert CAL.add_working_days(date(2026, 10, 3), 1) == date(2026, 10, 8)     # a holiday start still excluded
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2026, 10, 3), -1)
    assert CAL.working_days_between(date(2026, 10, 13), date(2026, 9, 30)) == -5
    assert CAL.working_days_between(date(2026, 10, 13), date(2026, 10, 13)) == 0
    # The year boundary into an uncovered year: 2026-12-31 Thu → 2027-01-01 Fri counts unless entered.
    assert CAL.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 1)
    assert WorkCalendar(extra_holidays=frozenset({date(2027, 1, 1)})).add_working_days(
        date(2026, 12, 31), 1) == date(2027, 1, 4)


_dates = st.dates(min_value=date(2024, 1, 1), max_value=date(2029, 12, 31))


@settings(max_examples=200, deadline=None)
@given(_dates, st.integers(min_value=0, max_value=40),
       st.frozensets(_dates, max_size=5), st.frozensets(_dates, max_size=5))
def test_adding_and_counting_agree(start, n, holidays, workdays):
    cal = WorkCalendar(extra_holidays=holidays - workdays, extra_workdays=workdays)
    end = cal.add_working_days(start, n)
    assert cal.working_days_between(start, end) == n
    assert end >= start
    if n:
        assert cal.is_working_day(end)
        assert cal.add_working_days(start, n - 1) < end
    assert cal.working_days_between(end, start) == -n
