"""村规民约积分 as pure rules: the limits check names every item and field, and a total is a sum over a set."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings, strategies as st

from points_rules import village_rules as vr

LIMITS = vr.VillageLimits(min_points=-100, max_points=100, max_validity_years=2,
                          allowed_categories=("环境卫生", "邻里互助", "村务参与"), max_items=5)
VILLAGE = "620702001001"


def item(**changes) -> vr.VillageItem:
    base = dict(code=f"V-{VILLAGE}-YARD", name_zh="庭院整洁", behaviour_zh="庭院干净整洁，经评比获评",
                category="环境卫生", points=20, validity_years=1, needs_review=False)
    return vr.VillageItem(**{**base, **changes})


def test_a_fitting_rule_set_has_no_problem():
    assert vr.check_rule_set(LIMITS, VILLAGE, [item(), item(code=f"V-{VILLAGE}-FIGHT", points=-50,
                                                             needs_review=True, category="邻里互助")]) == []


def test_every_problem_is_named_by_item_and_field():
    problems = vr.check_rule_set(LIMITS, VILLAGE, [
        item(points=150),                                          # over the range
        item(code="YARD-2", category="赌博", validity_years=3),   # bad code, category, validity
        item(code=f"V-{VILLAGE}-DUMP", points=-20, needs_review=False),
    ])
    got = {(p.item, p.field) for p in problems}
    assert got == {(0, "points"), (1, "code"), (1, "category"), (1, "validity_years"), (2, "needs_review")}
    first = next(p for p in problems if p.item == 0)
    assert f"V-{VILLAGE}-YARD" in first.message_zh and "+15" in first.message_zh and "-10至+10" in first.message_zh


def test_another_villages_code_and_duplicates_and_count():
    items = [item(code="V-620702001002-YARD")] + [item()] * 5
    fields = [(p.item, p.field) for p in vr.check_rule_set(LIMITS, VILLAGE, items)]
    assert (None, "items") in fields and (0, "code") in fields and (2, "code") in fields


def test_village_codes():
    assert vr.is_village_code(f"V-{VILLAGE}-YARD-CLEAN") and vr.village_code_of(f"V-{VILLAGE}-YARD") == VILLAGE
    assert not vr.is_village_code("VOLUNTEER-HOURS") and vr.village_code_of("ENV-COURTYARD") is None


def test_limits_check():
    assert vr.check_limits(LIMITS) == []
    bad = vr.VillageLimits(min_points=10, max_points=10, max_validity_years=9, allowed_categories=(), max_items=0)
    assert {p.field for p in vr.check_limits(bad)} == {"max_points", "max_validity_years", "allowed_categories",
                                                       "max_items"}
    assert vr.county_categories(LIMITS) == ("环境卫生", "邻里互助")


def test_canonical_json_is_stable_and_hashed():
    a = vr.canonical_json(VILLAGE, date(2027, 1, 1), [item()])
    assert a == vr.canonical_json(VILLAGE, date(2027, 1, 1), [item()]) and "庭院整洁" in a and " " not in a
    assert vr.sha256_hex(a) != vr.sha256_hex(vr.canonical_json(VILLAGE, date(2027, 1, 2), [item()]))


def test_version_in_force():
    v1 = vr.RuleVersion(1, date(2026, 1, 1), (item(),))
    v2 = vr.RuleVersion(2, date(2026, 7, 1), (item(points=30),))
    assert vr.version_in_force([v2, v1], date(2025, 12, 31)) is None
    assert vr.version_in_force([v2, v1], date(2026, 6, 30)) is v1
    assert vr.version_in_force([v1, v2], date(2026, 7, 1)) is v2


def test_explanation_says_village():
    text = vr.explanation_zh("红星村", item(), date(2026, 3, 1))
    assert text.startswith("村规民约积分（红星村）：庭院整洁，+2分") and "2027年3月1日" in text
    assert text.endswith("不计入县级信用积分")
    counted = vr.explanation_zh("红星村", item(), date(2026, 3, 1), counted_cap=20)
    assert counted.startswith("村规民约积分（红星村）") and counted.endswith("计入县级信用积分（每人每户合计最多±2分）")


# --- hypothesis -----------------------------------------------------------------------------------------------

points = st.integers(min_value=-600, max_value=600)
items_st = st.builds(
    vr.VillageItem, code=st.sampled_from([f"V-{VILLAGE}-A", f"V-{VILLAGE}-B1", "V-X-A", "BAD", f"V-{VILLAGE}-"]),
    name_zh=st.sampled_from(["庭院整洁", "", "好"]), behaviour_zh=st.sampled_from(["庭院干净整洁", "短"]),
    category=st.sampled_from(["环境卫生", "村务参与", "赌博"]), points=points,
    validity_years=st.integers(min_value=-1, max_value=7), needs_review=st.booleans())
limits_st = st.builds(
    lambda low, span, years, cats, n: vr.VillageLimits(low, low + span, years, cats, n),
    st.integers(min_value=-200, max_value=0), st.integers(min_value=1, max_value=300),
    st.integers(min_value=1, max_value=5), st.sampled_from([("环境卫生",), ("环境卫生", "村务参与")]),
    st.integers(min_value=1, max_value=6))


def _fits(limits: vr.VillageLimits, it: vr.VillageItem) -> bool:
    return (it.code.startswith(vr.code_prefix(VILLAGE)) and len(it.code) > len(vr.code_prefix(VILLAGE))
            and 2 <= len(it.name_zh) and 4 <= len(it.behaviour_zh) and it.category in limits.allowed_categories
            and it.points != 0 and limits.min_points <= it.points <= limits.max_points
            and 1 <= it.validity_years <= limits.max_validity_years and (it.points > 0 or it.needs_review))


@settings(max_examples=300)
@given(limits_st, st.lists(items_st, max_size=8))
def test_the_check_passes_exactly_the_sets_that_fit(limits, items):
    problems = vr.check_rule_set(limits, VILLAGE, items)
    codes = [i.code for i in items]
    fits = (1 <= len(items) <= limits.max_items and len(set(codes)) == len(codes)
            and all(_fits(limits, i) for i in items))
    assert (problems == []) == fits
    for p in problems:  # every problem names its item (or the set) and a field, in Chinese
        assert p.field and p.message_zh and (p.item is None or 0 <= p.item < len(items))
        if p.item is not None:
            assert items[p.item].code in p.message_zh
    for i, it in enumerate(items):  # an item out of range is always named, with the field
        if it.points != 0 and not limits.min_points <= it.points <= limits.max_points:
            assert (i, "points") in {(p.item, p.field) for p in problems}


day = st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31))


@st.composite
def ledgers(draw):
    n = draw(st.integers(min_value=0, max_value=12))
    entries = []
    for i in range(1, n + 1):
        occurred = draw(day)
        entries.append(vr.Entry(i, draw(points.filter(bool)), occurred, vr.valid_until(occurred, draw(
            st.integers(min_value=1, max_value=5)))))
    for original in draw(st.lists(st.sampled_from(entries), unique_by=lambda e: e.id, max_size=4)) if entries else []:
        entries.append(vr.Entry(len(entries) + 1, -original.points, original.occurred_on, original.valid_until,
                                reverses=original.id))
    return entries


@settings(max_examples=300)
@given(ledgers(), day, st.randoms(use_true_random=False))
def test_the_order_of_events_never_changes_a_total(entries, on, rnd):
    shuffled = list(entries)
    rnd.shuffle(shuffled)
    assert vr.total(shuffled, on) == vr.total(entries, on)
    gone = vr.cancelled(entries)
    assert vr.total(entries, on) == sum(e.points for e in entries if e.id not in gone
                                        and e.occurred_on <= on < e.valid_until)


@given(ledgers())
def test_a_reversed_entry_never_counts(entries):
    reversed_ids = {e.reverses for e in entries if e.reverses}
    for on in {e.occurred_on for e in entries}:
        assert vr.total([e for e in entries if e.id not in reversed_ids and e.reverses is None], on) == \
            vr.total(entries, on)


def test_validity_from_the_event_date():
    e = vr.Entry(1, 20, date(2026, 2, 28), vr.valid_until(date(2026, 2, 28), 1))
    assert vr.total([e], date(2027, 2, 27)) == 20 and vr.total([e], date(2027, 2, 28)) == 0
    assert vr.total([e], date(2026, 2, 28) - timedelta(days=1)) == 0
