"""村规民约积分 — a village's own points items (积分制), within the limits its county sets. Pure: no I/O, no clock.

Decisions (issue 12 item 4):

- **County limits** (:class:`VillageLimits`): the points range of one item (tenths, e.g. −100..+100 for
  −10..+10 分), the longest validity in years, the categories a village may use and the most items a
  village's rule set may have. The categories are named by the county: any of the county catalogue's
  categories (``points_rules.model.CATEGORIES``) and any village category the county itself names
  (e.g. ``村务参与``). A village does not invent categories: what it may score is the county's
  decision, so a village item always sits under a heading the county approved.
- **Items** (:class:`VillageItem`): a fixed number of points (no levels, no tiers — a village rule is a
  simple 加分/扣分 list), a validity in whole years from the event date, a code
  ``V-<village code>-<CAPITALS-AND-DIGITS>`` (the county's codes never carry a village's code, and the
  entries live in a table of their own, so a village code can never be read as a county item). A
  deduction must need review (as in the county catalogue: a negative item is never recorded without a
  township's look at it — here: only a township admin records it).
- **Totals** (:func:`total`): the sum of the entries in force on a day — an entry counts from its
  event date for its validity; a reversed entry and its reversal both drop out. A sum over a set: the
  order of recording never changes it.
- **Not the county's grade, unless its catalogue says so**: a county catalogue version with
  ``scoring.village_points`` (``points_rules.model.VillagePointsRule``) lets the subject's :func:`total`
  count toward the county score, at most its cap either way (``points_rules.engine.standing``); without it
  they count for nothing. The limits' switch ``counts_toward_county_grade`` only makes the views *report*
  the county grade beside the village total.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Iterable

from points_rules.model import CATEGORIES
from points_rules.units import POINT_UNIT, add_years, date_zh, format_points

PREFIX = "V"
CODE_TAIL = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*", re.ASCII)
MAX_CODE_LENGTH = 48
MAX_VALIDITY_YEARS = 5  # the county catalogue's longest positive validity (national honour)
MAX_ITEM_POINTS = 50 * POINT_UNIT  # no village item may weigh more than the heaviest county deduction (−50)
MAX_ITEMS = 100
LABEL_ZH = "村规民约积分"


@dataclass(frozen=True)
class VillageLimits:
    """县级限额 — what any village of the county may put in its rule set (points in tenths)."""

    min_points: int
    max_points: int
    max_validity_years: int
    allowed_categories: tuple[str, ...]
    max_items: int
    counts_toward_county_grade: bool = False


@dataclass(frozen=True)
class VillageItem:
    """One village rule item (村规民约积分事项)."""

    code: str
    name_zh: str
    behaviour_zh: str
    category: str
    points: int  # tenths, fixed, never 0
    validity_years: int
    needs_review: bool

    def as_dict(self) -> dict:
        return {"code": self.code, "name_zh": self.name_zh, "behaviour_zh": self.behaviour_zh,
                "category": self.category, "points": self.points, "validity_years": self.validity_years,
                "needs_review": self.needs_review}


@dataclass(frozen=True)
class Problem:
    """One thing wrong, named by item (its position and code) and field, in Chinese and English."""

    item: int | None  # 0-based position in the rule set; None for the set as a whole
    code: str | None
    field: str
    message_zh: str
    message_en: str

    def as_dict(self) -> dict:
        return {"item": self.item, "code": self.code, "field": self.field, "message_zh": self.message_zh,
                "message_en": self.message_en}


def code_prefix(village_code: str) -> str:
    return f"{PREFIX}-{village_code}-"


def is_village_code(code: str) -> bool:
    """Whether ``code`` has the shape of a village item code (``V-<village code>-…``)."""
    parts = code.split("-", 2)
    return len(parts) == 3 and parts[0] == PREFIX and bool(parts[1]) and CODE_TAIL.fullmatch(parts[2]) is not None


def village_code_of(item_code: str) -> str | None:
    """The village code inside a village item code; ``None`` if it is not one."""
    return item_code.split("-", 2)[1] if is_village_code(item_code) else None


# --- the county's limits ----------------------------------------------------------------------------------


def check_limits(limits: VillageLimits) -> list[Problem]:
    """Every problem of a county's limits (empty: they may be saved)."""
    out: list[Problem] = []

    def bad(field: str, zh: str, en: str) -> None:
        out.append(Problem(None, None, field, zh, en))

    if not -MAX_ITEM_POINTS <= limits.min_points <= MAX_ITEM_POINTS:
        bad("min_points", f"单项最低分须在±{MAX_ITEM_POINTS // POINT_UNIT}分之间",
            f"min_points must lie within ±{MAX_ITEM_POINTS // POINT_UNIT} points")
    if not -MAX_ITEM_POINTS <= limits.max_points <= MAX_ITEM_POINTS:
        bad("max_points", f"单项最高分须在±{MAX_ITEM_POINTS // POINT_UNIT}分之间",
            f"max_points must lie within ±{MAX_ITEM_POINTS // POINT_UNIT} points")
    if limits.min_points >= limits.max_points:
        bad("max_points", "单项最高分须大于最低分", "max_points must be greater than min_points")
    if not 1 <= limits.max_validity_years <= MAX_VALIDITY_YEARS:
        bad("max_validity_years", f"有效期上限须为1至{MAX_VALIDITY_YEARS}年",
            f"max_validity_years must be 1 to {MAX_VALIDITY_YEARS}")
    if not limits.allowed_categories:
        bad("allowed_categories", "至少允许一个类别", "allow at least one category")
    if len(set(limits.allowed_categories)) != len(limits.allowed_categories):
        bad("allowed_categories", "类别不得重复", "categories must not repeat")
    for category in limits.allowed_categories:
        if not 2 <= len(category.strip()) <= 16 or category != category.strip():
            bad("allowed_categories", f"类别“{category}”须为2至16个字符", f"category {category!r} must be 2 to 16 characters")
    if not 1 <= limits.max_items <= MAX_ITEMS:
        bad("max_items", f"每村事项数上限须为1至{MAX_ITEMS}", f"max_items must be 1 to {MAX_ITEMS}")
    return out


