"""The pure parts of the data-quality views: the working-day cut-off of a waiting review, the
trend's week ends, grouping of late entries."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from points_rules import quality
from points_rules.workdays import WorkCalendar

CAL = WorkCalendar()


@settings(max_examples=200, derandomize=True)
@given(on=st.dates(min_value=date(2019, 1, 1), max_value=date(2031, 12, 31)), n=st.integers(0, 20),
       back=st.integers(0, 60))
def test_cutoff_is_exactly_where_the_wait_exceeds_n(on, n, back):
    cutoff = quality.waiting_cutoff(CAL.is_working_day, on, n)
    recorded = on - timedelta(days=back)
    assert (recorded <= cutoff) == (CAL.working_days_between(recorded, on) > n)


def test_cutoff_over_a_holiday_and_a_weekend():
    # Wednesday 2025-10-08 is the last day of the National Day holiday; Saturday 10-11 an adjusted workday.
    on = date(2025, 10, 13)  # Monday
    # working days back from Monday: 10-13, 10-11 (Sat, workday), 10-10, 10-09 → N=3 needs recorded ≤ 10-08
    assert quality.waiting_cutoff(CAL.is_working_day, on, 3) == date(2025, 10, 8)
    assert CAL.working_days_between(date(2025, 10, 9), on) == 3  # N working days: not yet "longer than N"


def test_cutoff_refuses_negative_n():
    with pytest.raises(ValueError):
        quality.waiting_cutoff(CAL.is_working_day, date(2026, 1, 5), -1)


@given(today=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)), weeks=st.integers(1, 30))
def test_week_ends_are_sundays_up_to_today(today, weeks):
    ends = quality.week_ends(today, weeks)
    assert len(ends) == weeks and ends[-1] == today
    assert all(e.weekday() == 6 for e in ends[:-1])
    assert all(b - a == timedelta(days=7) for a, b in zip(ends, ends[1:-1]))
    assert all(quality.week_start(e) <= e and (e - quality.week_start(e)).days == e.weekday() for e in ends)
    assert quality.week_end(today) >= today > quality.week_end(today) - timedelta(days=7)


def test_past_week_ends_do_not_depend_on_the_day_they_are_computed():
    on_wednesday = quality.week_ends(date(2026, 11, 25), 4)
    on_saturday = quality.week_ends(date(2026, 11, 28), 4)
    assert on_wednesday[:-1] == on_saturday[:-1] == [date(2026, 11, 8), date(2026, 11, 15), date(2026, 11, 22)]
    assert on_wednesday[-1] == date(2026, 11, 25) and on_saturday[-1] == date(2026, 11, 28)


def test_group_late_most_first_then_account_and_events_in_recording_order():
    rows = [{"id": 5, "recorded_by": 2, "recorded_on": date(2026, 3, 2)},
            {"id": 3, "recorded_by": 9, "recorded_on": date(2026, 3, 1)},
            {"id": 4, "recorded_by": 2, "recorded_on": date(2026, 3, 1)},
            {"id": 6, "recorded_by": 1, "recorded_on": date(2026, 3, 5)}]
    groups = quality.group_late(rows)
    assert [g.account_id for g in groups] == [2, 1, 9]
    assert [e["id"] for e in groups[0].events] == [4, 5]
