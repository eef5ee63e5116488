"""The household rule agrees with the personal one (issue 8, point 6), and the villager's explanations
speak the villager's words (point 7).

Shipped ``member_scale`` (personal → household points, straight lines between, flat beyond):
1100 → 100 · 1050 → 80 · 1030 → 70 · 1000 → 65 · 960 → 60 · 850 → 50 · 600 → 20 · 400 → 0.
"""

from __future__ import annotations

import re
from datetime import date
from fractions import Fraction
from math import floor
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from points_rules import (
    EntryView, MemberInput, check_catalogue_dir, rate_household, rate_township, rate_village,
    standing,
)

from .test_ratings import CAT, HOUSEHOLD_CLOSE, TOWNSHIP_CLOSE, VILLAGE_CLOSE, household_points, person
from .catalogue_copies import copy_catalogue, edit

FIRST_HALF = date(2026, 6, 30)       # rated under 2026.1
RATING_DAYS = (FIRST_HALF, HOUSEHOLD_CLOSE)


# --- the worked example of the README ---------------------------------------------------------------------


def test_the_readme_worked_example():
    """张家: 户主 990 (A), 配偶 965 (A), a child of 12 at 1010 (not counted); the household a 清洁户 (+1).

    990 → 60 + (990 − 960) × 5/40 = 63.75;  965 → 60 + 5 × 5/40 = 60.625
    mean = (63.75 + 60.625) / 2 = 62.1875;  + 1 = 63.1875 → 63.2 → A 信用户
    (the old rule: 65 + 0.5 × (−10 − 35)/2 + 1 = 54.75 → 54.8, not a credit household.)"""
    head = person(1, date(1968, 3, 1), [("WAGE-ARREARS", date(2026, 4, 1), {"level": "up_to_2_months"})], head=True)
    spouse = person(2, date(1970, 9, 1), [("WAGE-ARREARS", date(2026, 3, 1), {"level": "months_2_to_6"}),   # −30
                                          ("ENV-DUMPING", date(2026, 4, 1)),                                # −2
                                          ("ENV-DUMPING", date(2026, 5, 1)),                                # −4 (repeat)
                                          ("HONOUR", date(2026, 6, 1), {"level": "village"})])              # +1
    child = person(3, date(2014, 2, 1), [("HONOUR", date(2026, 6, 1), {"level": "city"})])
    assert [m.standing.score for m in (head, spouse, child)] == [9900, 9650, 10100]
    assert {m.standing.grade for m in (head, spouse)} == {"A"}
    courtyard = household_points([("ENV-COURTYARD", date(2026, 9, 1), {"level": "clean_household"})])
    r = rate_household(CAT, 1, [head, spouse, child], courtyard, HOUSEHOLD_CLOSE)
    assert (r.explanation["member_mean"], r.explanation["exact_score"]) == ("621.875", "631.875")
    assert (r.score, r.grade, r.is_credit_household) == (632, "A", True)
    assert "户主（58岁）个人积分990分（A级），折合63.75分；成员（56岁）个人积分965分（A级），折合约60.63分" in r.explanation_zh
    assert "户得分 = 成员折算平均约62.19 + 1 = 约63.19分，保留一位小数为63.2分" in r.explanation_zh

    # The same family, but the head also neglected his parents (FILIAL-NEGLECT −20, a family charge):
    # personal 970 (still A), scaled from 990 as before; the household answers for the −20 in full:
    # 62.1875 − 20 + 1 = 43.1875 → 43.2, not a credit household.
    neglect = person(1, date(1968, 3, 1), [("WAGE-ARREARS", date(2026, 4, 1), {"level": "up_to_2_months"}),
                                           ("FILIAL-NEGLECT", date(2026, 7, 1))], head=True)
    assert (neglect.standing.score, neglect.standing.grade, neglect.family_charge) == (9700, "A", -200)
    r = rate_household(CAT, 1, [neglect, spouse, child], courtyard, HOUSEHOLD_CLOSE)
    assert (r.score, r.grade, r.is_credit_household) == (432, "none", False)

    # Two AA members: 1040 → 70 + 10 × 0.5 = 75, 1035 → 72.5; mean 73.75 → 73.8 = AA.
    aa = [person(1, date(1970, 1, 1), [("HONOUR", date(2026, 3, 1), {"level": "provincial"}),
                                       ("HONOUR", date(2026, 4, 1), {"level": "city"}),
                                       ("HONOUR", date(2026, 5, 1), {"level": "city"})], head=True),
          person(2, date(1971, 1, 1), [("HONOUR", date(2026, 3, 1), {"level": "national"}),
                                       ("HONOUR", date(2026, 4, 1), {"level": "county"})])]
    assert [m.standing.score for m in aa] == [10400, 10350]
    r = rate_household(CAT, 1, aa, 0, HOUSEHOLD_CLOSE)
    assert (r.score, r.grade) == (738, "AA")


