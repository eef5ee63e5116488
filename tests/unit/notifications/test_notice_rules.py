"""Notification rules (pure): quiet hours hold external sends (never inside them, never earlier than
now, across midnight), and what may leave the platform never carries a record's content."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, strategies as st

from points_rules import notifications as rules
from points_rules.notifications import CONTENT_FREE, in_quiet_hours, next_send_time

SHANGHAI = ZoneInfo("Asia/Shanghai")
instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31)).map(
    lambda d: d.replace(tzinfo=SHANGHAI))
clocks = st.times().map(lambda t: t.replace(second=0, microsecond=0))


@given(instants, clocks, clocks)
def test_the_send_time_is_never_inside_quiet_hours_nor_before_now(now, start, end):
    at = next_send_time(now, start, end)
    assert at >= now
    assert not in_quiet_hours(at.time(), start, end)
    assert at - now <= timedelta(hours=24)


@given(instants, clocks, clocks)
def test_outside_quiet_hours_a_send_is_not_held(now, start, end):
    if not in_quiet_hours(now.time(), start, end):
        assert next_send_time(now, start, end) == now


@given(instants, clocks, clocks)
def test_a_held_send_goes_at_the_end_of_the_quiet_hours(now, start, end):
    at = next_send_time(now, start, end)
    if at != now:
        assert at.time() == end
        # nothing earlier would do: every minute between now and the send is quiet
        probe = now
        while probe < at:
            assert in_quiet_hours(probe.time(), start, end)
            probe += timedelta(minutes=37)


def test_crossing_midnight():
    start, end = time(21), time(8)
    evening = datetime(2026, 12, 7, 22, 30, tzinfo=SHANGHAI)
    assert next_send_time(evening, start, end) == datetime(2026, 12, 8, 8, 0, tzinfo=SHANGHAI)
    night = datetime(2026, 12, 31, 23, 59, tzinfo=SHANGHAI)
    assert next_send_time(night, start, end) == datetime(2027, 1, 1, 8, 0, tzinfo=SHANGHAI)
    early = datetime(2026, 12, 8, 3, 0, tzinfo=SHANGHAI)
    assert next_send_time(early, start, end) == datetime(2026, 12, 8, 8, 0, tzinfo=SHANGHAI)
    day = datetime(2026, 12, 8, 8, 0, tzinfo=SHANGHAI)
    assert next_send_time(day, start, end) == day
    at_start = datetime(2026, 12, 8, 21, 0, tzinfo=SHANGHAI)
    assert next_send_time(at_start, start, end) == datetime(2026, 12, 9, 8, 0, tzinfo=SHANGHAI)


def test_no_quiet_hours_when_both_ends_are_equal():
    now = datetime(2026, 12, 7, 23, 0, tzinfo=SHANGHAI)
    assert next_send_time(now, time(0), time(0)) == now


def test_a_window_within_the_day():
    start, end = time(12), time(14)
    assert next_send_time(datetime(2026, 5, 1, 13, tzinfo=SHANGHAI), start, end) == datetime(2026, 5, 1, 14, tzinfo=SHANGHAI)
    assert next_send_time(datetime(2026, 5, 1, 15, tzinfo=SHANGHAI), start, end) == datetime(2026, 5, 1, 15, tzinfo=SHANGHAI)


names = st.text(alphabet="拒不履行法院判决赡养老人垃圾分类乱倒", min_size=2, max_size=12)
tenths = st.integers(min_value=-500, max_value=500).map(lambda t: f"{t / 10:+.1f}")
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))
reasons = st.text(alphabet="经核实证据不足理由充分", min_size=1, max_size=20)


@given(names, days, tenths, st.booleans(), st.booleans())
def test_a_recorded_event_says_the_facts_in_app_and_nothing_outside(name, day, points, pending, household):
    m = rules.event_recorded(item_name_zh=name, occurred_on=day, points=points, pending_review=pending,
                             household=household)
    assert name in m.body_zh and f"{day.year}年" in m.body_zh
    assert (points in m.body_zh) is not pending
    assert m.external_text == CONTENT_FREE
    assert m.kind == (rules.EVENT_PENDING if pending else rules.EVENT_RECORDED)


@given(names, days, tenths, st.booleans(), reasons)
def test_a_decision_on_an_event_is_content_free_outside(name, day, points, approved, reason):
    m = rules.event_decided(item_name_zh=name, occurred_on=day, approved=approved, points=points, reason=reason)
    assert m.external_text == CONTENT_FREE
    assert name in m.body_zh
    if not approved:
        assert reason in m.body_zh and m.kind == rules.EVENT_REJECTED


@given(st.sampled_from(["AAA", "AA", "A", "B", "C", "none"]), days)
def test_publicity_outside_names_the_deadline_never_the_grade(grade, ends):
    m = rules.publicity(period_name_zh="2026年度家庭信用评定", grade=grade, publicity_ends_on=ends)
    assert f"{ends.year}年{ends.month}月{ends.day}日" in m.external_text
    assert grade not in m.external_text.replace("村信", "")
    assert rules.GRADE_NAMES_ZH[grade] in m.body_zh
    assert "提出异议" in m.body_zh and m.link == "/rating-objection"


def test_every_other_kind_is_content_free_outside():
    at = datetime(2026, 12, 7, 10, 30, tzinfo=SHANGHAI)
    for m in (rules.objection_decided(objection_id=12, item_name_zh="乱倒垃圾", upheld=True, reason="核实有误"),
              rules.repair_decided(repair_id=3, item_name_zh="乱倒垃圾", approved=False, reason="材料不全"),
              rules.rating_objection_decided(period_name_zh="2026", upheld=True, grade="AA", reason="r",
                                             publicity_ends_on=date(2026, 12, 20)),
              rules.bank_pull(bank_name_zh="示范农商银行", at=at, consent_id=7, product_code="P1"),
              rules.commitment_due(title_zh="守信承诺书", check_on=date(2026, 12, 14))):
        assert m.external_text == CONTENT_FREE
        assert m.kind in rules.KINDS
    assert rules.objection_decided(objection_id=12, item_name_zh="x", upheld=False, reason="r").link == "/objections/12"


def test_imported_events_are_news_for_thirty_days():
    today = date(2026, 12, 7)
    assert rules.news_since(today) == date(2026, 11, 7)


def test_parse_clock():
    assert rules.parse_clock("21:00") == time(21)
    assert rules.parse_clock(" 8:05 ") == time(8, 5)
