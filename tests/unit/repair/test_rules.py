"""Credit repair's pure rules, read from the catalogue: display periods per severity, every missing
document told at once, the replacement of a direct downgrade as the item says, and the decision
deadline on the official calendar."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, strategies as st

from points_rules import repair
from points_rules.loader import load_catalogue_dir
from points_rules.model import RepairRules
from points_rules.workdays import WorkCalendar

CATALOGUE = load_catalogue_dir()
VERSION = CATALOGUE.versions[-1]
RULES = VERSION.scoring.repair
ITEMS = {item.code: item for item in VERSION.items}
DEFAULTER = ITEMS["JUDGMENT-DEFAULTER"]
WAGE_LIST = ITEMS["WAGE-ARREARS-LISTED"]
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31))
negatives = st.sampled_from([i for i in VERSION.items if i.direction == "negative"])


def _documents(route: str) -> dict:
    return {name: [1] for name in repair.ROUTE_DOCUMENTS[route]}


@pytest.mark.parametrize("version", CATALOGUE.versions, ids=lambda v: v.version)
def test_every_version_replaces_a_court_defaulter_by_the_kept_deduction(version):
    items = {i.code: i for i in version.items}
    defaulter = items["JUDGMENT-DEFAULTER"]
    assert repair.severity(defaulter) == "serious"
    for route in ("rectification", "commitment", "source_removal"):
        code = repair.replacement_code(defaulter, route)
        assert code == "JUDGMENT-PERFORMED"
        kept = items[code]
        assert kept.points.points == -500 and kept.validity_years == 2 and kept.direction == "negative"
    corrected = items[repair.replacement_code(items["WAGE-ARREARS-LISTED"], "commitment")]
    assert corrected.code == "DOWNGRADE-CORRECTED" and corrected.points.points == -600
    assert version.scoring.repair.display_months == {"minor": 0, "general": 3, "serious": 12}


def test_the_wage_arrears_list_is_repaired_only_with_a_commitment():
    assert repair.applicant_routes(WAGE_LIST) == ("commitment",)
    refused = repair.refusals(item=WAGE_LIST, rules=RULES, occurred_on=date(2024, 1, 1), today=date(2026, 1, 1),
                              route="training", documents=_documents("training"))
    assert [(r.code, r.field) for r in refused] == [("repair_route_not_allowed", "route")]


def test_serious_display_lasts_a_year():
    assert repair.display_ends_on(RULES, DEFAULTER, date(2026, 3, 1)) == date(2027, 3, 1)
    refused = repair.refusals(item=DEFAULTER, rules=RULES, occurred_on=date(2026, 3, 1), today=date(2027, 2, 28),
                              route="commitment", documents={"commitment_id": 1, "correction_photo_ids": [1]})
    assert [r.code for r in refused] == ["repair_display_not_over"]


def test_the_catalogue_sets_the_display_period():
    longer = RepairRules(display_months={"minor": 1, "general": 6, "serious": 24}, decision_working_days=5)
    assert repair.display_ends_on(longer, DEFAULTER, date(2026, 3, 1)) == date(2028, 3, 1)
    assert repair.decide_by(WorkCalendar(), longer, date(2026, 9, 30)) == date(2026, 10, 13)


def test_missing_documents_are_all_told_at_once_with_every_other_reason():
    refused = repair.refusals(item=DEFAULTER, rules=RULES, occurred_on=date(2026, 6, 1), today=date(2026, 7, 1),
                              route="commitment", documents={"correction_photo_ids": []}, expired=True)
    assert [(r.code, r.field) for r in refused] == [
        ("repair_entry_expired", None), ("repair_display_not_over", None),
        ("repair_document_missing", "commitment_id"), ("repair_document_missing", "correction_photo_ids")]


@given(negatives, days, st.data())
def test_complete_documents_after_the_display_period_are_accepted(item, occurred_on, data):
    route = data.draw(st.sampled_from(repair.applicant_routes(item)))
    today = repair.display_ends_on(RULES, item, occurred_on)
    assert today >= occurred_on
    assert repair.refusals(item=item, rules=RULES, occurred_on=occurred_on, today=today, route=route,
                           documents=_documents(route)) == []
    assert repair.refusals(item=item, rules=RULES, occurred_on=occurred_on, today=today, route=route,
                           documents=_documents(route), ended=True) == [repair.Refusal("repair_already_ended")]


@given(st.sampled_from(repair.ROUTES),
       st.sets(st.sampled_from(sorted({d for ds in repair.ROUTE_DOCUMENTS.values() for d in ds}))))
def test_missing_is_exactly_the_needed_minus_the_given(route, given_names):
    documents = {name: [7] for name in given_names}
    missing = repair.missing_documents(route, documents)
    assert set(missing) == set(repair.ROUTE_DOCUMENTS[route]) - given_names
    assert len(missing) == len(set(missing))
    assert all(name in repair.DOCUMENT_NAMES_ZH for name in missing)


@given(negatives, days)
def test_a_more_serious_item_never_waits_less(item, occurred_on):
    order = {"minor": 0, "general": 1, "serious": 2}
    for other in ("minor", "general", "serious"):
        harsher = replace(item, severity=other)
        if order[other] >= order[repair.severity(item)]:
            assert repair.display_ends_on(RULES, harsher, occurred_on) >= repair.display_ends_on(RULES, item, occurred_on)


def test_minor_needs_no_wait():
    minor = [i for i in VERSION.items if i.direction == "negative" and repair.severity(i) == "minor"]
    assert minor, "the shipped catalogue has minor deductions (ENV-DUMPING −2)"
    for item in minor:
        assert repair.display_ends_on(RULES, item, date(2026, 5, 5)) == date(2026, 5, 5)


def test_an_item_without_replacement_just_stops_counting():
    assert repair.replacement_code(ITEMS["ENV-DUMPING"], "commitment") is None


def test_positive_entries_are_not_repaired():
    positive = next(i for i in VERSION.items if i.direction == "positive")
    codes = [r.code for r in repair.refusals(item=positive, rules=RULES, occurred_on=date(2024, 1, 1),
                                             today=date(2026, 1, 1), route="training",
                                             documents=_documents("training"))]
    assert codes == ["repair_not_negative"]


def test_decision_deadline_skips_national_day_2026():
    # complete on 30 September: 8, 9, 10 (adjusted Saturday), 12, 13, 14, 15 October
    assert repair.decide_by(WorkCalendar(), RULES, date(2026, 9, 30)) == date(2026, 10, 15)


def test_the_catalogue_check_names_each_broken_repair_rule_at_its_line(tmp_path):
    from points_rules import check_catalogue_dir
    from tests.unit.points_rules.catalogue_copies import copy_catalogue, edit

    d = copy_catalogue(tmp_path)
    v2 = d / "2026-07-01.yaml"
    months = edit(v2, "{minor: 0, general: 3, serious: 12}", "{minor: 0, general: 13, serious: 12}")
    positive = edit(v2, "    points: 2\n", "    points: 2\n    severity: serious\n") + 1
    replaced = edit(v2, "replaced_by: JUDGMENT-PERFORMED", "replaced_by: VOL-HOURS")
    route = edit(v2, "routes: [commitment, source_removal]", "routes: [commitment, prayer]")
    found = {(p.line, p.path, p.message_zh) for p in check_catalogue_dir(d)}
    lines = {(line, path) for line, path, _ in found}
    assert (replaced, "items[11].repair.replaced_by") in lines, sorted(found)
    assert any(line == route and path.startswith("items[13].repair.routes") for line, path in lines), sorted(found)
    assert (months, "scoring.repair.display_months") in lines, sorted(found)
    assert any(line == positive and path.endswith(".severity") for line, path in lines), sorted(found)
    assert all(message for _, _, message in found)


@given(st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31)))
def test_the_warning_comes_two_working_days_before_the_deadline(applied_on):
    calendar = WorkCalendar()
    warn, due = repair.warn_on(calendar, RULES, applied_on), repair.decide_by(calendar, RULES, applied_on)
    assert applied_on < warn < due
    assert calendar.add_working_days(warn, repair.WARN_WORKING_DAYS_BEFORE) == due