def county_categories(limits: VillageLimits) -> tuple[str, ...]:
    """The allowed categories that are the county catalogue's own (the rest are village categories the county named)."""
    return tuple(c for c in limits.allowed_categories if c in CATEGORIES)


# --- a village's rule set ---------------------------------------------------------------------------------


def check_rule_set(limits: VillageLimits, village_code: str, items: Iterable[VillageItem]) -> list[Problem]:
    """Every problem of a village's rule set against the county's limits, item by item and field by
    field (empty: it may be proposed and approved)."""
    items = list(items)
    out: list[Problem] = []
    if not items:
        out.append(Problem(None, None, "items", "村规民约积分事项不能为空", "a rule set needs at least one item"))
    if len(items) > limits.max_items:
        out.append(Problem(None, None, "items", f"事项数{len(items)}超过县级上限{limits.max_items}",
                           f"{len(items)} items exceed the county's limit of {limits.max_items}"))
    prefix = code_prefix(village_code)
    seen: set[str] = set()
    low, high = format_points(limits.min_points), format_points(limits.max_points)
    for i, item in enumerate(items):
        def bad(field: str, zh: str, en: str) -> None:
            out.append(Problem(i, item.code, field, f"第{i + 1}项（{item.code}）：{zh}", f"item {i + 1} ({item.code}): {en}"))

        if not item.code.startswith(prefix) or CODE_TAIL.fullmatch(item.code[len(prefix):]) is None:
            bad("code", f"编码须为“{prefix}”加大写字母、数字和连字符", f"code must be {prefix!r} + CAPITALS-AND-DIGITS")
        elif len(item.code) > MAX_CODE_LENGTH:
            bad("code", f"编码不得超过{MAX_CODE_LENGTH}个字符", f"code may have at most {MAX_CODE_LENGTH} characters")
        if item.code in seen:
            bad("code", "编码重复", "code repeats")
        seen.add(item.code)
        if not 2 <= len(item.name_zh.strip()) <= 64:
            bad("name_zh", "名称须为2至64个字符", "name_zh must be 2 to 64 characters")
        if not 4 <= len(item.behaviour_zh.strip()) <= 500:
            bad("behaviour_zh", "须写明具体行为（4至500字）", "behaviour_zh must state the behaviour (4 to 500 characters)")
        if item.category not in limits.allowed_categories:
            bad("category", f"类别“{item.category}”不在县级允许的类别内（{'、'.join(limits.allowed_categories)}）",
                f"category {item.category!r} is not one the county allows")
        if item.points == 0:
            bad("points", "分值不能为0", "points must not be 0")
        elif not limits.min_points <= item.points <= limits.max_points:
            bad("points", f"分值{format_points(item.points)}超出县级限额（{low}至{high}分）",
                f"points {format_points(item.points)} outside the county's range {low}..{high}")
        if not 1 <= item.validity_years <= limits.max_validity_years:
            bad("validity_years", f"有效期{item.validity_years}年超出县级上限（1至{limits.max_validity_years}年）",
                f"validity {item.validity_years} years outside 1..{limits.max_validity_years}")
        if item.points < 0 and not item.needs_review:
            bad("needs_review", "扣分事项须经审核（needs_review 须为 true）", "a deduction must need review")
    return out


