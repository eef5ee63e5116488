"""Credit commitments' pure rules: the check date, the township's due list state, the catalogue item
a decision records (both exist in every catalogue version), template text versions."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, strategies as st

from points_rules import commitments
from points_rules.loader import load_catalogue_dir

days = st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31))
terms = st.integers(min_value=1, max_value=commitments.MAX_TERM_MONTHS)


def test_outcomes_name_catalogue_items_of_the_right_sign():
    for version in load_catalogue_dir().versions:
        items = {i.code: i for i in version.items}
        assert items[commitments.item_for("kept")].direction == "positive"
        assert items[commitments.item_for("broken")].direction == "negative"


def test_six_month_term():
    assert commitments.check_date(date(2026, 1, 31), 6) == date(2026, 7, 30)


@given(days, terms)
def test_check_date_after_signing_and_within_the_term(signed, term):
    check = commitments.check_date(signed, term)
    assert signed <= check
    assert (check - signed).days <= 31 * term


@given(days, terms, days)
def test_due_from_the_check_date_until_decided(signed, term, today):
    check = commitments.check_date(signed, term)
    state = commitments.check_state(today, decided=False, check_on=check)
    assert state == ("due" if today >= check else "running")
    assert commitments.check_state(today, decided=True, check_on=check) == "decided"


@pytest.mark.parametrize("term", [0, commitments.MAX_TERM_MONTHS + 1])
def test_term_out_of_range_refused(term):
    with pytest.raises(ValueError):
        commitments.check_date(date(2026, 1, 1), term)


def test_text_versions_differ_by_text():
    a = commitments.text_sha256("本人承诺守信。")
    assert a == commitments.text_sha256("本人承诺守信。") and a != commitments.text_sha256("本人承诺守信")
    assert len(a) == 64
