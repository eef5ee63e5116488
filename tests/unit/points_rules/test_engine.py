"""The engine against the shipped catalogue, with every number worked out by hand in the comments.

Points are tenths: +5 points is ``50``; a score of 1000 is ``10000``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from points_rules import EntryView, Event, RuleError, grade_for, load_catalogue_dir, score_event, standing

from .ledger_model import Ledger

CAT = load_catalogue_dir()
V1, V2 = CAT.version("2026.1"), CAT.version("2026.2")


def at(ledger: Ledger, d: date):
    return standing(CAT, ledger.views(), d)


# --- the hand-computed scenario -------------------------------------------------------------------


def test_scenario_volunteer_wage_arrears_county_honour():
    """A villager with 120 volunteer hours over two years, one 4-month wage arrears, one county honour."""
    led = Ledger(CAT)
    # 1. 2026-02-10 volunteer 15 h: cumulative 0 → 15 h reaches the 10 h tier (+2); earned before 0 → +2.
    #    Valid 1 year: 2026-02-10 ≤ d < 2027-02-10.
    r1 = led.record("VOL-HOURS", date(2026, 2, 10), date(2026, 2, 12), quantity=15)
    # 2. 2026-05-20 volunteer 40 h: 15 → 55 h reaches the 50 h tier (+10); +10 − 2 = +8. Until 2027-05-20.
    r2 = led.record("VOL-HOURS", date(2026, 5, 20), date(2026, 5, 21), quantity=40)
    # 3. 2026-06-15 wage arrears of 4 months: level "2 to 6 months" = −30; |−30| ≤ 40 → 1 year, until 2027-06-15.
    r3 = led.record("WAGE-ARREARS", date(2026, 6, 15), date(2026, 6, 20), level="months_2_to_6")
    # 4. 2026-09-01 county honour (catalogue 2026.2 by then, unchanged): +5, county → 1 year, until 2027-09-01.
    r4 = led.record("HONOUR", date(2026, 9, 1), date(2026, 9, 3), level="county")
    # 5. 2027-03-10 volunteer 40 h. Hours count while their entries are in force: entry 1 (15 h) lapsed
    #    on 2027-02-10, so the in-force hours go 40 → 80 h, the 80 h tier (+15); in force from the item
    #    now: +8 (entry 2) → +15 − 8 = +7. Until 2028-03-10.
    r5 = led.record("VOL-HOURS", date(2027, 3, 10), date(2027, 3, 10), quantity=40)
    # 6. 2027-11-05 volunteer 25 h: entry 2 lapsed 2027-05-20; in force 40 h (entry 5) → 65 h, the 50 h
    #    tier (+10); +7 in force → +10 − 7 = +3. Until 2028-11-05.
    r6 = led.record("VOL-HOURS", date(2027, 11, 5), date(2027, 11, 6), quantity=25)

    assert [r.entries[0].points for r in (r1, r2, r3, r4, r5, r6)] == [20, 80, -300, 50, 70, 30]
    assert [r.entries[0].catalogue_version for r in (r1, r2, r3, r4, r5, r6)] == [
        "2026.1", "2026.1", "2026.1", "2026.2", "2026.2", "2026.2"]
    assert [r.entries[0].valid_until for r in (r1, r2, r3, r4, r5, r6)] == [
        date(2027, 2, 10), date(2027, 5, 20), date(2027, 6, 15), date(2027, 9, 1), date(2028, 3, 10), date(2028, 11, 5)]
    assert sum(e.quantity for e in led.entries if e.quantity is not None) == 120
    assert not any(r.late for r in (r1, r2, r3, r4, r5, r6))
    assert "累计由15小时增至55小时" in r2.entries[0].explanation_zh
    assert "2027年6月14日" in r3.entries[0].explanation_zh  # last day it counts, as a villager reads it

    expected = [
        # date,            score, grade, version   — arithmetic (points)
        (date(2026, 1, 15), 10000, "A", "2026.1"),  # nothing yet: 1000
        (date(2026, 3, 1), 10020, "A", "2026.1"),   # 1000 + 2
        (date(2026, 6, 30), 9800, "A", "2026.1"),   # 1000 + 2 + 8 − 30 = 980
        (date(2026, 10, 1), 9850, "A", "2026.2"),   # 980 + 5 = 985
        (date(2027, 2, 9), 9850, "A", "2026.2"),    # last day of entry 1: still 985
        (date(2027, 2, 10), 9830, "A", "2026.2"),   # entry 1 (+2) expired: 8 − 30 + 5 = −17 → 983
        (date(2027, 4, 1), 9900, "A", "2026.2"),    # + entry 5 (+7): 8 − 30 + 5 + 7 = −10 → 990
        (date(2027, 6, 15), 10120, "A", "2026.2"),  # entries 2 (+8) and 3 (−30) expired: 5 + 7 = +12 → 1012
        (date(2027, 12, 1), 10100, "A", "2026.2"),  # honour expired 09-01; entries 5, 6: 7 + 3 → 1010
        (date(2028, 6, 1), 10030, "A", "2026.2"),   # entry 5 expired 03-10: +3 → 1003
        (date(2028, 11, 5), 10000, "A", "2026.2"),  # all expired: 1000
    ]
    for d, score, grade, version in expected:
        s = at(led, d)
        assert (s.score, s.grade, s.catalogue_version) == (score, grade, version), d
        assert s.base == 10000

    s = at(led, date(2026, 6, 30))
    assert s.in_force_entry_ids == [1, 2, 3]
    assert (s.next_expiry, s.next_expiry_points) == (date(2027, 2, 10), 20)
    assert "总分980分" in s.explanation_zh and "2027年2月10日起将有+2分到期" in s.explanation_zh
    s = at(led, date(2027, 4, 1))
    assert (s.next_expiry, s.next_expiry_points) == (date(2027, 5, 20), 80)
    assert at(led, date(2028, 11, 5)).next_expiry is None


def test_grades_move_with_the_score():
    led = Ledger(CAT)
    # −30 (wage arrears), then the same offence within its year: −30 × 2 = −60 → 1000 − 90 = 910 → B.
    led.record("WAGE-ARREARS", date(2026, 2, 1), level="months_2_to_6")
    led.record("WAGE-ARREARS", date(2026, 3, 1), level="months_2_to_6")
    assert (at(led, date(2026, 3, 1)).score, at(led, date(2026, 3, 1)).grade) == (9100, "B")
    # National honour +30 → 940, still B; provincial +20 → 960 → A.
    led.record("HONOUR", date(2026, 4, 1), level="national")
    assert at(led, date(2026, 4, 1)).grade == "B"
    led.record("HONOUR", date(2026, 4, 2), level="provincial")
    assert (at(led, date(2026, 4, 2)).score, at(led, date(2026, 4, 2)).grade) == (9600, "A")
    # 2027-02-01 the first −30 lapses: 910 + 30 + 20 + 30 = 990 (A). The doubled −60 keeps the validity
    # of the offence (−30 ≤ 40 → 1 year), so it lapses 2027-03-01 too: 1000 + 30 + 20 = 1050 → AAA.
    assert at(led, date(2027, 2, 1)).score == 9900
    assert (at(led, date(2027, 3, 1)).score, at(led, date(2027, 3, 1)).grade) == (10500, "AAA")
    # Provincial honour lasts 3 years (until 2029-04-02), national 5 (until 2031-04-01):
    # 2029-04-02 → 1000 + 30 = 1030 → AA.
    assert (at(led, date(2029, 4, 2)).score, at(led, date(2029, 4, 2)).grade) == (10300, "AA")


def test_grade_thresholds_with_tenths():
    assert [grade_for(V1, s) for s in (10500, 10499, 10300, 10299, 9600, 9599, 8500, 8499, 6000, 5999, -500)] == [
        "AAA", "AA", "AA", "A", "A", "B", "B", "C", "C", "D", "D"]


# --- versions, late flag -------------------------------------------------------------------------------


def test_version_is_chosen_by_event_date_not_record_date():
    led = Ledger(CAT)
    # The day before 2026.2: clean-up "took part" is +1 under 2026.1, even when recorded in July.
    before = led.record("GRID-CLEANUP", date(2026, 6, 30), date(2026, 7, 2), level="took_part")
    assert (before.entries[0].catalogue_version, before.entries[0].points) == ("2026.1", 10)
    # The day 2026.2 takes effect: +2.
    on = led.record("GRID-CLEANUP", date(2026, 7, 1), date(2026, 7, 1), level="took_part")
    assert (on.entries[0].catalogue_version, on.entries[0].points) == ("2026.2", 20)
    # An item added in 2026.2 does not exist for an event of 2026-06-30 …
    with pytest.raises(RuleError) as err:
        led.record("ENV-WASTE-SORTING", date(2026, 6, 30), date(2026, 7, 5), subject_kind="household")
    assert err.value.code == "RULES_UNKNOWN_ITEM"
    # … and scores +1.5 (15 tenths) from 2026-07-01.
    sorting = led.record("ENV-WASTE-SORTING", date(2026, 7, 1), subject_kind="household")
    assert sorting.entries[0].points == 15
    assert CAT.version_on(date(2026, 6, 30)).version == "2026.1"
    assert CAT.version_on(date(2026, 7, 1)).version == "2026.2"
    assert CAT.version_on(date(2099, 1, 1)).version == "2026.2"


def test_no_catalogue_before_the_first_version():
    with pytest.raises(RuleError) as err:
        CAT.version_on(date(2019, 12, 31))
    assert err.value.code == "RULES_NO_CATALOGUE" and "2020-01-01" in err.value.message_zh
    with pytest.raises(RuleError):
        Ledger(CAT).record("BLOOD-DONATION", date(2019, 12, 31), date(2020, 1, 2))
    with pytest.raises(RuleError):
        standing(CAT, [], date(2019, 12, 31))


@pytest.mark.parametrize(("occurred", "recorded", "late"), [
    (date(2026, 3, 15), date(2026, 3, 15), False),
    (date(2026, 3, 15), date(2026, 4, 15), False),   # exactly one month later: still on time
    (date(2026, 3, 15), date(2026, 4, 16), True),
    (date(2026, 1, 31), date(2026, 2, 28), False),   # one month after 31 Jan is 28 Feb
    (date(2026, 1, 31), date(2026, 3, 1), True),
])
def test_late_flag(occurred, recorded, late):
    result = Ledger(CAT).record("BLOOD-DONATION", occurred, recorded)
    assert result.late is late
    assert result.entries[0].explanation["late"] is late
    assert ("迟报" in result.entries[0].explanation_zh) is late
    assert result.entries[0].points == 30  # late entries still score; validity from the event date
    assert result.entries[0].valid_from == occurred


# --- doubling, cap, direct downgrade -------------------------------------------------------------------


def test_repeat_within_validity_doubles():
    led = Ledger(CAT)
    first = led.record("ENV-DUMPING", date(2026, 3, 1))                       # −2, until 2027-03-01
    second = led.record("ENV-DUMPING", date(2026, 9, 1))                      # first in force → −4
    third = led.record("ENV-DUMPING", date(2027, 3, 1))                       # first lapsed, second in force → −4
    fourth = led.record("ENV-DUMPING", date(2028, 3, 2))                      # all lapsed → −2
    assert [r.entries[0].points for r in (first, second, third, fourth)] == [-20, -40, -40, -20]
    assert second.entries[0].explanation["doubled"] is True
    assert second.entries[0].explanation["doubled_because_event_id"] == 1
    assert "2026年3月1日的同类记录有效期内" in second.entries[0].explanation_zh
    assert "加倍" in second.entries[0].explanation_zh and "-2×2=-4" in second.entries[0].explanation_zh
    assert fourth.entries[0].explanation["doubled"] is False
    # Another item in force does not double this one; a positive item never doubles.
    assert led.record("COMMITMENT-BROKEN", date(2026, 9, 2)).entries[0].points == -200
    assert led.record("BLOOD-DONATION", date(2026, 9, 3)).entries[0].points == 30
    assert led.record("BLOOD-DONATION", date(2026, 9, 4)).entries[0].points == 30


def test_doubled_deduction_keeps_the_validity_of_the_offence():
    led = Ledger(CAT)
    led.record("WAGE-ARREARS", date(2026, 1, 10), level="months_2_to_6")
    doubled = led.record("WAGE-ARREARS", date(2026, 5, 10), level="months_2_to_6").entries[0]
    assert doubled.points == -600
    assert doubled.valid_until == date(2027, 5, 10)   # −30 is ≤ 40 → 1 year, though −60 was charged
    severe = Ledger(CAT).record("WAGE-ARREARS", date(2026, 1, 10), level="over_6_months_or_malicious").entries[0]
    assert (severe.points, severe.valid_until) == (-500, date(2028, 1, 10))  # −50 > 40 → 2 years


def test_yearly_cap_clips_and_explains():
    led = Ledger(CAT)
    # GRID-MEDIATION: at most 20 points per calendar year.
    assert led.record("GRID-MEDIATION", date(2026, 2, 1), level="mass_incident_averted").entries[0].points == 100
    assert led.record("GRID-MEDIATION", date(2026, 3, 1), level="major_settled").entries[0].points == 50
    assert led.record("GRID-MEDIATION", date(2026, 4, 1), level="settled").entries[0].points == 30   # 18 so far
    clipped = led.record("GRID-MEDIATION", date(2026, 5, 1), level="settled").entries[0]            # 18 + 3 > 20
    assert clipped.points == 20
    assert clipped.explanation["cap"] == {"cap_per_year": 200, "year": 2026, "used_before": 180, "clipped_from": 30}
    assert "每年累计不超过20分" in clipped.explanation_zh and "由+3分调整为+2分" in clipped.explanation_zh
    full = led.record("GRID-MEDIATION", date(2026, 12, 31), level="took_part").entries[0]
    assert full.points == 0  # still recorded, with the reason
    assert "调整为0分" in full.explanation_zh
    # A new calendar year starts a new allowance.
    assert led.record("GRID-MEDIATION", date(2027, 1, 1), level="settled").entries[0].points == 30
    assert at(led, date(2026, 12, 31)).score == 10000 + 200


def test_direct_downgrade_overrides_the_grade_for_its_term_only():
    led = Ledger(CAT)
    led.record("HONOUR", date(2026, 3, 1), level="national")       # +30 for 5 years → AA on score
    result = led.record("JUDGMENT-DEFAULTER", date(2026, 3, 2))
    draft = result.entries[0]
    assert (draft.points, draft.grade_override, draft.valid_until) == (0, "D", date(2031, 3, 2))
    assert "直接评定为D级" in draft.explanation_zh

    during = at(led, date(2026, 6, 1))
    assert (during.score, during.grade, during.grade_override, during.override_until) == (
        10300, "D", "D", date(2031, 3, 2))
    assert "不高于D级" in during.explanation_zh
    assert at(led, date(2031, 3, 1)).grade == "D"      # last day of the term (honour lapsed 2031-03-01: 1000)
    after = at(led, date(2031, 3, 2))
    assert (after.grade, after.grade_override) == ("A", None)
    # The downgrade entry carries no points, so it is no "expiry" for next_expiry.
    assert during.next_expiry == date(2031, 3, 1) and during.next_expiry_points == 300


def test_override_not_worse_than_score_grade_leaves_grade_and_reversal_lifts_it():
    d = date(2026, 5, 1)
    low = EntryView(1, -2000, date(2026, 1, 1), date(2028, 1, 1), None)         # 800 → C
    b_override = EntryView(2, 0, date(2026, 1, 1), date(2028, 1, 1), "B")
    s = standing(CAT, [low, b_override], d)
    assert (s.grade, s.grade_override) == ("C", "B")
    d_override = EntryView(3, 0, date(2026, 2, 1), date(2031, 2, 1), "D")
    assert standing(CAT, [low, d_override], d).grade == "D"
    reversal = EntryView(4, 0, date(2026, 2, 1), date(2031, 2, 1), None, reverses_entry_id=3)
    assert standing(CAT, [low, d_override, reversal], d).grade == "C"
    # A disputed entry (counts=False) is out of the score and out of the grade.
    assert standing(CAT, [EntryView(1, -2000, date(2026, 1, 1), date(2028, 1, 1), None, counts=False),
                          EntryView(3, 0, date(2026, 2, 1), date(2031, 2, 1), "D", counts=False)], d).grade == "A"


# --- one act, several items ----------------------------------------------------------------------------


def test_one_act_scores_once_at_the_largest_item():
    led = Ledger(CAT)
    first = led.record("GRID-MEDIATION", date(2026, 5, 1), level="settled", act_id="act-7")       # +3
    assert [d.points for d in first.entries] == [30]
    equal = led.record("HONOUR", date(2026, 5, 1), level="township", act_id="act-7")              # +3: not larger
    assert equal.entries == [] and "只按分值最大的一项计分" in equal.skipped_reason_zh
    larger = led.record("HONOUR", date(2026, 5, 1), level="county", act_id="act-7")               # +5 replaces +3
    reversal, new = larger.entries
    assert (reversal.reverses_entry_id, reversal.points, reversal.item_code) == (1, -30, "GRID-MEDIATION")
    assert (reversal.valid_from, reversal.valid_until) == (date(2026, 5, 1), date(2027, 5, 1))
    assert (new.points, new.reverses_entry_id) == (50, None)
    assert "不再计入" in reversal.explanation_zh and "只按分值最大的一项计分" in reversal.explanation_zh
    smaller = led.record("GRID-CLEANUP", date(2026, 5, 1), level="organised", act_id="act-7")      # +5: equal
    assert smaller.entries == []
    assert at(led, date(2026, 5, 1)).score == 10050
    # Another act is scored on its own.
    assert led.record("GRID-MEDIATION", date(2026, 5, 1), level="settled", act_id="act-8").entries[0].points == 30


def test_same_act_is_not_a_repeat():
    led = Ledger(CAT)
    led.record("ENV-DUMPING", date(2026, 5, 1), act_id="a1")
    again = led.record("COMMITMENT-BROKEN", date(2026, 5, 1), act_id="a1")
    assert [d.points for d in again.entries] == [20, -200]   # reverses −2, charges −20, no doubling
    assert again.entries[1].explanation["doubled"] is False


# --- invalid inputs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"item_code": "NO-SUCH-ITEM"}, "RULES_UNKNOWN_ITEM"),
    ({"item_code": "ENV-COURTYARD", "level": "clean_household"}, "RULES_SUBJECT_KIND"),   # household item
    ({"subject_kind": "village"}, "RULES_SUBJECT_KIND"),
    ({"item_code": "HONOUR"}, "RULES_LEVEL"),
    ({"item_code": "HONOUR", "level": "galactic"}, "RULES_LEVEL"),
    ({"level": "county"}, "RULES_LEVEL"),                                                   # fixed item
    ({"item_code": "VOL-HOURS"}, "RULES_QUANTITY"),
    ({"item_code": "VOL-HOURS", "quantity": Decimal("-3")}, "RULES_QUANTITY"),
    ({"item_code": "VOL-HOURS", "quantity": Decimal("0")}, "RULES_QUANTITY"),
    ({"item_code": "VOL-HOURS", "quantity": 2.5}, "RULES_QUANTITY"),                        # a float
    ({"item_code": "VOL-HOURS", "quantity": Decimal("NaN")}, "RULES_QUANTITY"),
    ({"quantity": Decimal("2")}, "RULES_QUANTITY"),                                         # fixed item
    ({"recorded_on": date(2026, 4, 30)}, "RULES_DATE"),
    ({"occurred_on": date(2019, 6, 1), "recorded_on": date(2019, 6, 1)}, "RULES_NO_CATALOGUE"),
])
def test_invalid_inputs_raise_rule_errors(kwargs, code):
    fields = {"event_id": 1, "item_code": "BLOOD-DONATION", "subject_kind": "person",
              "occurred_on": date(2026, 5, 1), "recorded_on": date(2026, 5, 2)} | kwargs
    with pytest.raises(RuleError) as err:
        score_event(CAT, Event(**fields), [])
    assert err.value.code == code
    assert err.value.message_zh and err.value.message_en


def test_tiered_increment_can_be_zero_and_still_records_hours():
    led = Ledger(CAT)
    assert led.record("VOL-HOURS", date(2026, 2, 1), quantity=Decimal("6.5")).entries[0].points == 0   # < 10 h
    second = led.record("VOL-HOURS", date(2026, 2, 2), quantity=Decimal("3.5")).entries[0]              # = 10 h
    assert (second.points, second.quantity) == (20, Decimal("3.5"))
    third = led.record("VOL-HOURS", date(2026, 2, 3), quantity=Decimal("5")).entries[0]                 # 15 h
    assert third.points == 0 and "未超过已得分数" in third.explanation_zh and third.quantity == Decimal("5")
