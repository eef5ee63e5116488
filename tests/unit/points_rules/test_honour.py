"""What the honour roll may show of a subject's entries (points_rules.honour): properties over
random entries of every item of the shipped catalogue, and worked cases. Expectations are
written from the rule (art. 47; the roll's categories), not from the module's helpers."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from points_rules import load_catalogue_dir
from points_rules.honour import HONOUR_CATEGORIES, Entry, honour_lines
from points_rules.model import CatalogueSet, LevelPoints, TieredPoints

SHIPPED = load_catalogue_dir(None)


def _doctored():
    """A version a county might write: a negative item filed under 表彰奖励 (撤销表彰) and a
    positive one marked 不公开 — the roll's category alone must not let either through."""
    latest = SHIPPED.versions[-1]
    items = []
    for item in latest.items:
        if item.code == "WAGE-ARREARS":
            item = replace(item, category="表彰奖励")
        if item.code == "BLOOD-DONATION":
            item = replace(item, disclosure=replace(item.disclosure, publicity="不公开"))
        items.append(item)
    return replace(latest, version="9999.1", effective_from=date(2027, 1, 1), items=tuple(items))


CATALOGUES = CatalogueSet(versions=SHIPPED.versions + (_doctored(),))
ITEMS = [(v.version, i) for v in CATALOGUES.versions for i in v.items]
BY_CODE = {(v, i.code): i for v, i in ITEMS}
SETTINGS = settings(max_examples=300, deadline=None)
days = st.dates(date(2026, 1, 1), date(2028, 12, 31))


@st.composite
def entries(draw) -> list[Entry]:
    out = []
    for n in range(draw(st.integers(0, 12))):
        version, item = draw(st.sampled_from(ITEMS))
        start = draw(days)
        level = None
        if isinstance(item.points, LevelPoints):
            level = draw(st.sampled_from([lv.key for lv in item.points.levels] + ["no-such-level"]))
        quantity = draw(st.none() | st.integers(1, 60).map(Decimal)) if isinstance(item.points, TieredPoints) else None
        out.append(Entry(entry_id=n + 1, item_code=item.code, catalogue_version=version,
                         points=draw(st.integers(-500, 300)), valid_from=start,
                         valid_until=start + timedelta(days=draw(st.integers(1, 800))),
                         occurred_on=start, level=level, quantity=quantity, counted=draw(st.booleans())))
    return out


def _shown_by_rule(e: Entry, on: date) -> bool:
    item = BY_CODE[(e.catalogue_version, e.item_code)]
    return (e.counted and e.valid_from <= on < e.valid_until and item.direction == "positive"
            and item.category in HONOUR_CATEGORIES and item.disclosure.publicity != "不公开")


@SETTINGS
@given(entries(), days)
def test_only_positive_roll_categories_in_force_and_counted_show(es, on):
    lines = honour_lines(es, CATALOGUES, on)
    allowed = {e.item_code for e in es if _shown_by_rule(e, on)}
    assert {line.item_code for line in lines} <= allowed
    for line in lines:
        assert line.category in HONOUR_CATEGORIES
        assert "分" not in line.detail_zh  # never a score


@SETTINGS
@given(entries(), days, st.randoms(use_true_random=False))
def test_order_and_duplicates_do_not_matter(es, on, rnd: random.Random):
    shuffled = list(es) + list(es[: len(es) // 2])
    rnd.shuffle(shuffled)
    assert honour_lines(shuffled, CATALOGUES, on) == honour_lines(es, CATALOGUES, on)


@SETTINGS
@given(entries(), entries(), days)
def test_adding_entries_that_may_not_show_changes_nothing(es, extra, on):
    hidden = [Entry(**{**e.__dict__, "entry_id": 1000 + e.entry_id}) for e in extra if not _shown_by_rule(e, on)]
    assert honour_lines(es + hidden, CATALOGUES, on) == honour_lines(es, CATALOGUES, on)


@SETTINGS
@given(entries(), days)
def test_a_tiered_item_is_one_line_with_the_hours_in_force(es, on):
    lines = honour_lines(es, CATALOGUES, on)
    tiered = {e.item_code for e in es if isinstance(BY_CODE[(e.catalogue_version, e.item_code)].points, TieredPoints)}
    for code in tiered:
        mine = [line for line in lines if line.item_code == code]
        counted = [e for e in es if e.item_code == code and _shown_by_rule(e, on) and e.quantity and e.points >= 0]
        assert len(mine) == (1 if counted else 0)
        if counted:
            total = sum(e.quantity for e in counted)
            assert mine[0].detail_zh.startswith(f"有效期内累计{int(total)}")


def test_worked_cases():
    on = date(2026, 12, 3)
    version = SHIPPED.version_on(on).version

    def entry(n, code, points, level=None, quantity=None, days_ago=10, counted=True):
        start = on - timedelta(days=days_ago)
        return Entry(entry_id=n, item_code=code, catalogue_version=version, points=points, valid_from=start,
                     valid_until=start + timedelta(days=365), occurred_on=start, level=level,
                     quantity=Decimal(quantity) if quantity is not None else None, counted=counted)

    lines = honour_lines([
        entry(1, "HONOUR", 50, level="county"),
        entry(2, "VOL-HOURS", 0, quantity=8, days_ago=40),      # below the first tier: still volunteering
        entry(3, "VOL-HOURS", 20, quantity=4, days_ago=20),
        entry(4, "WAGE-ARREARS", -300, level="months_2_to_6"),   # negative
        entry(5, "FILIAL-PIETY", 30),                            # positive, not a roll category
        entry(6, "HONOUR", 300, level="national", counted=False),  # reversed
        entry(7, "CHARITY-DONATION", 30, level="from_1000", days_ago=400),  # lapsed
        entry(8, "BLOOD-DONATION", 0),                           # scored nothing (a larger item won)
    ], CATALOGUES, on)
    assert [(line.title_zh, line.detail_zh) for line in lines] == [
        ("表彰奖励（县级）", "2026年11月"), ("志愿服务（累计时长）", "有效期内累计12小时")]
    doctored = [replace(e, catalogue_version="9999.1") for e in (entry(1, "WAGE-ARREARS", 50, level="months_2_to_6"),
                                                                  entry(2, "BLOOD-DONATION", 30))]
    assert honour_lines(doctored, CATALOGUES, on) == []