def canonical_json(village_code: str, effective_from: date, items: Iterable[VillageItem]) -> str:
    """The rule set as one canonical text (sorted keys, no spaces, UTF-8 characters as they are), whose
    SHA-256 is the version's fingerprint: the same rules give the same text, whoever wrote them."""
    body = {"village_code": village_code, "effective_from": effective_from.isoformat(),
            "items": [item.as_dict() for item in items]}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RuleVersion:
    """An approved rule set of a village from ``effective_from``."""

    id: int
    effective_from: date
    items: tuple[VillageItem, ...]

    def item(self, code: str) -> VillageItem | None:
        return next((i for i in self.items if i.code == code), None)


def version_in_force(versions: Iterable[RuleVersion], day: date) -> RuleVersion | None:
    """The approved version in force on ``day``: the greatest ``effective_from`` ≤ ``day`` (ties: the
    later id; the database allows one approved version per village and day anyway)."""
    candidates = [v for v in versions if v.effective_from <= day]
    return max(candidates, key=lambda v: (v.effective_from, v.id), default=None)


# --- entries and totals -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One row of ``village_points_entry`` as the rules see it."""

    id: int
    points: int
    occurred_on: date
    valid_until: date  # the first day it no longer counts
    reverses: int | None = None


def valid_until(occurred_on: date, validity_years: int) -> date:
    """Validity runs from the event date (not the recording date), as for the county's items."""
    return add_years(occurred_on, validity_years)


def in_force(entry: Entry, day: date) -> bool:
    return entry.occurred_on <= day < entry.valid_until


def cancelled(entries: Iterable[Entry]) -> frozenset[int]:
    """Ids of entries that do not count: every reversal, and every entry a reversal names."""
    entries = list(entries)
    reversed_ids = {e.reverses for e in entries if e.reverses is not None}
    return frozenset(reversed_ids | {e.id for e in entries if e.reverses is not None})


def total(entries: Iterable[Entry], day: date) -> int:
    """Village points (tenths) on ``day``: entries in force, reversed pairs left out."""
    entries = list(entries)
    gone = cancelled(entries)
    return sum(e.points for e in entries if e.id not in gone and in_force(e, day))


def explanation_zh(village_name: str, item: VillageItem, occurred_on: date, counted_cap: int | None = None) -> str:
    """Every entry says it is a village item, and of which village: never to be read as a county entry.
    ``counted_cap``: the cap (tenths) when the county's catalogue in force on the event date counts village
    points toward the county score; None when it does not."""
    until = valid_until(occurred_on, item.validity_years)
    county = ("不计入县级信用积分" if counted_cap is None else
              f"按本县积分目录计入县级信用积分（每人每户合计最多±{format_points(counted_cap, signed=False)}分）")
    return (f"{LABEL_ZH}（{village_name}）：{item.name_zh}，{format_points(item.points)}分，"
            f"{date_zh(occurred_on)}发生，有效至{date_zh(until)}前；{county}")


def reversal_explanation_zh(village_name: str, original_explanation: str, reason: str) -> str:
    return f"{LABEL_ZH}（{village_name}）：冲正——{reason}（原记录：{original_explanation}）"
