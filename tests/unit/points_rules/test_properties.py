"""Property tests: random event sequences of one subject against an independent model.

The expectations here are computed from first principles (the reference numbers of DOMAIN.md and
the definition of "in force"), not by calling the engine's own helpers.
"""

from __future__ import annotations

import random
from dataclasses import fields, is_dataclass
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from points_rules import load_catalogue_dir, score_event, standing
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
    shuffler = random.Random(seed)
    for spec in specs:
        event = ledger.event(**spec)
        history = list(ledger.entries)
        result = score_event(CAT, event, history)
        # (e) the same inputs give the same result, whatever the order of the history.
        shuffled = history[:]
        shuffler.shuffle(shuffled)
        assert score_event(CAT, event, history) == result
        assert score_event(CAT, event, shuffled) == result
        # (d) never a float: points are int tenths, quantities Decimal, explanation JSON-ready.
        assert_no_float(result)
        assert all(isinstance(d.points, int) for d in result.entries)
        ledger.apply(event, result)

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


@SETTINGS
@given(split=st.lists(st.tuples(hours, days), min_size=1, max_size=15))
def test_tiered_points_sum_to_the_tier_of_the_total_whatever_the_split(split):
    ledger = Ledger(CAT)
    awarded = 0
    for quantity, day in split:
        (draft,) = ledger.record("VOL-HOURS", day, quantity=quantity).entries
        assert draft.points >= 0
        awarded += draft.points
    total = sum(q for q, _ in split)
    assert awarded == reference_volunteer_tenths(total)
    assert sum(e.quantity for e in ledger.entries) == total


@SETTINGS
@given(act=st.lists(event_specs(codes=ACT_CODES, acts=st.just("act")), min_size=1, max_size=8), day=days,
       background=st.lists(event_specs(codes=ACT_CODES, acts=st.none()), max_size=5))
def test_one_act_nets_to_its_largest_item(act, day, background):
    ledger = Ledger(CAT)
    for spec in background:   # other acts the subject already has (may double or cap this one's items)
        ledger.record(**spec)
    before = {e.entry_id for e in ledger.entries}
    scored = []
    for spec in act:
        event = ledger.event(**{**spec, "occurred_on": day, "recorded_on": day})
        # What this item alone would score now (with doubling/cap from the other acts):
        alone = score_event(CAT, event, [e for e in ledger.entries if e.act_id != "act"]).entries[0].points
        scored.append(alone)
        ledger.apply(event, score_event(CAT, event, ledger.entries))
    expected = None
    for points in scored:                       # the first of the largest |points| wins ties
        if expected is None or abs(points) > abs(expected):
            expected = points
    act_entries = [e for e in ledger.entries if e.entry_id not in before]
    # Net points of the act in force on its day = the largest item's points; one live entry remains.
    assert sum(e.points for e in act_entries if e.valid_from <= day < e.valid_until) == expected
    assert len([e for e in act_entries if not e.reversed and not e.is_reversal]) == 1
