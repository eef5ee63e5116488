"""The list a measure makes of candidate households (points_rules.eligibility.eligibility_list), and
the Excel layout of a list (backend.measures.export) — no database.

Expectations come from the rules (numbered 1…n, order fixed by township/village/household, only the
households the measure applies to, art. 42), not from the module's own helpers.
"""

from __future__ import annotations

import io
import re
from datetime import date
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from backend.measures import export
from points_rules.eligibility import (
    FINANCIAL,
    INCENTIVE,
    SUBSIDY,
    Candidate,
    Condition,
    Measure,
    eligibility_list,
    facts_on,
)
from tests.unit.points_rules.test_eligibility import GRADES, days, measures, ratings, serious_entries

SETTINGS = settings(max_examples=200, deadline=None)


@st.composite
def candidates(draw, day: date):
    out = []
    ids = draw(st.lists(st.integers(1, 10_000), max_size=12, unique=True))
    for household_id in ids:
        key = (draw(st.sampled_from(["t1", "t2"])), draw(st.sampled_from(["v1", "v2", "v3"])),
               draw(st.sampled_from(["1", "01", "2"])))  # ties are common
        facts = facts_on(day, draw(ratings()), draw(ratings("village")), draw(ratings("township")),
                         draw(serious_entries()))
        out.append(Candidate(household_id, key, facts))
    return out


@st.composite
def cases(draw, **measure_kw):
    day = draw(days)
    return day, draw(measures(**measure_kw)), draw(candidates(day))


def _applies(measure, facts) -> bool:
    """Independent reading of the rules for the cases drawn here (ratings and serious entries)."""
    day = facts.as_of
    if not (measure.valid_from <= day and (measure.valid_to is None or day <= measure.valid_to)):
        return False
    if measure.kind == INCENTIVE and measure.category in (SUBSIDY, FINANCIAL) and facts.serious_dishonesty:
        return False
    for c in measure.conditions:
        if c.kind == "household_grade_at_least":
            if facts.rating is None or GRADES.index(facts.rating.grade) > GRADES.index(c.grades[0]):
                return False
        elif c.kind == "household_grade_in":
            if facts.rating is None or facts.rating.grade not in c.grades:
                return False
        elif c.kind in ("village_is_credit", "township_is_credit"):
            r = facts.village if c.kind == "village_is_credit" else facts.township
            if r is None or not r.is_credit:
                return False
        elif not facts.serious_dishonesty:
            return False
    return True


@SETTINGS
@given(case=cases(), seed=st.randoms(use_true_random=False))
def test_the_list_is_exactly_the_households_the_measure_applies_to_numbered_in_a_fixed_order(case, seed):
    day, measure, pool = case
    listed = eligibility_list(measure, pool, GRADES)
    expected = sorted((c for c in pool if _applies(measure, c.facts)), key=lambda c: (c.sort_key, c.household_id))
    assert [item.candidate for item in listed] == expected
    assert [item.seq for item in listed] == list(range(1, len(expected) + 1))
    assert all(item.decision.applies and item.decision.measure_id == measure.id for item in listed)
    shuffled = list(pool)
    seed.shuffle(shuffled)
    assert eligibility_list(measure, shuffled, GRADES) == listed  # the set decides, not the order


@SETTINGS
@given(case=cases(kind=INCENTIVE), category=st.sampled_from([SUBSIDY, FINANCIAL]))
def test_no_household_with_serious_dishonesty_is_on_a_subsidy_or_financial_incentive_list(case, category):
    day, measure, pool = case
    from dataclasses import replace

    measure = replace(measure, category=category)
    assert not [item for item in eligibility_list(measure, pool, GRADES) if item.candidate.facts.serious_dishonesty]


def test_a_household_is_a_candidate_once():
    facts = facts_on(date(2026, 8, 1), [], [], [], [])
    with pytest.raises(ValueError):
        eligibility_list(Measure(1, INCENTIVE, SUBSIDY, "措施", (Condition("household_grade_at_least", ("A",)),),
                                 date(2026, 1, 1), None),
                         [Candidate(1, ("a",), facts), Candidate(1, ("b",), facts)], GRADES)


