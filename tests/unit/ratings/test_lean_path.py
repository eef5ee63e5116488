"""The county-wide recompute's lean path (``StandingRule``, ``HouseholdRule``, ``village_from_counts``)
decides and says exactly what the full path does (``points_rules.engine.standing``,
``rate_household``, ``rate_village``), on random ledgers, members and households.

The lean path starts from what the database hands the recompute: per subject, the sum of the
counting entries in force that are neither reversed nor reversals, and the direct grades among
them (``backend.ratings.compute``); ``_as_the_database_sums`` is that aggregation, written out."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from math import floor

from hypothesis import given, settings
from hypothesis import strategies as st

from points_rules import EntryView, MemberInput, load_catalogue_dir, rate_household, rate_village, standing
from points_rules.engine import StandingRule, score_and_grade
from points_rules.ratings import HouseholdRating, HouseholdRule, _points_zh, _ratio_zh, household_rule, \
    village_from_counts
from points_rules.totals import standing_from_totals
from points_rules.units import format_points

CATALOGUES = load_catalogue_dir()
DAYS = (date(2026, 6, 30), date(2026, 9, 1), date(2026, 12, 31), date(2027, 2, 28))   # both shipped versions
GRADES = ("A", "B", "C", "D")


@st.composite
def ledgers(draw, as_of: date):
    """Entries of one subject: points or direct grades, some not counting (disputed), some reversed
    (a reversal carries the reversed entry's validity and the opposite points)."""
    entries: list[EntryView] = []
    for i in range(draw(st.integers(0, 14))):
        start = as_of - timedelta(days=draw(st.integers(0, 900)))
        until = start + timedelta(days=draw(st.integers(1, 1900)))
        override = draw(st.one_of(st.none(), st.none(), st.none(), st.sampled_from(GRADES)))
        points = 0 if override else draw(st.integers(-800, 600))
        counts = draw(st.booleans()) or draw(st.booleans())
        entries.append(EntryView(i + 1, points, start, until, override, counts))
        if draw(st.integers(0, 9)) == 0:  # reversed
            entries.append(EntryView(1000 + i, -points, start, until, None, counts, reverses_entry_id=i + 1))
    return entries


def _as_the_database_sums(entries: list[EntryView], as_of: date) -> tuple[int, list[tuple[str, date]]]:
    reversed_ids = {e.reverses_entry_id for e in entries if e.reverses_entry_id is not None}
    live = [e for e in entries if e.counts and e.valid_from <= as_of < e.valid_until
            and e.reverses_entry_id is None and e.entry_id not in reversed_ids]
    return sum(e.points for e in live), [(e.grade_override, e.valid_until) for e in live if e.grade_override]


@settings(max_examples=400, deadline=None)
@given(st.data(), st.sampled_from(DAYS), st.integers(-400, 400))
def test_standing_rule_equals_standing_on_entries(data, as_of, village_total):
    entries = data.draw(ledgers(as_of))
    full = standing(CATALOGUES, entries, as_of, village_total)
    points, overrides = _as_the_database_sums(entries, as_of)
    version = CATALOGUES.version_on(as_of)
    rule = StandingRule(version)
    for _ in range(2):  # the second time from the rule's memory of grades
        assert rule(points, overrides, village_total) == (full.score, full.grade, full.grade_override,
                                                          full.override_until)
    score, _, grade, worst, until = score_and_grade(version, points, overrides, village_total)
    assert (score, grade, worst, until) == (full.score, full.grade, full.grade_override, full.override_until)
    assert rule.version_id == full.catalogue_version


@st.composite
def households(draw, as_of: date):
    members = []
    for i in range(draw(st.integers(0, 7))):
        entries = draw(ledgers(as_of))
        points, overrides = _as_the_database_sums(entries, as_of)
        born = as_of - timedelta(days=draw(st.integers(0, 95 * 366)))
        if draw(st.integers(0, 30)) == 0:
            born = date(draw(st.sampled_from([2000, 2004, 2008])), 2, 29)  # 18 on 1 March
        members.append(MemberInput(
            person_id=100 + i, birth_date=born, is_head=i == 0 and draw(st.integers(0, 9)) > 0,  # at most one head
            standing=standing_from_totals(CATALOGUES, as_of, points, overrides, draw(st.sampled_from([0, 0, 35]))),
            family_charge=draw(st.sampled_from([0, 0, 0, 0, -200, -300, -500])),
            serious_dishonesty=draw(st.integers(0, 25)) == 0))
    return members, draw(st.sampled_from([0, 0, 10, 30, -20, -75])), draw(st.sampled_from([0, 0, 50, -120]))


@settings(max_examples=500, deadline=None)
@given(st.data(), st.sampled_from(DAYS))
def test_household_rule_equals_rate_household(data, as_of):
    members, own_points, village_total = data.draw(households(as_of))
    full = rate_household(CATALOGUES, 7, members, own_points, as_of, village_total)
    rule = household_rule(CATALOGUES.version_on(as_of), as_of)
    lean = [HouseholdRule.lean_member(m) for m in members]
    rule.check(7, lean)
    for _ in range(2):  # the second time from the rule's memory of sentences
        assert rule.rate(lean, own_points, village_total) == (
            full.score, full.grade, full.is_credit_household, full.serious_dishonesty, full.explanation_zh)
    # and against the module docstring's rule, in Fractions (independent of the integer arithmetic)
    h = CATALOGUES.version_on(as_of).rating_rules().household
    adults = [m for m in members if full.explanation["members"][members.index(m)]["adult"]]
    counted = members if not adults or h.member_aggregate == "mean_all" else adults
    mean = (sum((h.scale(m.standing.score - m.family_charge) for m in counted), Fraction(0)) / len(counted)
            if counted else h.scale(CATALOGUES.version_on(as_of).scoring.base))
    exact = mean + sum(m.family_charge for m in members) + own_points + \
        CATALOGUES.version_on(as_of).scoring.village_counted(village_total)
    assert full.score == min(max(floor(exact + Fraction(1, 2)), 0), h.max_score)
    assert full.explanation["score_grade"] == h.grade_for(full.score)


def test_the_lean_checks_raise_what_rate_household_raises():
    as_of = DAYS[0]
    rule = household_rule(CATALOGUES.version_on(as_of), as_of)
    s = standing_from_totals(CATALOGUES, as_of, 0)
    twice = [MemberInput(1, date(1980, 1, 1), True, s, 0, False), MemberInput(1, date(1980, 1, 1), False, s, 0, False)]
    heads = [MemberInput(1, date(1980, 1, 1), True, s, 0, False), MemberInput(2, date(1981, 1, 1), True, s, 0, False)]
    unborn = [MemberInput(1, as_of + timedelta(days=1), True, s, 0, False)]
    for members in (twice, heads, unborn):
        errors = []
        for attempt in (lambda: rate_household(CATALOGUES, 9, members, 0, as_of),
                        lambda: rule.check(9, [HouseholdRule.lean_member(m) for m in members])):
            try:
                attempt()
            except Exception as e:  # noqa: BLE001 - compared below
                errors.append((type(e), e.code, e.message_zh, e.details))
        assert len(errors) == 2 and errors[0] == errors[1]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(DAYS), st.lists(st.tuples(st.sampled_from(["AAA", "AA", "A", "none"]), st.booleans(),
                                                 st.integers(0, 40)), max_size=60))
