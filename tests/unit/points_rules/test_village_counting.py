"""村规民约积分计入县级积分 — only where the county's catalogue version in force says so, and never by
more than its cap: the per-entry and totals paths agree, a version without the rule ignores village
points whatever they are, the household rating adds its own village points the same way, and the rule
is checked with its line and shown in the diff."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from points_rules import EntryView, check_catalogue_dir, load_catalogue_dir, standing
from points_rules.diff import diff_versions
from points_rules.model import CatalogueSet, VillagePointsRule
from points_rules.ratings import MemberInput, rate_household
from points_rules.totals import standing_from_totals

from .catalogue_copies import copy_catalogue, edit

SHIPPED = load_catalogue_dir()
AS_OF = date(2026, 9, 1)
CAP = 200  # tenths: ±20 points


def _counting(cap: int = CAP) -> CatalogueSet:
    latest = SHIPPED.version_on(AS_OF)
    counting = replace(latest, scoring=replace(latest.scoring, village_points=VillagePointsRule(cap=cap)))
    return CatalogueSet(tuple(v for v in SHIPPED.versions if v.version != latest.version) + (counting,))


COUNTING = _counting()

entries = st.lists(
    st.builds(
        lambda i, points, start, length, counts: EntryView(
            entry_id=i, points=points, valid_from=AS_OF - timedelta(days=start),
            valid_until=AS_OF - timedelta(days=start) + timedelta(days=length), grade_override=None, counts=counts),
        st.integers(1, 10_000), st.integers(-600, 600), st.integers(0, 800), st.integers(1, 1500), st.booleans()),
    max_size=20, unique_by=lambda e: e.entry_id)
village_totals = st.integers(-2000, 2000)


@settings(max_examples=200)
@given(entries, village_totals)
def test_without_the_rule_village_points_never_move_the_score(views, village):
    with_village, without = standing(SHIPPED, views, AS_OF, village), standing(SHIPPED, views, AS_OF)
    assert (with_village.score, with_village.grade) == (without.score, without.grade)
    assert "村规民约" not in with_village.explanation_zh


@settings(max_examples=200)
@given(entries, village_totals)
def test_with_the_rule_they_count_up_to_the_cap_and_both_paths_agree(views, village):
    plain = standing(COUNTING, views, AS_OF)
    full = standing(COUNTING, views, AS_OF, village)
    assert full.score - plain.score == max(-CAP, min(CAP, village))
    live = [v for v in views if v.counts and v.valid_from <= AS_OF < v.valid_until]
    totals = standing_from_totals(COUNTING, AS_OF, sum(v.points for v in live), (), village)
    assert (totals.score, totals.grade) == (full.score, full.grade)
    if village:
        assert "村规民约积分" in full.explanation_zh
        assert ("上限" in full.explanation_zh) == (abs(village) > CAP)


def test_the_rule_applies_from_its_version_date_only():
    earlier = COUNTING.version_on(AS_OF).effective_from - timedelta(days=1)
    assert standing(COUNTING, [], earlier, 150).score == standing(COUNTING, [], earlier).score
    assert standing(COUNTING, [], AS_OF, 150).score == standing(COUNTING, [], AS_OF).score + 150


def test_a_village_deduction_can_lower_the_grade_but_no_further_than_the_cap():
    deduction = [EntryView(1, -400, AS_OF - timedelta(days=10), AS_OF + timedelta(days=300), None)]
    base = standing(COUNTING, deduction, AS_OF)  # 1000 − 40 = 960: the bottom of A
    lowered = standing(COUNTING, deduction, AS_OF, -10_000)
    assert (base.grade, lowered.score, lowered.grade) == ("A", base.score - CAP, "B")


def test_the_household_adds_its_own_village_points_as_far_as_they_count():
    member = MemberInput(1, date(1980, 1, 1), True, standing(COUNTING, [], AS_OF), 0, False)
    plain = rate_household(COUNTING, 7, [member], 0, AS_OF)
    counted = rate_household(COUNTING, 7, [member], 0, AS_OF, village_total=30)
    assert counted.score == plain.score + 30 and counted.explanation["village_points_counted"] == 30
    assert "村规民约积分" in counted.explanation_zh
    capped = rate_household(_counting(cap=10), 7, [member], 0, AS_OF, village_total=30)
    assert capped.explanation["village_points_counted"] == 10
    ignored = rate_household(SHIPPED, 7, [member], 0, AS_OF, village_total=30)
    assert ignored.score == rate_household(SHIPPED, 7, [member], 0, AS_OF).score


def test_the_rule_is_checked_with_its_line_and_shown_in_the_diff(tmp_path: Path):
    d = copy_catalogue(tmp_path)
    path = d / "2026-07-01.yaml"
    anchor = "    decision_working_days: 7"
    text = path.read_text(encoding="utf-8")
    line = text[:text.index(anchor)].count("\n") + 2
    edit(path, anchor, anchor + "\n  village_points: {counts_toward_grade: true, cap: 0}")
    problems = check_catalogue_dir(d)
    assert [(p.line, p.path) for p in problems] == [(line, "scoring.village_points.cap")], [str(p) for p in problems]
    assert "计入上限" in problems[0].message_zh
    edit(path, "cap: 0}", "cap: 20}")
    loaded = load_catalogue_dir(d)
    new = loaded.version_on(AS_OF)
    assert new.scoring.village_points == VillagePointsRule(cap=200)
    lines = [c for c in diff_versions(SHIPPED.version_on(AS_OF), new) if c.field == "village_points"]
    assert len(lines) == 1 and "不计入" in lines[0].text_zh and "上限±20" in lines[0].text_zh, lines
    edit(path, "counts_toward_grade: true", "counts_toward_grade: false")
    assert load_catalogue_dir(d).version_on(AS_OF).scoring.village_points is None