# --- the workbook ---------------------------------------------------------------------------------------

ENTRY = dict(seq=1, township_name="甲镇", village_name="乙村", household_code="000123", head_name_masked="张*",
             head_id_masked="620702********0012", grade="AAA", period_code="2026H1", period_name_zh="2026年上半年信用评定",
             publicity_starts_on=date(2026, 7, 10), publicity_ends_on=date(2026, 7, 17))
MEASURE = dict(name_zh="农业补贴优先", office_zh="区农业农村局", legal_basis="条例第三十九条", code="AGRI", version=2)
LISTING = dict(id=7, as_of=date(2026, 8, 1), catalogue_version="2026.2")


@settings(max_examples=50, deadline=None)
@given(codes=st.lists(st.text("0123456789", min_size=1, max_size=18), min_size=1, max_size=20))
def test_every_cell_of_the_workbook_is_text_so_excel_keeps_codes_as_written(codes):
    entries = [{**ENTRY, "seq": i + 1, "household_code": code} for i, code in enumerate(codes)]
    ws = load_workbook(io.BytesIO(export.build_workbook(MEASURE, LISTING, entries))).active
    body = list(ws.iter_rows(min_row=export.HEADER_ROW + 1, values_only=False))
    assert [row[3].value for row in body] == codes
    assert [row[0].value for row in body] == [str(i + 1) for i in range(len(codes))]
    assert all(cell.data_type == "s" and cell.number_format == "@" for row in body for cell in row)
    assert ws.freeze_panes == "A5"


def test_workbook_layout_and_file_name():
    ws = load_workbook(io.BytesIO(export.build_workbook(MEASURE, LISTING, [ENTRY, {**ENTRY, "seq": 2,
                                                                                   "grade": "none"}]))).active
    assert ws["A1"].value == "农业补贴优先适用名单（2026年08月01日）" and "A1:I1" in [str(r) for r in ws.merged_cells.ranges]
    assert ws["A2"].value == "实施单位：区农业农村局"
    assert [c.value for c in ws[4]] == export.HEADER
    assert [c.value for c in ws[5]] == ["1", "甲镇", "乙村", "000123", "张*", "620702********0012", "AAA",
                                        "2026年上半年信用评定", "2026-07-10至2026-07-17"]
    assert ws["G6"].value == "非信用户"
    text = " ".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    assert not re.search(r"\d{17}[\dX]", text)
    header = export.content_disposition(export.file_name(MEASURE, LISTING), 7)
    assert header.startswith('attachment; filename="eligibility-list-7.xlsx"; filename*=UTF-8\'\'')
    assert unquote(header.split("''", 1)[1]) == "农业补贴优先名单_2026-08-01.xlsx"
    assert header.isascii()


def test_worked_case_ties_are_broken_by_household_id_and_serious_dishonesty_is_left_out():
    from points_rules.eligibility import RatingFact, SeriousEntry

    day = date(2026, 8, 1)
    rated = [RatingFact(1, "2026H1", "2026年上半年", date(2026, 6, 30), date(2026, 7, 20), "AA", True)]
    serious = [SeriousEntry(1, date(2026, 5, 1), date(2031, 5, 1), recorded_on=date(2026, 5, 3))]
    measure = Measure(1, INCENTIVE, SUBSIDY, "农业补贴优先", (Condition("household_grade_at_least", ("A",)),),
                      date(2026, 1, 1), None)
    pool = [Candidate(5, ("t1", "v1", "01"), facts_on(day, rated, [], [], [])),
            Candidate(3, ("t1", "v1", "01"), facts_on(day, rated, [], [], [])),
            Candidate(9, ("t0", "v9", "99"), facts_on(day, rated, [], [], [])),
            Candidate(4, ("t0", "v1", "00"), facts_on(day, rated, [], [], serious))]
    listed = eligibility_list(measure, pool, GRADES)
    assert [(i.seq, i.candidate.household_id) for i in listed] == [(1, 9), (2, 3), (3, 5)]
    assert eligibility_list(measure, pool[::-1], GRADES) == listed