def test_the_scale_puts_band_starts_on_band_starts():
    for version in CAT.versions:
        h = version.rating_rules().household
        assert [h.scale(p) for p in (11500, 11000, 10500, 10300, 10000, 9600, 8500, 6000, 4000, 0)] == [
            1000, 1000, 800, 700, 650, 600, 500, 200, 0, 0]
        assert h.scale(9900) == Fraction(1275, 2) and h.scale(10010) == Fraction(1955, 3)   # 63.75, 65.166…


# --- the property: all adults A or better → a credit household ------------------------------------------


def _member(pid: int, points: int, birth: date, head: bool, as_of: date) -> MemberInput:
    entries = [EntryView(1, points, date(2026, 1, 1), date(2027, 6, 1), None)]
    return MemberInput(pid, birth, head, standing(CAT, entries, as_of), 0, False)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(RATING_DAYS),
       st.lists(st.integers(min_value=-400, max_value=3000), min_size=1, max_size=6),      # adults ≥ 960
       st.lists(st.integers(min_value=-4000, max_value=3000), max_size=4),                 # children (not D)
       st.integers(min_value=0, max_value=600),                                            # own entries ≥ 0
       st.data())
def test_all_adults_a_or_better_make_a_credit_household(as_of, adults, children, own, data):
    rules = CAT.version_on(as_of).rating_rules().household
    births = [data.draw(st.dates(min_value=date(1930, 1, 1), max_value=date(as_of.year - 18, as_of.month, 1)))
              for _ in adults]
    kid_births = [data.draw(st.dates(min_value=date(as_of.year - 17, 1, 1), max_value=as_of)) for _ in children]
    members = [_member(i, p, b, i == 0, as_of) for i, (p, b) in enumerate(zip(adults + children, births + kid_births))]
    assert all(m.standing.grade in ("AAA", "AA", "A") for m in members[:len(adults)])
    r = rate_household(CAT, 1, members, own, as_of)
    assert r.grade in rules.credit_grades and r.is_credit_household, r.explanation
    # … and members all AA or better make at least an AA household, all AAA an AAA one.
    if min(adults) >= 300:
        assert r.grade in ("AAA", "AA")
    if min(adults) >= 500:
        assert r.grade == "AAA"


def _clamped(exact: Fraction) -> int:
    return max(0, min(1000, floor(exact + Fraction(1, 2))))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=-400, max_value=3000), min_size=1, max_size=4),
       st.integers(min_value=1, max_value=300), st.integers(min_value=1, max_value=300))
def test_family_charges_and_own_deductions_still_move_the_score(adults, charge, deduction):
    """On top of the scaled members, a family charge costs the household its full size, and so does a
    deduction of its own: the A floor above holds only without them."""
    members = [_member(i, p, date(1970, 1, 1), i == 0, HOUSEHOLD_CLOSE) for i, p in enumerate(adults)]
    clean = rate_household(CAT, 1, members, 0, HOUSEHOLD_CLOSE)
    exact = Fraction(clean.explanation["exact_score"])
    assert clean.score == _clamped(exact)
    entries = [EntryView(1, adults[0] - charge, date(2026, 1, 1), date(2027, 6, 1), None)]
    members[0] = MemberInput(0, date(1970, 1, 1), True, standing(CAT, entries, HOUSEHOLD_CLOSE), -charge, False)
    charged = rate_household(CAT, 1, members, 0, HOUSEHOLD_CLOSE)
    assert charged.explanation["member_mean"] == clean.explanation["member_mean"]   # not scaled, not averaged
    assert charged.score == _clamped(exact - charge)
    own = rate_household(CAT, 1, members, -deduction, HOUSEHOLD_CLOSE)
    assert own.score == _clamped(exact - charge - deduction)


# --- the loader keeps that property for any county's numbers ---------------------------------------------




def test_a_scale_that_disagrees_with_the_personal_grades_is_a_catalogue_problem(tmp_path):
    d = copy_catalogue(tmp_path)
    v1, v2 = d / "2026-01-01.yaml", d / "2026-07-01.yaml"
    # 2026.1: the start of personal A worth 55 — an all-A household could fall below 60.
    a_low = edit(v1, "{personal: 960, household: 60}", "{personal: 960, household: 55}")
    scale_line = edit(v1, "    member_scale:", "    member_scale:")
    # 2026.2: the start of personal AA worth 68 (below household AA 70).
    edit(v2, "{personal: 1030, household: 70}", "{personal: 1030, household: 68}")
    problems = check_catalogue_dir(d)
    got = {(Path(p.file).name, p.line, p.path): p for p in problems}
    assert len(problems) == 2, [str(p) for p in problems]
    a = got[("2026-01-01.yaml", scale_line, "ratings.household.member_scale")]
    assert a.message_zh == ("个人A级的最低分960分折算为户分55分，低于最低信用户等级分数线60分："
                            "全家都是个人A级的农户会评不到这一档")
    assert "personal grade A (960) is worth 55 household points" in a.message_en
    assert a_low != scale_line
    aa = next(p for p in problems if p.file.endswith("2026-07-01.yaml") and p.path == "ratings.household.member_scale")
    assert "个人AA级的最低分1030分折算为户分68分，低于户AA级分数线70分" in aa.message_zh


