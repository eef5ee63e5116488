"""``points_rules.reports``: half-year bounds and codes, exact shares and medians, the canonical
serialisation of the figures and its fingerprint."""

from __future__ import annotations

import json
import statistics
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from points_rules.reports import (HalfYear, PeriodError, canonical_json, figures_sha256, hours, median, parse_period,
                                  share_percent)

days = st.dates(min_value=date(2001, 1, 1), max_value=date(2999, 12, 31))


@given(days)
def test_every_day_lies_in_exactly_one_half_year(day):
    h = HalfYear.of(day)
    assert h.contains(day)
    assert not h.previous().contains(day)
    assert h.starts_on <= day <= h.ends_on
    assert parse_period(h.code) == h


@given(st.integers(2001, 2998), st.sampled_from([1, 2]))
def test_half_years_tile_the_calendar(year, half):
    h = HalfYear(year, half)
    prev = h.previous()
    assert prev.ends_on + timedelta(days=1) == h.starts_on
    assert prev < h
    assert (h.ends_on - h.starts_on).days + 1 in (181, 182, 184)  # H1 (leap or not) / H2
    assert not h.is_over(h.ends_on) and h.is_over(h.ends_on + timedelta(days=1))


@given(days, st.integers(-400, 400))
def test_a_cut_narrows_the_half_year_to_a_day_in_it(day, shift):
    """A provisional report's cut: the figures end on that day; the last day is no cut at all; a day
    outside the half-year is refused; the half-year itself (code, start, end, being over) is unchanged."""
    h = HalfYear.of(day)
    cut_day = day + timedelta(days=shift)
    if not h.starts_on <= cut_day <= h.full_ends_on:
        with pytest.raises(PeriodError):
            h.cut(cut_day)
        return
    cut = h.cut(cut_day)
    assert cut.ends_on == cut_day and cut.starts_on == h.starts_on and cut.code == h.code
    assert cut.provisional == (cut_day < h.full_ends_on) and cut.full_ends_on == h.full_ends_on
    assert (cut == h) == (cut_day == h.full_ends_on)
    assert cut.is_over(h.full_ends_on + timedelta(days=1)) and not cut.is_over(h.full_ends_on)
    assert cut.previous() == h.previous() and not cut.previous().provisional
    assert ("截至" in cut.name_zh) == cut.provisional


@pytest.mark.parametrize("code", ["2026H3", "2026h1", "26H1", "2026-H1", "", "2026H1 x", "1999H2"])
def test_bad_codes_are_refused(code):
    with pytest.raises(PeriodError):
        parse_period(code)


def test_bounds_of_known_half_years():
    assert (HalfYear(2026, 1).starts_on, HalfYear(2026, 1).ends_on) == (date(2026, 1, 1), date(2026, 6, 30))
    assert (HalfYear(2026, 2).starts_on, HalfYear(2026, 2).ends_on) == (date(2026, 7, 1), date(2026, 12, 31))
    assert HalfYear(2026, 1).previous().code == "2025H2"
    assert HalfYear(2026, 2).name_zh == "2026年下半年"


@given(st.integers(0, 10**6), st.integers(1, 10**6))
def test_share_is_the_exact_ratio_rounded_half_up(part, whole):
    text = share_percent(part, whole)
    exact = Fraction(part * 100, whole)
    shown = Fraction(Decimal(text))
    assert abs(shown - exact) <= Fraction(1, 20)          # within half a unit of the last place
    if abs(shown - exact) == Fraction(1, 20):
        assert shown > exact                               # a tie goes up
    assert len(text.split(".")[1]) == 1


def test_share_examples():
    assert share_percent(2, 3) == "66.7"
    assert share_percent(1, 8) == "12.5"
    assert share_percent(1, 16) == "6.3"                   # 6.25 → half up
    assert share_percent(0, 5) == "0.0"
    assert share_percent(5, 5) == "100.0"
    assert share_percent(0, 0) is None


@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=60))
def test_median_is_exact(values):
    assert Fraction(median(values)) == statistics.median(Fraction(v) for v in values)
    assert median(values) == median(list(reversed(values)))


def test_median_and_hours_examples():
    assert median([]) is None
    assert median([3600, 7200]) == Decimal(5400)
    assert hours(median([3600, 7200])) == "1.5"
    assert hours(180) == "0.1"                             # 0.05 h → half up
    assert hours(None) is None


figure = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=200)
@given(st.dictionaries(st.text(max_size=6), figure, max_size=5))
def test_canonical_form_ignores_key_order_and_round_trips(figures):
    reordered = dict(reversed(list(figures.items())))
    assert canonical_json(figures) == canonical_json(reordered)
    assert figures_sha256(figures) == figures_sha256(reordered)
    assert json.loads(canonical_json(figures)) == figures
    assert len(figures_sha256(figures)) == 64


def test_floats_and_other_types_are_refused():
    with pytest.raises(TypeError):
        canonical_json({"share": 0.5})
    with pytest.raises(TypeError):
        canonical_json({"rows": [{"when": date(2026, 1, 1)}]})
    assert canonical_json({"b": "二", "a": [1, None, True]}) == '{"a":[1,null,true],"b":"二"}'
