"""The art. 46 deadlines and the on-time report as pure rules: properties over any calendar, and
National Day 2026 with the official calendar (holiday 1–7 October, adjusted workday Saturday 10 October)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings, strategies as st

from points_rules.objections import (
    DECISION_WORKING_DAYS,
    DecidedCase,
    deadlines,
    due_state,
    on_time_rates,
)
from points_rules.workdays import WorkCalendar

days = st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31))
calendars = st.builds(
    lambda holidays, workdays: WorkCalendar.of(holidays=holidays, workdays=workdays - holidays),
    st.frozensets(days, max_size=20), st.frozensets(days, max_size=10))


def test_filed_before_national_day_2026_skips_the_holiday_and_counts_the_adjusted_saturday():
    d = deadlines(WorkCalendar(), date(2026, 9, 30))
    assert d.mark_by == date(2026, 10, 8)  # 1–7 October off
    assert d.warn_on == date(2026, 10, 13)
    # 8, 9, 10 (Saturday, adjusted workday), 12, 13, 14, 15
    assert d.respond_by == date(2026, 10, 15)
    assert WorkCalendar(extra_holidays=frozenset({date(2026, 10, 10)})).add_working_days(
        date(2026, 9, 30), DECISION_WORKING_DAYS) == date(2026, 10, 16)  # without that Saturday: a day later


def test_an_admin_entered_holiday_moves_the_deadline():
    plain = deadlines(WorkCalendar(), date(2026, 11, 2))
    local = deadlines(WorkCalendar.of(holidays=[date(2026, 11, 4)]), date(2026, 11, 2))
    assert plain.respond_by == date(2026, 11, 11)
    assert local.respond_by == date(2026, 11, 12)


@settings(max_examples=200, deadline=None)
@given(calendars, days)
def test_deadlines_are_working_days_in_order(calendar, filed):
    d = deadlines(calendar, filed)
    assert filed < d.mark_by <= d.warn_on < d.respond_by
    for day in (d.mark_by, d.warn_on, d.respond_by):
        assert calendar.is_working_day(day)
    assert calendar.working_days_between(filed, d.mark_by) == 1
    assert calendar.working_days_between(filed, d.respond_by) == 7
    assert calendar.working_days_between(d.warn_on, d.respond_by) == 2


@settings(max_examples=200, deadline=None)
@given(days, st.integers(0, 30), st.integers(0, 30), st.sampled_from(["open", "upheld", "refused"]))
def test_due_state(today, warn_gap, respond_gap, status):
    warn_on = today + timedelta(days=warn_gap - 15)
    respond_by = warn_on + timedelta(days=respond_gap + 1)
    state = due_state(today, status=status, warn_on=warn_on, respond_by=respond_by)
    if status != "open":
        assert state == "decided"
    elif today > respond_by:
        assert state == "overdue"
    elif today >= warn_on:
        assert state == "due_soon"
    else:
        assert state == "open"


cases = st.lists(st.builds(
    lambda township, respond, delay, decided: DecidedCase(township, respond,
                                                          respond + timedelta(days=delay) if decided else None),
    st.integers(1, 4), days, st.integers(-10, 10), st.booleans()), max_size=40)


@settings(max_examples=200, deadline=None)
@given(cases, days)
def test_on_time_rates_count_every_case_once(all_cases, today):
    rates = on_time_rates(all_cases, today)
    assert [r.township_id for r in rates] == sorted({c.township_id for c in all_cases})
    assert sum(r.filed for r in rates) == len(all_cases)
    for r in rates:
        mine = [c for c in all_cases if c.township_id == r.township_id]
        assert r.decided + r.open == r.filed == len(mine)
        assert r.decided_on_time + r.decided_late == r.decided
        assert r.decided_on_time == sum(1 for c in mine if c.decided_on is not None and c.decided_on <= c.respond_by)
        assert r.open_overdue == sum(1 for c in mine if c.decided_on is None and today > c.respond_by)
        if r.decided:
            assert r.on_time_permille == r.decided_on_time * 1000 // r.decided
            assert 0 <= r.on_time_permille <= 1000
        else:
            assert r.on_time_permille is None


def test_on_time_rates_for_a_constructed_set():
    due = date(2026, 10, 15)
    rates = on_time_rates([
        DecidedCase(1, due, due),  # on the deadline day: on time
        DecidedCase(1, due, due - timedelta(days=3)),
        DecidedCase(1, due, due + timedelta(days=1)),  # a day late
        DecidedCase(1, due, None),  # open and overdue on 20 October
        DecidedCase(2, date(2026, 10, 30), None),  # open, not yet due
    ], date(2026, 10, 20))
    one, two = rates
    assert (one.filed, one.decided, one.decided_on_time, one.decided_late, one.open, one.open_overdue,
            one.on_time_permille) == (4, 3, 2, 1, 1, 1, 666)
    assert (two.filed, two.decided, two.open, two.open_overdue, two.on_time_permille) == (1, 0, 1, 0, None)