def test_the_scale_must_cover_the_base_and_have_two_points(tmp_path):
    d = copy_catalogue(tmp_path)
    v1 = d / "2026-01-01.yaml"
    text = v1.read_text(encoding="utf-8")
    start = text.index("      - {personal: 1100, household: 100}\n")
    end = text.index("      - {personal: 400, household: 0}\n") + len("      - {personal: 400, household: 0}\n")
    v1.write_text(text[:start] + "      - {personal: 1100, household: 100}\n" + text[end:], encoding="utf-8")
    problems = [p for p in check_catalogue_dir(d) if p.file.endswith("2026-01-01.yaml")]
    assert [p.path for p in problems] == ["ratings.household.member_scale"]
    assert "至少需要两个点" in problems[0].message_zh
    copy_catalogue(tmp_path / "again")
    v1 = tmp_path / "again" / "catalogue" / "2026-01-01.yaml"
    text = v1.read_text(encoding="utf-8")
    start = text.index("      - {personal: 1000, household: 65}")
    end = text.index("    family_charge_items:")
    v1.write_text(text[:start] + text[end:], encoding="utf-8")     # the scale now ends at 1030 → 70
    problems = [p for p in check_catalogue_dir(tmp_path / "again" / "catalogue") if p.file.endswith("2026-01-01.yaml")]
    assert [p.message_zh for p in problems] == ["对照表须覆盖个人基础分1000分"]
    d = copy_catalogue(tmp_path / "third")
    order = edit(d / "2026-07-01.yaml", "{personal: 600, household: 20}", "{personal: 860, household: 20}")
    problems = check_catalogue_dir(d)
    assert [(p.line, p.path) for p in problems] == [(order, "ratings.household.member_scale[6].personal")]
    assert "从高到低" in problems[0].message_zh


# --- words a villager understands -------------------------------------------------------------------------

_ID_PATTERNS = (re.compile(r"编号\s*\d"), re.compile(r"第\s*\d+\s*(号|户|村|位|名)"), re.compile(r"[（(]\s*\d{3,}\s*[)）]"))
_ALLOWED_ASCII = {"AAA", "AA", "A", "B", "C", "D"}     # grade names the villager is told (AAA级信用户, D级)


def _villager_words(text: str, ids: set[int]) -> None:
    for pattern in _ID_PATTERNS:
        assert not pattern.search(text), (pattern.pattern, text)
    words = set(re.findall(r"[A-Za-z_]+", text))
    assert words <= _ALLOWED_ASCII, (words - _ALLOWED_ASCII, text)
    assert "none" not in text.lower()
    for i in ids:
        assert str(i) not in text, (i, text)


_ids = st.integers(min_value=7_000_001, max_value=7_999_999)


@st.composite
def _any_household(draw, as_of: date):
    n = draw(st.integers(min_value=0, max_value=5))
    pids = draw(st.lists(_ids, min_size=n, max_size=n, unique=True))
    members = []
    for i, pid in enumerate(pids):
        points = draw(st.integers(min_value=-6000, max_value=3000))
        charge = draw(st.sampled_from([0, 0, -200, -300]))
        entries = [EntryView(1, points + charge, date(2026, 1, 1), date(2027, 6, 1), None)]
        if draw(st.integers(0, 6)) == 0:
            entries.append(EntryView(2, 0, date(2026, 2, 1), date(2031, 2, 1), draw(st.sampled_from(["B", "C", "D"]))))
        birth = draw(st.dates(min_value=date(1930, 1, 1), max_value=as_of))
        members.append(MemberInput(pid, birth, i == 0 and draw(st.booleans()), standing(CAT, entries, as_of), charge,
                                   draw(st.integers(0, 8)) == 0))
    return members, draw(st.integers(min_value=-600, max_value=600))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(RATING_DAYS), st.data())
def test_explanations_have_no_ids_and_no_english_tokens(as_of, data):
    hid = data.draw(_ids)
    members, own = data.draw(_any_household(as_of))
    r = rate_household(CAT, hid, members, own, as_of)
    _villager_words(r.explanation_zh, {hid} | {m.person_id for m in members})
    village_day = VILLAGE_CLOSE if as_of == HOUSEHOLD_CLOSE else as_of
    township_day = TOWNSHIP_CLOSE if as_of == HOUSEHOLD_CLOSE else as_of
    vid, tid = data.draw(_ids), data.draw(_ids)
    v = rate_village(CAT, vid, [r], village_day)
    _villager_words(v.explanation_zh, {vid, hid})
    t = rate_township(CAT, tid, [v], township_day)
    _villager_words(t.explanation_zh, {tid, vid})
    _villager_words(rate_village(CAT, vid, [], village_day).explanation_zh, {vid})
    _villager_words(rate_township(CAT, tid, [], township_day).explanation_zh, {tid})
