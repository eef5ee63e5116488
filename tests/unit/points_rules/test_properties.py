"""Property tests: random event sequences of one subject against an independent model.

The expectations here are computed from first principles (the reference numbers of docs/domain.md and
the definition of "in force"), not by calling the engine's own helpers.
"""

from __future__ import annotations

import random
from dataclasses import fields, is_dataclass
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from points_rules import load_catalogue_dir, score_history, standing
from points_rules.model import DirectGrade, LevelPoints, TieredPoints

from .ledger_model import Ledger

CAT = load_catalogue_dir()
PERSON_CODES = sorted(i.code for i in CAT.versions[0].items if "person" in i.subject_kinds)
ACT_CODES = sorted(i.code for i in CAT.versions[0].items if "person" in i.subject_kinds
                   and not isinstance(i.points, (TieredPoints, DirectGrade)))

BASE = 10000
GRADES = [(10500, "AAA"), (10300, "AA"), (9600, "A"), (8500, "B"), (6000, "C"), (None, "D")]
WORST_FIRST = ["D", "C", "B", "A", "AA", "AAA"]
VOLUNTEER_TIERS = [(10, 2), (20, 5), (50, 10), (80, 15), (100, 20), (150, 25), (200, 30), (250, 40), (300, 50)]

SETTINGS = settings(max_examples=150, deadline=None)
hours = st.decimals(min_value=Decimal("0.5"), max_value=Decimal(90), places=1)
days = st.dates(date(2026, 1, 1), date(2028, 12, 31))


def reference_volunteer_tenths(total: Decimal) -> int:
    reached = [points for at, points in VOLUNTEER_TIERS if total >= at]
    return reached[-1] * 10 if reached else 0


def reference_grade(score: int, overrides: set[str]) -> str:
    grade = next(g for low, g in GRADES if low is None or score >= low)
    for o in overrides:
        if WORST_FIRST.index(o) < WORST_FIRST.index(grade):
            grade = o
    return grade


@st.composite
def event_specs(draw, codes=PERSON_CODES, acts=st.none() | st.sampled_from(["act-1", "act-2"])):
    code = draw(st.sampled_from(codes))
    occurred = draw(days)
    item = CAT.version_on(occurred).item(code)
    spec = {"item_code": code, "occurred_on": occurred,
            "recorded_on": occurred + timedelta(days=draw(st.integers(0, 60))), "act_id": draw(acts)}
    if isinstance(item.points, LevelPoints):
        spec["level"] = draw(st.sampled_from([lv.key for lv in item.points.levels]))
    if isinstance(item.points, TieredPoints):
        spec["quantity"] = draw(hours)
    return spec


def assert_no_float(value, where="draft"):
    assert not isinstance(value, float), where
    if is_dataclass(value):
        for f in fields(value):
            assert_no_float(getattr(value, f.name), f"{where}.{f.name}")
    elif isinstance(value, dict):
        for k, v in value.items():
            assert_no_float(k, where)
            assert_no_float(v, f"{where}[{k!r}]")
    elif isinstance(value, (list, tuple, set)):
        for v in value:
            assert_no_float(v, where)


@SETTINGS
@given(specs=st.lists(event_specs(), max_size=25), as_of=st.lists(days, min_size=1, max_size=6),
       excluded=st.sets(st.integers(1, 40), max_size=5), seed=st.integers(0, 2**32 - 1))
