"""三级联创 roll-ups: a hand-computed village, properties, validation of ``ratings:`` and its diff.

Units: personal scores in tenths of personal points (base 1000 → 10000); household scores in tenths of
household points (65 → 650). Household rules of the shipped catalogue: each counted member's personal
score (without family charges) is scaled to household points by ``member_scale`` — straight lines
between 1100 → 100 · 1050 → 80 · 1030 → 70 · 1000 → 65 · 960 → 60 · 850 → 50 · 600 → 20 · 400 → 0,
flat beyond — and averaged over the adults; family-charge items (FILIAL-NEGLECT, DOMESTIC-VIOLENCE) at
full weight and household entries are added; half-up rounding to 0.1; bands AAA ≥ 80 · AA ≥ 70 · A ≥ 60
· below 60 not a credit household ("none").

Slopes used by the hand computations (household points per personal point): 1050–1100: 0.4 ·
1030–1050: 0.5 · 1000–1030: 1/6 · 960–1000: 1/8 · 850–960: 1/11.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from points_rules import (
    DEFAULT_CATALOGUE_DIR, CatalogueError, EntryView, HouseholdRating, MemberInput, RuleError, VillageRating,
    WorkCalendar, check_catalogue_dir, diff_versions, family_charge, has_serious_dishonesty, in_force_points,
    load_catalogue_dir, load_version_file, member_input, publicity_end, rate_household, rate_township,
    rate_village, standing,
)
from points_rules.ratings import age_on, is_adult

from .ledger_model import Ledger
from .catalogue_copies import copy_catalogue, edit

CAT = load_catalogue_dir()
V1, V2 = CAT.version("2026.1"), CAT.version("2026.2")
HOUSEHOLD_CLOSE = date(2026, 12, 31)     # households close on 12-31 …
VILLAGE_CLOSE = date(2027, 1, 31)        # … villages on 01-31 of the next year …
TOWNSHIP_CLOSE = date(2027, 2, 28)       # … townships on 02-28.


# --- building members from real ledgers ----------------------------------------------------------------


def _ledger(events, subject_kind="person") -> Ledger:
    ledger = Ledger(CAT, subject_kind=subject_kind)
    for code, day, *kw in events:
        ledger.record(code, day, **(kw[0] if kw else {}))
    return ledger


def coded(ledger: Ledger, not_counting: frozenset[int] = frozenset()):
    return list(zip([e.item_code for e in ledger.entries], ledger.views(not_counting)))


def person(pid: int, birth: date, events=(), *, head=False, as_of=HOUSEHOLD_CLOSE, not_counting=frozenset()):
    return member_input(CAT, pid, birth, head, coded(_ledger(events), not_counting), as_of)


def household_points(events, as_of=HOUSEHOLD_CLOSE) -> int:
    return in_force_points(_ledger(events, "household").views(), as_of)


# --- the hand-computed village (兴隆村, 6 households), rated on 2026-12-31 under version 2026.2 --------------


def household_1():
    """张家: 3 people, one a child.
    张伟 (head, 56): HONOUR provincial +20 (200) + GRID-MEDIATION settled +3 (30) → 1023 (A).
    李芳 (54): VOL-HOURS 25 h → tier "20 h" +5 → 1005.
    son (14): HONOUR village +1 — a child: not in the adults' mean.
    household: ENV-COURTYARD model courtyard +3 → 30.
    scaled (1000–1030: 65 + (p − 1000)/6): 1023 → 65 + 23/6 = 68.833…; 1005 → 65 + 5/6 = 65.833…
    mean = 65 + 28/12 = 67.333… (tenths 2020/3); + 3 = 70.333… (2110/3) → 70.3 = AA."""
    members = [
        person(11, date(1970, 5, 1), [("HONOUR", date(2026, 3, 10), {"level": "provincial"}),
                                      ("GRID-MEDIATION", date(2026, 4, 2), {"level": "settled"})], head=True),
        person(12, date(1972, 8, 15), [("VOL-HOURS", date(2026, 6, 15), {"quantity": 25})]),
        person(13, date(2012, 3, 1), [("HONOUR", date(2026, 5, 4), {"level": "village"})]),
    ]
    points = household_points([("ENV-COURTYARD", date(2026, 9, 1), {"level": "model_courtyard"})])
    return members, points


def household_2(*, neglect_repaired=False):
    """王家: 3 adults. 王强 (head) refused to support his father — FILIAL-NEGLECT −20 (−200), a family charge —
    and took part in a clean-up, GRID-CLEANUP +2 (20, version 2026.2): personal 1000 − 20 + 2 = 982 (A).
    He is scaled without the family charge: 982 + 20 = 1002 → 65 + 2/6 = 65.333…; 赵敏 and 王老 (86): 1000 → 65.
    mean = 65 + (1/3)/3 = 65 + 1/9 (tenths 650 + 10/9); family charge −20 at full weight, through the head.
    650 + 10/9 − 200 = 4060/9 = 451.11… → 451 → 45.1: not a credit household (grade none)."""
    not_counting = frozenset({1}) if neglect_repaired else frozenset()   # entry 1 = the FILIAL-NEGLECT entry
    members = [
        person(21, date(1965, 1, 20), [("FILIAL-NEGLECT", date(2026, 5, 10)),
                                       ("GRID-CLEANUP", date(2026, 8, 1), {"level": "took_part"})],
               head=True, not_counting=not_counting),
        person(22, date(1968, 11, 11)),
        person(23, date(1940, 2, 2)),
    ]
    return members, 0


def household_3():
    """刘家: 刘华 (head) listed as a judgment defaulter on 2026-02-01 — direct grade D for 5 years, no points;
    serious dishonesty; his score stays 1000 → 65. 陈静: VOL-HOURS 60 h → tier "50 h" +10 → 1010 → 65 + 10/6.
    mean = 65 + 10/12 = 65.833… (tenths 1975/3) → 658 → 65.8 = A by score, but a D member (and a direct
    grade, and serious dishonesty) disqualifies: grade none, not a credit household, serious_dishonesty."""
    members = [
        person(31, date(1980, 7, 7), [("JUDGMENT-DEFAULTER", date(2026, 2, 1))], head=True),
        person(32, date(1982, 12, 31), [("VOL-HOURS", date(2026, 4, 1), {"quantity": 60})]),
    ]
    return members, 0


def household_4():
    """周家: 4 people. 周刚 (head): WAGE-ARREARS ≤ 2 months −10 (−100). 孙丽: COMMITMENT-KEPT +2 (20).
    daughter born 2008-12-31: 18 exactly on the rating day → an adult; VOL-HOURS 12 h → +2 (20).
    son born 2015: a child. household: CUSTOMS-REFORM +2 (20).
    scaled: 990 → 60 + 30/8 = 63.75 (tenths 1275/2); 1002 → 65 + 2/6 (tenths 1960/3), twice.
    mean of 3 adults = (1275/2 + 3920/3) / 3 = (11665/6) / 3 = 11665/18 = 648.05…; + 20 = 12025/18
    = 668.05… → 668 → 66.8 = A."""
    members = [
        person(41, date(1990, 3, 3), [("WAGE-ARREARS", date(2026, 3, 1), {"level": "up_to_2_months"})], head=True),
        person(42, date(1992, 9, 9), [("COMMITMENT-KEPT", date(2026, 5, 5))]),
        person(43, date(2008, 12, 31), [("VOL-HOURS", date(2026, 7, 20), {"quantity": 12})]),
        person(44, date(2015, 6, 1)),
    ]
    points = household_points([("CUSTOMS-REFORM", date(2026, 10, 1))])
    return members, points


def household_5():
    """吴家: 吴军 (head): HONOUR city +10 (100) + GRID-MEDIATION major +5 (50) + VOL-HOURS 110 h → "100 h"
    +20 (200) = +350 → 1035 (AA). 马艳: CHARITY 5000–10000 元 +5 (50) + VOL-HOURS 55 h +10 (100) + BLOOD +3 (30)
    = +180 → 1018 (A). household: ENV-COURTYARD model courtyard twice (+3 +3, within the yearly cap 6) = 60,
    and HONOUR county (文明家庭) +5 = 50 → 110.
    scaled: 1035 → 70 + 5 × 0.5 = 72.5; 1018 → 65 + 18/6 = 68. mean = 70.25; + 11 = 81.25 → half up 81.3
    (tenths 812.5 → 813) = AAA."""
    members = [
        person(51, date(1975, 4, 4), [("HONOUR", date(2026, 5, 20), {"level": "city"}),
                                      ("GRID-MEDIATION", date(2026, 6, 10), {"level": "major_settled"}),
                                      ("VOL-HOURS", date(2026, 8, 8), {"quantity": 110})], head=True),
        person(52, date(1977, 6, 6), [("CHARITY-DONATION", date(2026, 2, 2), {"level": "from_5000"}),
                                      ("VOL-HOURS", date(2026, 9, 9), {"quantity": 55}),
                                      ("BLOOD-DONATION", date(2026, 3, 3))]),
    ]
    points = household_points([("ENV-COURTYARD", date(2026, 3, 15), {"level": "model_courtyard"}),
                               ("ENV-COURTYARD", date(2026, 9, 15), {"level": "model_courtyard"}),
                               ("HONOUR", date(2026, 11, 11), {"level": "county"})])
    return members, points


def household_6():
    """郑家: 郑波 (head) dumped rubbish twice — ENV-DUMPING −2 (−20), then within its validity −2 × 2 (−40)
    = −60 → 994. 何琴: 1000. household: ENV-DUMPING on its own ledger −2 (−20).
    scaled: 994 → 60 + 34/8 = 64.25; 1000 → 65. mean = 64.625; − 2 = 62.625 → 62.6 = A."""
    members = [
        person(61, date(1985, 10, 10), [("ENV-DUMPING", date(2026, 4, 4)), ("ENV-DUMPING", date(2026, 6, 6))],
               head=True),
        person(62, date(1986, 1, 1)),
    ]
    points = household_points([("ENV-DUMPING", date(2026, 7, 7))])
    return members, points


def xinglong():
    builders = [household_1, household_2, household_3, household_4, household_5, household_6]
    return [rate_household(CAT, i, *build(), HOUSEHOLD_CLOSE) for i, build in enumerate(builders, start=1)]


def test_members_standings_are_the_engines():
    members, _ = household_2()
    assert [(m.standing.score, m.standing.grade, m.family_charge) for m in members] == [
        (9820, "A", -200), (10000, "A", 0), (10000, "A", 0)]
    members, _ = household_3()
    assert (members[0].standing.grade, members[0].standing.grade_override, members[0].serious_dishonesty) == (
        "D", "D", True)
    assert members[1].standing.score == 10100 and not members[1].serious_dishonesty
    members, _ = household_6()
    assert members[0].standing.score == 9940
    assert household_5()[1] == 110


def test_the_hand_computed_households():
    h = {r.household_id: r for r in xinglong()}
    assert [(h[i].score, h[i].grade, h[i].is_credit_household, h[i].serious_dishonesty) for i in range(1, 7)] == [
        (703, "AA", True, False),      # 2110/3 = 703.33…
        (451, "none", False, False),   # 4060/9: the family charge −20 sinks it
        (658, "none", False, True),    # 65.8 would be A; a D member disqualifies
        (668, "A", True, False),       # 12025/18 = 668.05…
        (813, "AAA", True, False),     # 812.5 → 813 (half up)
        (626, "A", True, False),       # 626.25
    ]
    assert {r.catalogue_version for r in h.values()} == {"2026.2"}
    one = h[1].explanation
    assert one["exact_score"] == "2110/3" and one["rounded_score"] == 703
    assert one["member_mean"] == "2020/3"
    assert [m["worth"] for m in one["members"][:2]] == ["2065/3", "1975/3"]   # 688.33…, 658.33…
    assert [m["counted"] for m in one["members"]] == [True, True, False]      # the child does not count
    assert one["head_person_id"] == 11
    two = h[2].explanation
    assert (two["exact_score"], two["member_mean"], two["family_charge_total"]) == ("4060/9", "5860/9", -200)
    assert two["members"][0]["scaled_from"] == 10020                           # 982 without the −20 family charge
    assert two["disqualified_by"] == [] and two["score_grade"] == "none"
    three = h[3].explanation
    assert three["score_grade"] == "A"
    assert [d["reason"] for d in three["disqualified_by"]] == ["member_grade", "direct_downgrade", "serious_dishonesty"]
    four = h[4].explanation
    assert [m["adult"] for m in four["members"]] == [True, True, True, False]   # 18 on the day itself
    assert four["member_mean"] == "11665/18"
    five = h[5].explanation
    assert (five["member_mean"], five["exact_score"]) == ("702.5", "812.5")


def test_household_explanations_for_the_villager():
    h = {r.household_id: r for r in xinglong()}
    text = h[1].explanation_zh
    assert "2026.2版" in text and "2026年12月31日" in text
    assert "个人积分按对照表折算为户分（1100分→100分、1050分→80分、1030分→70分、1000分→65分、960分→60分" in text
    assert "按年满18周岁的2名成年人计算" in text
    assert "户主（56岁）个人积分1023分（A级），折合约68.83分；成员（54岁）个人积分1005分（A级），折合约65.83分" in text
    assert "平均约67.33分" in text
    assert "户得分 = 成员折算平均约67.33 + 3 = 约70.33分，保留一位小数为70.3分" in text
    assert "AAA≥80分、AA≥70分、A≥60分、低于60分不是信用户。" in text
    assert text.endswith("得分70.3分，对应AA级，评为AA级信用户。")
    text = h[2].explanation_zh
    assert "拒不履行赡养义务、家庭暴力等与家庭相关的失信行为）合计-20分，不参与折算和平均，按全额计入本户，由户主承担" in text
    assert "户主（61岁）个人积分982分（A级），家庭责任扣分另计，按1002分折算，折合约65.33分" in text
    assert "户得分 = 成员折算平均约65.11 − 20 = 约45.11分" in text
    assert text.endswith("得分45.1分，低于60分，未达到信用户标准，不是信用户。")
    text = h[3].explanation_zh
    assert ("得分65.8分，本可评为A级信用户；户主（46岁）个人信用等级为D级、处于直接判级期间（D级，至2031年1月31日）、"
            "有尚在有效期内的严重失信记录，按规则本户不评为信用户。") in text


def test_a_repaired_family_charge_stops_counting():
    members, points = household_2(neglect_repaired=True)
    assert members[0].family_charge == 0
    r = rate_household(CAT, 2, members, points, HOUSEHOLD_CLOSE)
    # The repaired entry no longer counts: the head is at 1002, no family charge → 65 + 2/6; the others 65;
    # mean 650 + 10/9 = 5860/9 = 651.11… → 651 = A.
    assert (r.score, r.grade, r.is_credit_household) == (651, "A", True)


def test_family_charge_counts_the_same_whoever_in_the_family_did_it():
    """Charged through the head: the same wrong by a spouse or by the head costs the household the same."""
    neglect = [("FILIAL-NEGLECT", date(2026, 5, 10))]
    by_head = [person(1, date(1970, 1, 1), neglect, head=True), person(2, date(1971, 1, 1))]
    by_wife = [person(1, date(1970, 1, 1), head=True), person(2, date(1971, 1, 1), neglect)]
    a = rate_household(CAT, 1, by_head, 0, HOUSEHOLD_CLOSE)
    b = rate_household(CAT, 1, by_wife, 0, HOUSEHOLD_CLOSE)
    assert a.score == b.score == 450          # both scaled at 1000 → 65; 65 − 20, nothing averaged away
    # A non-family deduction of the same size is scaled and averaged: 980 → 60 + 20/8 = 62.5; with 65,
    # mean 63.75 → 638 (A).
    other = [person(1, date(1970, 1, 1), [("COMMITMENT-BROKEN", date(2026, 5, 10))], head=True),
             person(2, date(1971, 1, 1))]
    assert rate_household(CAT, 1, other, 0, HOUSEHOLD_CLOSE).score == 638


def test_the_hand_computed_village_and_township():
    households = xinglong()
    v1 = rate_village(CAT, 1, households, VILLAGE_CLOSE)
    # 4 credit households of 6 (H1, H4, H5, H6): 4/6 = 66.7 % < 70 % → not a credit village; 1 serious ≤ 3.
    assert (v1.households, v1.credit_households, v1.serious_dishonesty_households) == (6, 4, 1)
    assert (v1.share_permille, v1.is_credit_village, v1.stars) == (666, False, 0)
    assert v1.grade_counts == {"AAA": 1, "AA": 1, "A": 2, "none": 2}
    assert v1.explanation["not_qualified_because"] == ["credit_household_share"]
    assert "本村参评6户，其中信用户4户，占66.6%（4/6，标准：不低于70%）" in v1.explanation_zh
    assert v1.explanation_zh.endswith("因信用户占比低于70%，不评为信用村。")

    # 村2: 9 credit households of 10 → 90 % → credit village, ★★★.
    v2 = rate_village(CAT, 2, _synthetic(2, credit=9, low=1), VILLAGE_CLOSE)
    assert (v2.share_permille, v2.is_credit_village, v2.stars) == (900, True, 3)
    assert "评为信用村，★★★（3星，信用户占比不低于90%）" in v2.explanation_zh
    # 村3: 14 of 20 = exactly 70 %, but 4 households with a judgment defaulter > 3 → not a credit village.
    v3 = rate_village(CAT, 3, _synthetic(3, credit=14, low=2, serious=4), VILLAGE_CLOSE)
    assert (v3.share_permille, v3.serious_dishonesty_households, v3.is_credit_village) == (700, 4, False)
    assert v3.explanation["not_qualified_because"] == ["serious_dishonesty"]
    assert "有严重失信成员的户数超过3户" in v3.explanation_zh

    # 乡镇: 1 credit village of 3 = 33.3 % < 50 %.
    t = rate_township(CAT, 1, [v1, v2, v3], TOWNSHIP_CLOSE)
    assert (t.villages, t.credit_villages, t.share_permille, t.is_credit_township) == (3, 1, 333, False)
    # 村4: 7 of 10 = 70 % exactly, no serious → credit village ★. Now 2 of 4 = 50 % exactly → credit township.
    v4 = rate_village(CAT, 4, _synthetic(4, credit=7, low=3), VILLAGE_CLOSE)
    assert (v4.is_credit_village, v4.stars) == (True, 1)
    t = rate_township(CAT, 1, [v1, v2, v3, v4], TOWNSHIP_CLOSE)
    assert (t.credit_villages, t.share_permille, t.is_credit_township) == (2, 500, True)
    assert t.explanation_zh.endswith("评为信用乡镇。") and "2/4" in t.explanation_zh
    assert t.explanation["credit_village_ids"] == [2, 4]


def _synthetic(village: int, *, credit: int, low: int = 0, serious: int = 0) -> list[HouseholdRating]:
    """Households built with the real rules: ``credit`` uneventful ones (65 = A), ``low`` with a head who
    neglected his parents (FILIAL-NEGLECT, a family charge: 65 − 20 = 45 → none), ``serious`` with a
    judgment defaulter."""
    out = []
    hid = village * 1000
    for kind, n in (("credit", credit), ("low", low), ("serious", serious)):
        for _ in range(n):
            hid += 1
            events = {"credit": [], "low": [("FILIAL-NEGLECT", date(2026, 3, 1))],
                      "serious": [("JUDGMENT-DEFAULTER", date(2026, 3, 1))]}[kind]
            members = [person(hid * 10 + 1, date(1970, 1, 1), events, head=True), person(hid * 10 + 2, date(1972, 1, 1))]
            out.append(rate_household(CAT, hid, members, 0, HOUSEHOLD_CLOSE))
    assert sum(r.is_credit_household for r in out) == credit
    return out


def test_empty_village_and_township_do_not_qualify():
    v = rate_village(CAT, 9, [], VILLAGE_CLOSE)
    assert (v.households, v.share_permille, v.is_credit_village, v.stars) == (0, 0, False, 0)
    assert v.explanation["not_qualified_because"] == ["no_households"]
    assert "没有参评农户" in v.explanation_zh and "不评为信用村" in v.explanation_zh
    t = rate_township(CAT, 9, [], TOWNSHIP_CLOSE)
    assert not t.is_credit_township and "没有参评的村" in t.explanation_zh


def test_households_without_adults_or_members():
    kids = [person(1, date(2010, 1, 1), [("VOL-HOURS", date(2026, 4, 1), {"quantity": 20})], head=True),
            person(2, date(2012, 1, 1))]
    r = rate_household(CAT, 1, kids, 0, HOUSEHOLD_CLOSE)
    # No adult: all members count. 1005 → 65 + 5/6, 1000 → 65; mean 65 + 5/12 = 65.41… → 654.
    assert (r.score, r.explanation["counted_basis"]) == (654, "all_members_no_adult")
    # No members: as one member at the personal base, 1000 → 65; + 3 = 68.
    empty = rate_household(CAT, 2, [], 30, HOUSEHOLD_CLOSE)
    assert (empty.score, empty.grade, empty.explanation["counted_basis"]) == (680, "A", "no_members")


def test_score_is_clamped_and_half_up_rounding():
    top = [person(1, date(1970, 1, 1), head=True)]
    assert rate_household(CAT, 1, top, 5000, HOUSEHOLD_CLOSE).score == 1000
    low = rate_household(CAT, 1, top, -5000, HOUSEHOLD_CLOSE)
    assert (low.score, low.explanation["clamped"]) == (0, True)
    assert "限定在0至100分之间" in low.explanation_zh


def test_rating_inputs_are_checked():
    m = person(1, date(1970, 1, 1), head=True)
    with pytest.raises(RuleError) as err:
        rate_household(CAT, 1, [m, replace(m, person_id=2)], 0, HOUSEHOLD_CLOSE)
    assert err.value.code == "RULES_HOUSEHOLD"                       # two heads
    with pytest.raises(RuleError) as err:
        rate_household(CAT, 1, [m, m], 0, HOUSEHOLD_CLOSE)
    assert err.value.code == "RULES_DUPLICATE"
    with pytest.raises(RuleError) as err:
        rate_household(CAT, 1, [m], 0, date(2026, 12, 30))            # standing of another day
    assert err.value.code == "RULES_DATE"
    with pytest.raises(RuleError) as err:
        rate_household(CAT, 1, [m], 0, date(2019, 12, 31))
    assert err.value.code == "RULES_NO_CATALOGUE"
    r = rate_household(CAT, 1, [m], 0, HOUSEHOLD_CLOSE)
    with pytest.raises(RuleError) as err:
        rate_village(CAT, 1, [r], date(2026, 12, 30))                  # household rated after the village
    assert err.value.code == "RULES_DATE"


def test_version_in_force_on_the_rating_date_is_used(tmp_path):
    d = tmp_path / "cat"
    shutil.copytree(DEFAULT_CATALOGUE_DIR, d)
    edit(d / "2026-07-01.yaml", "credit_household_share: 70", "credit_household_share: 60")
    cat = load_catalogue_dir(d)
    households = _synthetic(5, credit=13, low=7)                       # 13 of 20 = 65 %
    assert rate_village(cat, 5, households, VILLAGE_CLOSE).is_credit_village          # 2026.2: ≥ 60 %
    assert not rate_village(CAT, 5, households, VILLAGE_CLOSE).is_credit_village      # shipped: ≥ 70 %
    r = rate_household(cat, 1, [person(1, date(1970, 1, 1), head=True, as_of=date(2026, 3, 1))], 0, date(2026, 3, 1))
    assert r.catalogue_version == "2026.1"


def test_a_version_without_ratings_cannot_rate(tmp_path):
    d = tmp_path / "cat"
    shutil.copytree(DEFAULT_CATALOGUE_DIR, d)
    path = d / "2026-07-01.yaml"
    text = path.read_text(encoding="utf-8")
    start, end = text.index("\n# 三级联创评级规则"), text.index("\nitems:\n")
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    cat = load_catalogue_dir(d)                                         # the section is optional
    assert cat.version("2026.2").ratings is None
    with pytest.raises(RuleError) as err:
        rate_household(cat, 1, [], 0, HOUSEHOLD_CLOSE)
    assert err.value.code == "RULES_NO_RATINGS"
    removed = diff_versions(cat.version("2026.1"), cat.version("2026.2"))
    assert removed and {c.area for c in removed if c.kind == "removed"} == {"ratings"}
    assert ("removed", "village.credit_household_share", "≥70%") in {(c.kind, c.field, c.old) for c in removed}


# --- helpers --------------------------------------------------------------------------------------------


def test_entry_helpers_follow_the_ledger_rules():
    day = date(2026, 6, 1)
    until = date(2031, 6, 1)
    listed = EntryView(1, 0, day, until, "D")
    lifted = EntryView(2, 0, day, until, None, reverses_entry_id=1)
    neglect = EntryView(3, -200, day, date(2027, 6, 1), None)
    undone = EntryView(4, 200, day, date(2027, 6, 1), None, reverses_entry_id=3)
    assert has_serious_dishonesty(V2, [("JUDGMENT-DEFAULTER", listed)], HOUSEHOLD_CLOSE)
    assert not has_serious_dishonesty(V2, [("JUDGMENT-DEFAULTER", listed), ("JUDGMENT-DEFAULTER", lifted)],
                                      HOUSEHOLD_CLOSE)
    assert not has_serious_dishonesty(V2, [("JUDGMENT-DEFAULTER", replace(listed, counts=False))], HOUSEHOLD_CLOSE)
    assert not has_serious_dishonesty(V2, [("JUDGMENT-DEFAULTER", listed)], date(2026, 5, 31))
    assert family_charge(V2, [("FILIAL-NEGLECT", neglect), ("VOL-HOURS", EntryView(5, 50, day, until, None))],
                         HOUSEHOLD_CLOSE) == -200
    assert family_charge(V2, [("FILIAL-NEGLECT", neglect), ("FILIAL-NEGLECT", undone)], HOUSEHOLD_CLOSE) == 0
    assert family_charge(V2, [("FILIAL-NEGLECT", neglect)], date(2027, 6, 1)) == 0     # expired
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17 and age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18
    assert not is_adult(date(2008, 12, 31), date(2026, 12, 30), 18) and is_adult(date(2008, 12, 31), HOUSEHOLD_CLOSE, 18)


def test_shipped_ratings_and_approval_cycle():
    for version in (V1, V2):
        r = version.rating_rules()
        assert r.household.max_score == 1000
        assert [(p.personal, p.household) for p in r.household.member_scale] == [
            (11000, 1000), (10500, 800), (10300, 700), (10000, 650), (9600, 600), (8500, 500), (6000, 200), (4000, 0)]
        assert [(b.grade, b.min) for b in r.household.grades] == [("AAA", 800), ("AA", 700), ("A", 600), ("none", None)]
        assert r.household.credit_grades == ("AAA", "AA", "A")
        assert r.household.family_charge_items == ("FILIAL-NEGLECT", "DOMESTIC-VIOLENCE")
        assert (r.village.credit_household_share, r.village.max_serious_dishonesty) == (70, 3)
        assert [(b.stars, b.min_share) for b in r.village.stars] == [(3, 90), (2, 80), (1, 70)]
        assert r.township.credit_village_share == 50
        a = r.approval
        assert (a.publicity_working_days, a.period) == (5, "annual")
        assert not a.needs_second_approver("household") and a.needs_second_approver("township")
        assert a.close_dates_for(2026) == {"household": HOUSEHOLD_CLOSE, "village": VILLAGE_CLOSE,
                                           "township": TOWNSHIP_CLOSE}
    # Publicity of the household ratings published on 2026-12-31: 5 working days. 2027 is beyond
    # chinese_calendar's data, so the admin enters 元旦 (2027-01-01, a Friday): 1-4, 1-5, 1-6, 1-7, 1-8.
    cal = WorkCalendar(extra_holidays=frozenset({date(2027, 1, 1)}))
    assert publicity_end(CAT, HOUSEHOLD_CLOSE, cal) == date(2027, 1, 8)
    assert publicity_end(CAT, HOUSEHOLD_CLOSE, WorkCalendar()) == date(2027, 1, 7)   # without it: 1-1 counts


# --- properties ----------------------------------------------------------------------------------------------

AS_OF = HOUSEHOLD_CLOSE
_member_points = st.integers(min_value=-6000, max_value=3000)
_charges = st.integers(min_value=-1000, max_value=0)
_births = st.dates(min_value=date(1930, 1, 1), max_value=AS_OF)


def _member(pid: int, points: int, charge: int, birth: date, head: bool) -> MemberInput:
    entries = [EntryView(1, points + charge, date(2026, 1, 1), date(2027, 6, 1), None)]
    return MemberInput(pid, birth, head, standing(CAT, entries, AS_OF), charge, False)


@st.composite
def _households(draw):
    n = draw(st.integers(min_value=1, max_value=6))
    rows = [(draw(_member_points), draw(_charges), draw(_births)) for _ in range(n)]
    return rows, draw(st.integers(min_value=-600, max_value=600))


def _rate(rows, own: int) -> HouseholdRating:
    members = [_member(i, p, c, b, i == 0) for i, (p, c, b) in enumerate(rows)]
    return rate_household(CAT, 1, members, own, AS_OF)


@settings(max_examples=150, deadline=None)
@given(_households(), st.data())
def test_raising_a_member_never_lowers_the_household(household, data):
    rows, own = household
    i = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    raise_by = data.draw(st.integers(min_value=0, max_value=3000))
    before = _rate(rows, own)
    raised = list(rows)
    raised[i] = (rows[i][0] + raise_by, rows[i][1], rows[i][2])
    after = _rate(raised, own)
    assert after.score >= before.score
    assert 0 <= before.score <= 1000 and 0 <= after.score <= 1000
    # More household points never lower it either; a worse family charge never raises it.
    assert _rate(rows, own + raise_by).score >= before.score
    worse = list(rows)
    worse[i] = (rows[i][0], rows[i][1] - raise_by, rows[i][2])
    assert _rate(worse, own).score <= before.score


@settings(max_examples=100, deadline=None)
@given(_households())
def test_household_grade_follows_score_and_disqualifiers(household):
    rows, own = household
    r = _rate(rows, own)
    bands = {"AAA": 800, "AA": 700, "A": 600}
    expected = next((g for g, low in bands.items() if r.score >= low), "none")
    has_d = any(m["personal_grade"] == "D" for m in r.explanation["members"])
    assert r.grade == ("none" if has_d else expected)
    assert r.is_credit_household == (r.grade != "none")


def _fake_household(hid: int, credit: bool, serious: bool) -> HouseholdRating:
    return HouseholdRating(hid, AS_OF, "2026.2", 650 if credit else 500, "A" if credit else "none", credit,
                           serious, "", {})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=40))
def test_village_flags_are_consistent_with_counts(flags):
    households = [_fake_household(i, credit, serious) for i, (credit, serious) in enumerate(flags)]
    v = rate_village(CAT, 1, households, VILLAGE_CLOSE)
    total = len(flags)
    credit = sum(c for c, _ in flags)
    serious = sum(s for _, s in flags)
    assert (v.households, v.credit_households, v.serious_dishonesty_households) == (total, credit, serious)
    assert v.share_permille == (credit * 1000 // total if total else 0)
    assert v.is_credit_village == (total > 0 and credit * 100 >= 70 * total and serious <= 3)
    expected_stars = 0
    if v.is_credit_village:
        expected_stars = 3 if credit * 100 >= 90 * total else 2 if credit * 100 >= 80 * total else 1
    assert v.stars == expected_stars
    assert sum(v.grade_counts.values()) == total and v.grade_counts["A"] == credit


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=60))
def test_exactly_70_percent_qualifies_one_household_fewer_does_not(k):
    total = 10 * k
    exact = [_fake_household(i, i < 7 * k, False) for i in range(total)]
    assert rate_village(CAT, 1, exact, VILLAGE_CLOSE).is_credit_village
    short = [_fake_household(i, i < 7 * k - 1, False) for i in range(total)]
    assert not rate_village(CAT, 1, short, VILLAGE_CLOSE).is_credit_village
    # 3 serious-dishonesty households are allowed, the 4th is not.
    assert rate_village(CAT, 1, [replace(h, serious_dishonesty=i < 3) for i, h in enumerate(exact)],
                        VILLAGE_CLOSE).is_credit_village == (total >= 3)
    four = [replace(h, serious_dishonesty=i < 4) for i, h in enumerate(exact)]
    assert not rate_village(CAT, 1, four, VILLAGE_CLOSE).is_credit_village


def _fake_village(vid: int, credit: bool) -> VillageRating:
    return VillageRating(vid, VILLAGE_CLOSE, "2026.2", 10, 7 if credit else 5, 0, 700 if credit else 500, credit,
                         1 if credit else 0, {}, "", {})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), max_size=40))
def test_township_flag_is_consistent_with_counts(flags):
    t = rate_township(CAT, 1, [_fake_village(i, f) for i, f in enumerate(flags)], TOWNSHIP_CLOSE)
    total, credit = len(flags), sum(flags)
    assert (t.villages, t.credit_villages) == (total, credit)
    assert t.share_permille == (credit * 1000 // total if total else 0)
    assert t.is_credit_township == (total > 0 and credit * 100 >= 50 * total)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=50))
def test_township_exactly_half_qualifies(k):
    half = [_fake_village(i, i < k) for i in range(2 * k)]
    assert rate_township(CAT, 1, half, TOWNSHIP_CLOSE).is_credit_township
    fewer = [_fake_village(i, i < k - 1) for i in range(2 * k)]
    assert not rate_township(CAT, 1, fewer, TOWNSHIP_CLOSE).is_credit_township


# --- validation of the ratings section, with file and line ---------------------------------------------------




def test_broken_ratings_are_reported_at_file_and_line(tmp_path):
    d = copy_catalogue(tmp_path)
    v1, v2 = d / "2026-01-01.yaml", d / "2026-07-01.yaml"
    rising = edit(v1, "{personal: 1030, household: 70}", "{personal: 1030, household: 85}")
    unknown_item = edit(v1, "      - DOMESTIC-VIOLENCE\n", "      - DOMESTIC-VIOLENCE\n      - NO-SUCH-ITEM\n") + 1
    overlap = edit(v1, "{grade: AA, min: 70, max: 79}", "{grade: AA, min: 70, max: 80}")
    share = edit(v1, "credit_household_share: 70", "credit_household_share: 170")
    close = edit(v1, 'village: "01-31"', 'village: "02-30"')
    positive = edit(v2, "      - FILIAL-NEGLECT\n", "      - VOL-HOURS\n")
    gap = edit(v2, "credit_grades: [AAA, AA, A]", "credit_grades: [AAA, A]")
    person_grade = edit(v2, "disqualifying_member_grades: [D]", "disqualifying_member_grades: [E]")
    stars = edit(v2, "- {stars: 2, min_share: 80}", "- {stars: 2, min_share: 95}")
    extra = edit(v2, "    credit_village_share: 50", "    credit_village_share: 50\n    colour: red") + 1
    order = edit(v2, '{household: "12-31", village: "01-31", township: "02-28"}',
                  '{household: "12-31", village: "02-28", township: "01-31"}')
    levels = edit(v2, "second_approver_for: [village, township]", "second_approver_for: [village, county]")

    problems = check_catalogue_dir(d)
    found = {(Path(p.file).name, p.line, p.path) for p in problems}
    expected = {
        ("2026-01-01.yaml", rising, "ratings.household.member_scale[2].household"),
        ("2026-01-01.yaml", unknown_item, "ratings.household.family_charge_items[2]"),
        ("2026-01-01.yaml", overlap, "ratings.household.grades[1].max"),
        ("2026-01-01.yaml", share, "ratings.village.credit_household_share"),
        ("2026-01-01.yaml", close, "ratings.approval.close_dates.village"),
        ("2026-07-01.yaml", positive, "ratings.household.family_charge_items[0]"),
        ("2026-07-01.yaml", gap, "ratings.household.credit_grades"),
        ("2026-07-01.yaml", person_grade, "ratings.household.disqualifying_member_grades[0]"),
        ("2026-07-01.yaml", stars, "ratings.village.stars[1]"),
        ("2026-07-01.yaml", extra, "ratings.township.colour"),
        ("2026-07-01.yaml", order, "ratings.approval.close_dates.township"),
        ("2026-07-01.yaml", levels, "ratings.approval.second_approver_for[1]"),
    }
    assert expected <= found, sorted(found)
    assert len(problems) == len(expected), [str(p) for p in problems]
    by_path = {(Path(p.file).name, p.path): p for p in problems}
    assert "升高" in by_path[("2026-01-01.yaml", "ratings.household.member_scale[2].household")].message_zh
    assert "NO-SUCH-ITEM" in by_path[("2026-01-01.yaml", "ratings.household.family_charge_items[2]")].message_zh
    assert "overlaps" in by_path[("2026-01-01.yaml", "ratings.household.grades[1].max")].message_en
    assert "negative" in by_path[("2026-07-01.yaml", "ratings.household.family_charge_items[0]")].message_en
    assert "最高的若干档" in by_path[("2026-07-01.yaml", "ratings.household.credit_grades")].message_zh
    assert "顺序" in by_path[("2026-07-01.yaml", "ratings.approval.close_dates.township")].message_zh
    assert str(by_path[("2026-07-01.yaml", "ratings.township.colour")]).startswith(f"{d / '2026-07-01.yaml'}:{extra}:")
    with pytest.raises(CatalogueError):
        load_catalogue_dir(d)


def test_ratings_need_every_part_and_valid_item_kinds(tmp_path):
    d = copy_catalogue(tmp_path)
    v1 = d / "2026-01-01.yaml"
    text = v1.read_text(encoding="utf-8")
    start = text.index("  approval:\n")
    end = text.index("\nitems:\n")
    v1.write_text(text[:start] + text[end + 1:], encoding="utf-8")
    ratings_line = edit(v1, "ratings:\n", "ratings:\n")
    direct = edit(v1, "      - FILIAL-NEGLECT\n", "      - JUDGMENT-DEFAULTER\n")
    household_only = edit(v1, "serious_dishonesty_items: [JUDGMENT-DEFAULTER, WAGE-ARREARS-LISTED]",
                           "serious_dishonesty_items: [ENV-COURTYARD]")
    problems = [p for p in check_catalogue_dir(d) if p.file.endswith("2026-01-01.yaml")]
    got = {(p.line, p.path): p for p in problems}
    assert (ratings_line, "ratings") in got and "approval" in got[(ratings_line, "ratings")].message_en
    assert "direct-grade" in got[(direct, "ratings.household.family_charge_items[0]")].message_en
    serious = [p for p in problems if p.path == "ratings.village.serious_dishonesty_items[0]"]
    assert len(serious) == 2 and {p.line for p in serious} == {household_only}
    assert "negative" in serious[0].message_en and "persons" in serious[1].message_en
    assert len(problems) == 4, [str(p) for p in problems]


def test_diff_shows_ratings_changes(tmp_path):
    assert [c for c in diff_versions(V1, V2) if c.area == "ratings"] == []    # same numbers in both versions
    path = copy_catalogue(tmp_path) / "2026-07-01.yaml"
    edit(path, "credit_household_share: 70", "credit_household_share: 75")
    edit(path, "publicity_working_days: 5", "publicity_working_days: 7")
    edit(path, "max_serious_dishonesty: 3", "max_serious_dishonesty: 0")
    edit(path, "{grade: AAA, min: 80}", "{grade: AAA, min: 85}")
    edit(path, "{grade: AA, min: 70, max: 79}", "{grade: AA, min: 70, max: 84}")
    edit(path, "{personal: 1050, household: 80}", "{personal: 1050, household: 85}")   # AAA starts at 85 now
    edit(path, "- {stars: 1, min_share: 70}", "- {stars: 1, min_share: 75}")
    edit(path, "second_approver_for: [village, township]", "second_approver_for: [township]")
    changed = load_version_file(path)
    lines = [(c.kind, c.area, c.field, c.old, c.new) for c in diff_versions(V2, changed)]
    assert lines == [
        ("changed", "ratings", "household.member_scale.1050", "80", "85"),
        ("changed", "ratings", "household.grades.AAA", "≥80", "≥85"),
        ("changed", "ratings", "village.credit_household_share", "≥70%", "≥75%"),
        ("changed", "ratings", "village.max_serious_dishonesty", "3", "0"),
        ("changed", "ratings", "village.stars.1", "≥70%", "≥75%"),
        ("changed", "ratings", "approval.second_approver_for", "village, township", "township"),
        ("changed", "ratings", "approval.publicity_working_days", "5", "7"),
    ]
    texts = {c.field: c for c in diff_versions(V2, changed)}
    assert texts["village.credit_household_share"].text_zh == "评级规则：信用村·信用户占比下限 ≥70% → ≥75%"
    assert texts["approval.publicity_working_days"].text_en == "ratings: approval.publicity_working_days 5 → 7"
