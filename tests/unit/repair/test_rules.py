"""Credit repair's pure rules: display periods per severity, every missing document told at once,
the replacement of a court-defaulter downgrade from the catalogue, and the decision deadline on the
official calendar."""

from __future__ import annotations

from datetime import date

from hypothesis import given, strategies as st

from points_rules import repair
from points_rules.loader import load_catalogue_dir
from points_rules.workdays import WorkCalendar

CATALOGUE = load_catalogue_dir()
VERSION = CATALOGUE.versions[-1]
ITEMS = {item.code: item for item in VERSION.items}
DEFAULTER = ITEMS["JUDGMENT-DEFAULTER"]
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31))
negatives = st.sampled_from([i for i in VERSION.items if i.direction == "negative"])
routes = st.sampled_from(repair.ROUTES)


def test_court_defaulter_is_serious_and_replaced_by_the_catalogues_kept_deduction():
    assert repair.severity(DEFAULTER) == "serious"
    code = repair.replacement_code("JUDGMENT-DEFAULTER", "rectification")
    assert code == "JUDGMENT-PERFORMED"
    kept = ITEMS[code]
    assert kept.points.points == -500 and kept.validity_years == 2 and kept.direction == "negative"


def test_serious_display_lasts_a_year():
    assert repair.display_ends_on(DEFAULTER, date(2026, 3, 1)) == date(2027, 3, 1)
    refused = repair.refusals(item=DEFAULTER, occurred_on=date(2026, 3, 1), today=date(2027, 2, 28),
                              route="commitment", documents={"commitment_id": 1, "correction_photo_ids": [1]})
    assert [r.code for r in refused] == ["repair_display_not_over"]


def test_missing_documents_are_all_told_at_once():
    refused = repair.refusals(item=DEFAULTER, occurred_on=date(2024, 1, 1), today=date(2026, 1, 1),
                              route="commitment", documents={"correction_photo_ids": []})
    assert [(r.code, r.field) for r in refused] == [
        ("repair_document_missing", "commitment_id"), ("repair_document_missing", "correction_photo_ids")]


@given(negatives, days, routes)
def test_complete_documents_after_the_display_period_are_accepted(item, occurred_on, route):
    documents = {name: [1] for name in repair.ROUTE_DOCUMENTS[route]}
    today = repair.display_ends_on(item, occurred_on)
    assert today >= occurred_on
    assert repair.refusals(item=item, occurred_on=occurred_on, today=today, route=route,
                           documents=documents) == []


@given(negatives, routes, st.sets(st.sampled_from(sorted({d for ds in repair.ROUTE_DOCUMENTS.values() for d in ds}))))
def test_missing_is_exactly_the_needed_minus_the_given(item, route, given_names):
    documents = {name: [7] for name in given_names}
    missing = repair.missing_documents(route, documents)
    assert set(missing) == set(repair.ROUTE_DOCUMENTS[route]) - given_names
    assert len(missing) == len(set(missing))


@given(negatives)
def test_severity_orders_the_display_period(item):
    assert repair.severity(item) in repair.DISPLAY_MONTHS


def test_minor_needs_no_wait():
    minor = [i for i in VERSION.items if i.direction == "negative" and repair.severity(i) == "minor"]
    for item in minor:
        assert repair.display_ends_on(item, date(2026, 5, 5)) == date(2026, 5, 5)


def test_positive_entries_are_not_repaired():
    positive = next(i for i in VERSION.items if i.direction == "positive")
    codes = [r.code for r in repair.refusals(item=positive, occurred_on=date(2024, 1, 1), today=date(2026, 1, 1),
                                             route="training", documents={"training_certificate_photo_ids": [1],
                                                                          "correction_photo_ids": [1]})]
    assert codes == ["repair_not_negative"]


def test_decision_deadline_skips_national_day_2026():
    # applied 30 September: 8, 9, 10 (adjusted Saturday), 12, 13, 14, 15 October
    assert repair.decide_by(WorkCalendar(), date(2026, 9, 30)) == date(2026, 10, 15)
