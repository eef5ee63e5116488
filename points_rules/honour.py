"""红榜 — which ledger entries are positive information a public honour roll may show (art. 47).

Pure: no clock, no database; the day is an argument. The caller has already decided *whose*
entries these are (a person or household under an active ``honour_roll`` consent); this module
decides *which* of them may be shown, and how:

* only an item whose direction is positive, whose category is one the roll publishes
  (:data:`HONOUR_CATEGORIES`: honours, volunteering, charity) and whose art. 32 publicity
  attribute is not 不公开 — judged by the catalogue version the entry was scored under;
* only an entry in force on the day (``valid_from ≤ day < valid_until``), of an event still in the
  subject's counted set, that no reversal cancels (the caller passes only such entries and says so
  with ``counted``; anything else is dropped here again);
* an entry that scored (points > 0) — but a tiered item (volunteer hours) records its quantity
  even when it scored nothing, and all of one tiered item's entries in force become one line with
  the total quantity in force (``累计36小时``);
* nothing else of an entry is shown: no points, no note, no explanation (free text may name other
  people or wrongs), no recorder.

The output never depends on the order of the entries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from points_rules.model import CatalogueSet, Item, LevelPoints, RuleError, TieredPoints
from points_rules.units import format_quantity

# Categories of positive information the roll publishes (the issue's "honours, volunteering,
# charity"). 孝老爱亲, 环境卫生, 网格治理 … are positive too, but family and household matters
# that a public page has no business with; a county that wants them changes this list.
HONOUR_CATEGORIES = ("表彰奖励", "志愿服务", "公益慈善")
NOT_PUBLIC = "不公开"


@dataclass(frozen=True)
class Entry:
    """A ledger entry of one subject, with what its event said (level, date)."""

    entry_id: int
    item_code: str
    catalogue_version: str
    points: int  # tenths
    valid_from: date
    valid_until: date  # exclusive
    occurred_on: date
    level: str | None = None
    quantity: Decimal | None = None
    counted: bool = True  # an original entry, not reversed, of an event in the counted set


@dataclass(frozen=True)
class Line:
    """One line of positive information as the roll shows it."""

    category: str  # 表彰奖励 | 志愿服务 | 公益慈善
    item_code: str
    title_zh: str  # 表彰奖励（市级）
    detail_zh: str  # 2026年5月 · 有效期内累计36小时
    occurred_on: date  # the (latest) event date


def publishable(item: Item) -> bool:
    """Whether an item's entries may appear on the public roll at all."""
    return (item.direction == "positive" and item.category in HONOUR_CATEGORIES
            and item.disclosure.publicity != NOT_PUBLIC)


def _item(catalogues: CatalogueSet, entry: Entry) -> Item | None:
    try:
        return catalogues.version(entry.catalogue_version).item(entry.item_code)
    except RuleError:
        return None


def _month(d: date) -> str:
    return f"{d.year}年{d.month}月"


def honour_lines(entries: Iterable[Entry], catalogues: CatalogueSet, on: date) -> list[Line]:
    """The lines a subject's entries give on ``on``, newest event first."""
    singles: list[Line] = []
    tiered: dict[str, list[tuple[Entry, Item]]] = {}
    for e in {e.entry_id: e for e in entries}.values():
        if not e.counted or not (e.valid_from <= on < e.valid_until):
            continue
        item = _item(catalogues, e)
        if item is None or not publishable(item):
            continue
        if isinstance(item.points, TieredPoints):
            if e.quantity is not None and e.quantity > 0 and e.points >= 0:
                tiered.setdefault(item.code, []).append((e, item))
            continue
        if e.points <= 0:
            continue
        title = item.name_zh
        if isinstance(item.points, LevelPoints) and e.level is not None:
            level = item.points.level(e.level)
            if level is not None:
                title = f"{item.name_zh}（{level.name_zh}）"
        singles.append(Line(category=item.category, item_code=item.code, title_zh=title,
                            detail_zh=_month(e.occurred_on), occurred_on=e.occurred_on))
    for code, group in tiered.items():
        # The newest version's wording for the item (the entries may span catalogue versions).
        newest = max(group, key=lambda g: (g[0].occurred_on, g[0].entry_id))
        item = newest[1]
        total = sum((g[0].quantity for g in group), Decimal(0))
        singles.append(Line(category=item.category, item_code=code, title_zh=item.name_zh,
                            detail_zh=f"有效期内累计{format_quantity(total)}{item.points.unit_zh}",
                            occurred_on=newest[0].occurred_on))
    return sorted(singles, key=lambda line: (-line.occurred_on.toordinal(), line.item_code, line.title_zh,
                                             line.detail_zh))
