"""The decision rules of credit commitments (pure): when kept or broken may be decided, every problem
at once; the ledger event's date; which commitment serves which subject; the shipped templates."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, strategies as st

from points_rules import commitments
from points_rules.commitments import DEFAULT_TEMPLATES, PURPOSES, check_date, decision_problems, event_date, serves

days = st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31))
terms = st.integers(min_value=1, max_value=commitments.MAX_TERM_MONTHS)
offsets = st.integers(min_value=-800, max_value=1200)
outcomes = st.sampled_from(commitments.OUTCOMES)


def test_kept_waits_for_the_check_date_and_broken_needs_evidence():
    signed, check = date(2026, 3, 1), date(2026, 8, 31)
    assert decision_problems("kept", today=date(2026, 8, 30), signed_on=signed, check_on=check,
                             evidence_count=0) == ["COMMITMENT_NOT_DUE"]
    assert decision_problems("kept", today=check, signed_on=signed, check_on=check, evidence_count=0) == []
    assert decision_problems("broken", today=date(2026, 4, 2), signed_on=signed, check_on=check,
                             evidence_count=0) == ["COMMITMENT_EVIDENCE_REQUIRED"]
    assert decision_problems("broken", today=date(2026, 4, 2), signed_on=signed, check_on=check,
                             evidence_count=1) == []
    assert decision_problems("broken", today=date(2026, 2, 1), signed_on=signed, check_on=check,
                             evidence_count=0) == ["COMMITMENT_NOT_SIGNED_YET", "COMMITMENT_EVIDENCE_REQUIRED"]
    assert decision_problems("withdrawn", today=check, signed_on=signed, check_on=check,
                             evidence_count=1) == ["COMMITMENT_OUTCOME_UNKNOWN"]


@given(days, terms, offsets, outcomes, st.integers(min_value=0, max_value=9))
def test_a_decision_is_allowed_exactly_when_its_conditions_hold(signed, term, offset, outcome, evidence):
    check = check_date(signed, term)
    today = signed + timedelta(days=offset)
    allowed = not decision_problems(outcome, today=today, signed_on=signed, check_on=check, evidence_count=evidence)
    if outcome == "kept":
        assert allowed == (today >= check)  # evidence optional for kept
    else:
        assert allowed == (today >= signed and evidence >= 1)  # as soon as found broken


@given(days, terms, st.integers(min_value=0, max_value=800), outcomes)
def test_the_event_date_is_never_after_the_decision(signed, term, late, outcome):
    check = check_date(signed, term)
    decided = (check if outcome == "kept" else signed) + timedelta(days=late)
    on = event_date(outcome, decided_on=decided, check_on=check)
    assert signed <= on <= decided
    assert on == (check if outcome == "kept" else decided)


@given(st.sampled_from(PURPOSES), st.sampled_from(("person", "household", "organisation")),
       st.integers(min_value=1, max_value=50), st.sampled_from(("signed", "kept", "broken")),
       st.sampled_from(PURPOSES), st.sampled_from(("person", "household", "organisation")),
       st.integers(min_value=1, max_value=50))
def test_a_commitment_serves_only_its_own_subject_and_purpose_unless_broken(purpose, kind, subject, status,
                                                                           asked_purpose, asked_kind, asked_subject):
    row = {"purpose": purpose, "subject_kind": kind, "subject_id": subject, "status": status}
    expected = (purpose, kind, subject) == (asked_purpose, asked_kind, asked_subject) and status != "broken"
    assert serves(row, subject_kind=asked_kind, subject_id=asked_subject, purpose=asked_purpose) is expected


def test_a_household_commitment_does_not_serve_its_head():
    row = {"purpose": "repair", "subject_kind": "household", "subject_id": 7, "status": "signed"}
    assert not serves(row, subject_kind="person", subject_id=7, purpose="repair")


def test_shipped_templates_cover_every_purpose_within_the_term_limit():
    assert set(DEFAULT_TEMPLATES) == set(PURPOSES) == set(commitments.PURPOSE_NAMES_ZH)
    for template in DEFAULT_TEMPLATES.values():
        assert 1 <= template["term_months"] <= commitments.MAX_TERM_MONTHS
        assert 2 <= len(template["title"]) <= 100 and 10 <= len(template["text"]) <= 4000
        assert "违诺" in template["text"] or "不实" in template["text"]