def test_standing_is_base_plus_points_in_force_and_scoring_is_deterministic(specs, as_of, excluded, seed):
    ledger = Ledger(CAT)
    for spec in specs:
        result = ledger.record(**spec)
        # (d) never a float: points are int tenths, quantities Decimal, explanation JSON-ready.
        assert_no_float(result)
        assert all(isinstance(d.points, int) for d in result.entries)
    # (e) the same set of events gives the same entries, whatever order it is handed over in.
    events = list(ledger.counted.values())
    shuffled = events[:]
    random.Random(seed).shuffle(shuffled)
    assert score_history(CAT, events) == score_history(CAT, shuffled)

    views = ledger.views(not_counting=frozenset(excluded))
    for d in as_of:
        in_force = [v for v in views if v.counts and v.valid_from <= d < v.valid_until]
        reversed_ids = {v.reverses_entry_id for v in in_force}
        overrides = {v.grade_override for v in in_force if v.grade_override and v.entry_id not in reversed_ids}
        s = standing(CAT, views, d)
        # (a) score = base + points in force, computed here independently.
        assert s.score == BASE + sum(v.points for v in in_force)
        assert s.grade == reference_grade(s.score, overrides)
        assert s.in_force_entry_ids == sorted(v.entry_id for v in in_force)
        if s.next_expiry is not None:
            assert s.next_expiry > d
            assert s.next_expiry_points == sum(v.points for v in in_force if v.valid_until == s.next_expiry) != 0
        assert_no_float(s, "standing")


within_a_year = st.dates(date(2026, 1, 1), date(2026, 12, 31))


@SETTINGS
@given(split=st.lists(st.tuples(hours, within_a_year), min_size=1, max_size=15))
def test_tiered_points_sum_to_the_tier_of_the_total_whatever_the_split(split):
    """Hours logged within one year (so all of them are in force at the last event) earn in all
    exactly the tier of their total, however they are split and in whatever order they arrive."""
    ledger = Ledger(CAT)
    for quantity, day in split:
        ledger.record("VOL-HOURS", day, quantity=quantity)
    active = ledger.active()
    assert all(e.points >= 0 for e in active)
    total = sum(q for q, _ in split)
    assert sum(e.points for e in active) == reference_volunteer_tenths(total)
    assert sum(e.quantity for e in active) == total


@SETTINGS
@given(split=st.lists(st.tuples(hours, days), min_size=1, max_size=15))
def test_tiered_points_in_force_never_fall_short_of_the_tier_on_an_event_day(split):
    """Across years: on each event's day the item's points in force reach at least the tier of the
    hours in force that day (what lapsed can be earned again), and no increment is negative."""
    ledger = Ledger(CAT)
    for quantity, day in split:
        ledger.record("VOL-HOURS", day, quantity=quantity)
    active = ledger.active()
    assert all(e.points >= 0 for e in active)
    for _, day in split:
        live = [e for e in active if e.valid_from <= day < e.valid_until]
        assert sum(e.points for e in live) >= reference_volunteer_tenths(sum(e.quantity for e in live))


def nominal_tenths(spec) -> int:
    """The catalogue value of an event's item, read straight from the catalogue."""
    rule = CAT.version_on(spec["occurred_on"]).item(spec["item_code"]).points
    if isinstance(rule, LevelPoints):
        return abs(rule.level(spec["level"]).points)
    return abs(rule.points)


@SETTINGS
@given(act=st.lists(event_specs(codes=ACT_CODES, acts=st.just("act")), min_size=1, max_size=8), day=days,
       background=st.lists(event_specs(codes=ACT_CODES, acts=st.none()), max_size=5))
def test_one_act_keeps_only_its_largest_item(act, day, background):
    ledger = Ledger(CAT)
    for spec in background:   # other acts the subject already has (may double or cap this one's items)
        ledger.record(**spec)
    specs = [{**spec, "occurred_on": day, "recorded_on": day} for spec in act]
    ids = [ledger.record(**spec) and ledger._next_event - 1 for spec in specs]
    # The winner: the largest catalogue value; on a tie the canonically first (here: the first recorded).
    winner = max(range(len(specs)), key=lambda i: (nominal_tenths(specs[i]), -i))
    live = [e for e in ledger.active() if e.event_id in ids]
    assert [e.event_id for e in live] == [ids[winner]]
    assert live[0].item_code == specs[winner]["item_code"]
