"""Eligibility for listed measures (points_rules.eligibility): properties and worked cases.

Expectations are written from the rules (arts. 38–43 as docs/domain.md states them), not by calling
the module's own helpers.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from points_rules.eligibility import (
    CATEGORIES,
    FINANCIAL,
    GRADE_AT_LEAST,
    GRADE_IN,
    INCENTIVE,
    RESTRICTION,
    SERIOUS_DISHONESTY,
    SUBSIDY,
    TOWNSHIP_CREDIT,
    VILLAGE_CREDIT,
    Condition,
    Measure,
    MeasureProblem,
    RatingFact,
    SeriousEntry,
    check_measure,
    decide,
    facts_on,
    parse_conditions,
    rating_on,
    serious_on,
)

GRADES = ("AAA", "AA", "A", "none")
SETTINGS = settings(max_examples=300, deadline=None)
days = st.dates(date(2025, 1, 1), date(2028, 12, 31))


@st.composite
def ratings(draw, level: str = "household"):
    out = []
    for i in range(draw(st.integers(0, 4))):
        ends = draw(days)
        effective = ends + timedelta(days=draw(st.integers(1, 60)))
        grade = draw(st.sampled_from(GRADES if level == "household" else ("credit", "none")))
        out.append(RatingFact(period_id=i + 1, period_code=f"P{i}", period_name_zh=f"第{i}期", period_ends_on=ends,
                              effective_on=effective, grade=grade, is_credit=grade != "none"))
    return out


@st.composite
def serious_entries(draw):
    out = []
    for i in range(draw(st.integers(0, 3))):
        start = draw(days)
        recorded = start + timedelta(days=draw(st.integers(0, 40)))
        reversed_on = draw(st.one_of(st.none(), st.just(recorded + timedelta(days=draw(st.integers(0, 400))))))
        out.append(SeriousEntry(entry_id=i + 1, valid_from=start, valid_until=start + timedelta(days=5 * 365),
                                recorded_on=recorded, reversed_on=reversed_on))
    return out


@st.composite
def conditions(draw, kind: str):
    pool = [GRADE_AT_LEAST, GRADE_IN, VILLAGE_CREDIT, TOWNSHIP_CREDIT] if kind == INCENTIVE else [GRADE_IN,
                                                                                                   SERIOUS_DISHONESTY]
    chosen = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=len(pool), unique=True))
    out = []
    for c in chosen:
        if c == GRADE_AT_LEAST:
            out.append(Condition(c, (draw(st.sampled_from(GRADES)),)))
        elif c == GRADE_IN:
            picked = draw(st.lists(st.sampled_from(GRADES), min_size=1, unique=True))
            out.append(Condition(c, tuple(g for g in GRADES if g in picked)))
        else:
            out.append(Condition(c))
    return tuple(out)


@st.composite
def measures(draw, kind: str | None = None, category: str | None = None):
    kind = kind or draw(st.sampled_from([INCENTIVE, RESTRICTION]))
    start = draw(days)
    end = draw(st.one_of(st.none(), st.just(start + timedelta(days=draw(st.integers(0, 900))))))
    return Measure(id=draw(st.integers(1, 1000)), kind=kind, category=category or draw(st.sampled_from(list(CATEGORIES))),
                   name_zh="措施", conditions=draw(conditions(kind)), valid_from=start, valid_to=end)


@st.composite
def worlds(draw):
    return (draw(days), draw(ratings()), draw(ratings("village")), draw(ratings("township")), draw(serious_entries()))


# --- properties -----------------------------------------------------------------------------------------------


@SETTINGS
@given(world=worlds(), measure=measures(kind=INCENTIVE, category=SUBSIDY),
       category=st.sampled_from([SUBSIDY, FINANCIAL]))
def test_serious_dishonesty_in_force_excludes_from_every_subsidy_and_financial_incentive(world, measure, category):
    day, hr, vr, tr, serious = world
    measure = Measure(measure.id, INCENTIVE, category, measure.name_zh, measure.conditions, measure.valid_from,
                      measure.valid_to)
    facts = facts_on(day, hr, vr, tr, serious)
    decision = decide(measure, facts, GRADES)
    # independent: serious on `day` = an entry recorded by `day`, in force on `day`, not reversed by `day`
    in_force = any(e.recorded_on <= day and e.valid_from <= day < e.valid_until
                   and (e.reversed_on is None or e.reversed_on > day) for e in serious)
    if in_force:
        assert not decision.applies
        assert "第四十二条" in decision.reason_zh or decision.code == "NOT_IN_TERM"


@SETTINGS
@given(world=worlds(), later=ratings(), measure=measures())
def test_eligibility_on_a_day_depends_only_on_ratings_effective_by_that_day(world, later, measure):
    day, hr, vr, tr, serious = world
    # ratings that become effective only after `day` (whatever their period) change nothing on `day`
    shifted = [RatingFact(100 + r.period_id, r.period_code, r.period_name_zh, r.period_ends_on + timedelta(days=3000),
                          day + timedelta(days=1 + (r.effective_on - r.period_ends_on).days), r.grade, r.is_credit)
               for r in later]
    before = decide(measure, facts_on(day, hr, vr, tr, serious), GRADES)
    after = decide(measure, facts_on(day, hr + shifted, vr + shifted, tr + shifted, serious), GRADES)
    assert before == after
    # and the order the ratings come in does not matter
    assert decide(measure, facts_on(day, list(reversed(hr)), list(reversed(vr)), tr, serious), GRADES) == before


@SETTINGS
@given(world=worlds(), late=serious_entries(), measure=measures())
def test_records_and_repairs_written_after_the_day_never_change_that_days_answer(world, late, measure):
    day, hr, vr, tr, serious = world
    recorded_later = [SeriousEntry(50 + e.entry_id, e.valid_from, e.valid_until, day + timedelta(days=1),
                                   e.reversed_on) for e in late]
    # a repair written after `day` of an entry known on `day`
    repaired_later = [SeriousEntry(e.entry_id, e.valid_from, e.valid_until, e.recorded_on, day + timedelta(days=1))
                      if e.reversed_on is None or e.reversed_on > day else e for e in serious]
    base = decide(measure, facts_on(day, hr, vr, tr, serious), GRADES)
    assert decide(measure, facts_on(day, hr, vr, tr, serious + recorded_later), GRADES) == base
    assert decide(measure, facts_on(day, hr, vr, tr, repaired_later), GRADES) == base


@SETTINGS
@given(world=worlds(), measure=measures())
def test_nothing_applies_outside_its_term(world, measure):
    day, hr, vr, tr, serious = world
    facts = facts_on(day, hr, vr, tr, serious)
    if day < measure.valid_from or (measure.valid_to is not None and day > measure.valid_to):
        assert not decide(measure, facts, GRADES).applies


@SETTINGS
@given(world=worlds(), category=st.sampled_from(list(CATEGORIES)))
def test_a_serious_dishonesty_restriction_applies_exactly_while_the_entry_is_in_force(world, category):
    day, hr, vr, tr, serious = world
    measure = Measure(1, RESTRICTION, category, "限制", (Condition(SERIOUS_DISHONESTY),), date(2020, 1, 1), None)
    expected = any(e.recorded_on <= day and e.valid_from <= day < e.valid_until
                   and (e.reversed_on is None or e.reversed_on > day) for e in serious)
    assert decide(measure, facts_on(day, hr, vr, tr, serious), GRADES).applies is expected


@SETTINGS
@given(world=worlds(), wanted=st.sampled_from(GRADES))
def test_grade_at_least_follows_the_latest_effective_rating(world, wanted):
    day, hr, vr, tr, _ = world
    measure = Measure(1, INCENTIVE, "administrative", "便利", (Condition(GRADE_AT_LEAST, (wanted,)),),
                      date(2020, 1, 1), None)
    effective = [r for r in hr if r.effective_on <= day]
    latest = max(effective, key=lambda r: (r.period_ends_on, r.effective_on, r.period_id)) if effective else None
    expected = latest is not None and GRADES.index(latest.grade) <= GRADES.index(wanted)
    assert decide(measure, facts_on(day, hr, vr, tr, []), GRADES).applies is expected


# --- worked cases -------------------------------------------------------------------------------------------


def _rating(pid, ends, effective, grade):
    return RatingFact(pid, f"P{pid}", f"第{pid}期", ends, effective, grade, grade != "none")


def test_worked_case_with_reasons_in_chinese():
    hr = [_rating(1, date(2025, 12, 31), date(2026, 1, 20), "AAA"), _rating(2, date(2026, 6, 30), date(2026, 7, 20), "A")]
    vr = [_rating(1, date(2026, 1, 31), date(2026, 2, 20), "credit")]
    m = Measure(7, INCENTIVE, FINANCIAL, "授信额度上浮", (Condition(GRADE_IN, ("AAA",)), Condition(VILLAGE_CREDIT)),
                date(2026, 1, 1), None)
    assert not decide(m, facts_on(date(2026, 2, 1), hr, vr, [], []), GRADES).applies  # village not yet credit
    yes = decide(m, facts_on(date(2026, 3, 1), hr, vr, [], []), GRADES)
    assert yes.applies and "AAA级信用户" in yes.reason_zh and "信用村" in yes.reason_zh
    no = decide(m, facts_on(date(2026, 8, 1), hr, vr, [], []), GRADES)  # period 2 made it A
    assert not no.applies and "A级信用户" in no.reason_zh
    entry = SeriousEntry(1, date(2026, 2, 1), date(2031, 2, 1), date(2026, 2, 10), reversed_on=date(2026, 5, 1))
    assert serious_on([entry], date(2026, 2, 9)) is False  # not known yet
    assert serious_on([entry], date(2026, 2, 10)) is True
    assert serious_on([entry], date(2026, 5, 1)) is False  # repaired that day
    barred = decide(m, facts_on(date(2026, 3, 1), hr, vr, [], [entry]), GRADES)
    assert (barred.applies, barred.code) == (False, "SERIOUS_DISHONESTY_BARS")
    assert rating_on(hr, date(2026, 1, 19)) is None


def test_conditions_are_a_closed_set():
    assert parse_conditions([{"kind": "household_grade_in", "grades": ["A", "AAA"]}], GRADES) == (
        Condition(GRADE_IN, ("AAA", "A")),)
    for bad in ([], [{"kind": "has_car"}], [{"kind": "household_grade_at_least", "grade": "B"}],
                [{"kind": "village_is_credit", "extra": 1}], [{"kind": "village_is_credit"}] * 2,
                [{"kind": "household_grade_in", "grades": []}]):
        with pytest.raises(MeasureProblem):
            parse_conditions(bad, GRADES)


def test_lawful_related_proportional():
    with pytest.raises(MeasureProblem):  # an incentive for serious dishonesty
        check_measure(INCENTIVE, SUBSIDY, (Condition(SERIOUS_DISHONESTY),), date(2026, 1, 1), None)
    with pytest.raises(MeasureProblem):  # punishing a household for its village
        check_measure(RESTRICTION, "supervision", (Condition(VILLAGE_CREDIT),), date(2026, 1, 1), None)
    with pytest.raises(MeasureProblem):  # restricting subsidies for a low grade alone
        check_measure(RESTRICTION, SUBSIDY, (Condition(GRADE_IN, ("none",)),), date(2026, 1, 1), None)
    with pytest.raises(MeasureProblem):
        check_measure(INCENTIVE, SUBSIDY, (Condition(VILLAGE_CREDIT),), date(2026, 2, 1), date(2026, 1, 1))
    check_measure(RESTRICTION, SUBSIDY, (Condition(SERIOUS_DISHONESTY),), date(2026, 1, 1), None)
    check_measure(RESTRICTION, "supervision", (Condition(GRADE_IN, ("none",)),), date(2026, 1, 1), None)