def test_village_from_counts_equals_rate_village(as_of, shapes):
    rated = [HouseholdRating(i, as_of, "x", 0, grade, credit, serious == 0, "", {})
             for i, (grade, credit, serious) in enumerate(shapes)]
    full = rate_village(CATALOGUES, 3, rated, as_of)
    counts: dict[str, int] = {}
    for r in rated:
        counts[r.grade] = counts.get(r.grade, 0) + 1
    lean = village_from_counts(CATALOGUES, 3, as_of, len(rated), sum(r.is_credit_household for r in rated),
                               sum(r.serious_dishonesty for r in rated), counts)
    assert (lean.households, lean.credit_households, lean.serious_dishonesty_households, lean.share_permille,
            lean.is_credit_village, lean.stars, lean.grade_counts, lean.explanation_zh, lean.catalogue_version) == \
        (full.households, full.credit_households, full.serious_dishonesty_households, full.share_permille,
         full.is_credit_village, full.stars, full.grade_counts, full.explanation_zh, full.catalogue_version)
    assert {k: v for k, v in full.explanation.items() if not k.startswith("household_") and
            not k.endswith("_household_ids")} == lean.explanation


def _points_zh_in_fractions(tenths: Fraction, signed: bool) -> str:
    """The formatting rule, as it was written before the integer version."""
    value = Fraction(tenths)
    if value.denominator == 1:
        return format_points(int(value), signed=signed)
    hundredths = value * 10
    approx = "" if hundredths.denominator == 1 else "约"
    q = floor(abs(hundredths) + Fraction(1, 2))
    text = f"{q // 100}.{q % 100:02d}".rstrip("0").rstrip(".")
    sign = "-" if value < 0 else ("+" if signed and value > 0 else "")
    return f"{approx}{sign}{text}"


@given(st.integers(-10**7, 10**7), st.integers(1, 5000), st.integers(1, 9), st.booleans())
def test_ratio_text_equals_the_fraction_text(numerator, denominator, factor, signed):
    expected = _points_zh_in_fractions(Fraction(numerator, denominator), signed)
    assert _ratio_zh(numerator * factor, denominator * factor, signed=signed) == expected  # not in lowest terms
    assert _points_zh(Fraction(numerator, denominator), signed=signed) == expected


def test_standing_rule_at_every_band_edge():
    """Scores one below, on and one above each band's start (random ledgers seldom land there)."""
    for as_of in DAYS:
        version = CATALOGUES.version_on(as_of)
        rule = StandingRule(version)
        edges = [b.min - version.scoring.base for b in version.scoring.grades if b.min is not None]
        for points in [e + d for e in edges for d in (-1, 0, 1)]:
            full = standing(CATALOGUES, [EntryView(1, points, as_of, as_of + timedelta(days=1), None)], as_of)
            assert rule(points) == (full.score, full.grade, None, None), (as_of, points)


def test_household_rule_at_every_band_edge():
    """Households whose score lands one below, on and one above each household band's start."""
    for as_of in DAYS:
        version = CATALOGUES.version_on(as_of)
        rule = household_rule(version, as_of)
        h = version.rating_rules().household
        member = MemberInput(1, date(1970, 5, 5), True, standing_from_totals(CATALOGUES, as_of, 0), 0, False)
        base = rule.rate([HouseholdRule.lean_member(member)], 0)[0]
        for band in (b for b in h.grades if b.min is not None):
            for d in (-1, 0, 1):
                own = band.min + d - base
                full = rate_household(CATALOGUES, 1, [member], own, as_of)
                assert (full.score, full.grade) == (band.min + d, h.grade_for(band.min + d))  # not via the rule
                assert rule.rate([HouseholdRule.lean_member(member)], own)[:3] == \
                    (full.score, full.grade, full.is_credit_household)
