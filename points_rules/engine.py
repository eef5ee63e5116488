"""积分计算 — score one event against a subject's ledger, and compute a subject's standing on a date.

Pure functions: dataclasses in, dataclasses out; every date is an argument. Points are integers in
tenths. The ledger service keeps the entries; this module only decides what to append and what a
set of entries adds up to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Sequence

from points_rules.model import (
    SUBJECT_KINDS, CatalogueSet, CatalogueVersion, DirectGrade, FixedPoints, Item, LevelPoints, RuleError,
    TieredPoints,
)
from points_rules.units import add_years, date_zh, format_points, format_quantity


@dataclass(frozen=True)
class Event:
    """信用事件 — one thing that happened to one subject, as logged."""

    event_id: int
    item_code: str
    subject_kind: str          # "person" | "household" | "organisation"
    occurred_on: date
    recorded_on: date
    quantity: Decimal | None = None   # e.g. volunteer hours in this event (tiered items)
    level: str | None = None          # level key for by-level items
    act_id: str | None = None         # events sharing an act_id are ONE act (score once, largest only)
    order_key: str = ""               # arrival-independent tie-break between events of the same day


@dataclass(frozen=True)
class PriorEntry:
    """An entry already in the subject's ledger."""

    entry_id: int
    event_id: int
    item_code: str
    act_id: str | None
    points: int                        # tenths
    valid_from: date
    valid_until: date                  # exclusive
    quantity: Decimal | None           # quantity this entry's event contributed (tiered items)
    grade_override: str | None
    reversed: bool                     # a reversing entry exists for it
    is_reversal: bool


@dataclass(frozen=True)
class EntryDraft:
    """What the ledger should append."""

    item_code: str
    catalogue_version: str
    points: int                        # tenths; 0 for pure grade overrides
    valid_from: date
    valid_until: date                  # exclusive
    grade_override: str | None
    quantity: Decimal | None
    reverses_entry_id: int | None      # set when this draft cancels an entry (see points_rules.history)
    explanation_zh: str
    explanation: dict[str, Any]


@dataclass(frozen=True)
class ScoreResult:
    entries: list[EntryDraft]
    late: bool                         # recorded outside the recording window


@dataclass(frozen=True)
class EntryView:
    """A ledger entry as the ledger holds it."""

    entry_id: int
    points: int
    valid_from: date
    valid_until: date
    grade_override: str | None
    counts: bool = True                # False if disputed/repaired (excluded from ratings)
    reverses_entry_id: int | None = None   # set on a reversal: the reversed entry's override stops applying


@dataclass(frozen=True)
class Standing:
    """A subject's score and grade on one date (信用积分与等级)."""

    as_of: date
    catalogue_version: str
    base: int
    score: int
    grade: str
    grade_override: str | None
    override_until: date | None
    in_force_entry_ids: list[int]
    next_expiry: date | None
    next_expiry_points: int
    explanation_zh: str


# --- scoring one event -------------------------------------------------------------------------------


def score_event(catalogues: CatalogueSet, event: Event, history: Sequence[PriorEntry]) -> ScoreResult:
    """Score ``event`` under the catalogue version in force on ``event.occurred_on``.

    ``history`` is what the subject's ledger holds for the events that come *before* this one in
    the canonical order (see :mod:`points_rules.history`, which is how the ledger calls this).
    Order of the rules: base points (fixed, level, tier increment or direct grade) → doubling for a
    repeat within validity → the item's yearly cap. One act matching several items is resolved by
    :func:`points_rules.history.score_history` before any event is scored.
    """
    if event.recorded_on < event.occurred_on:
        raise RuleError("RULES_DATE", "录入日期不能早于事件发生日期",
                        "recorded_on cannot be before occurred_on",
                        {"occurred_on": event.occurred_on.isoformat(), "recorded_on": event.recorded_on.isoformat()})
    version = catalogues.version_on(event.occurred_on)
    item = version.item(event.item_code)
    _check_subject_kind(version, item, event)
    # Reversed entries and reversals cancel out: neither counts for repeats, tiers or caps.
    live = [h for h in history if not h.reversed and not h.is_reversal]
    same_item = [h for h in live if h.item_code == item.code]
    late = event.recorded_on > version.scoring.recording_window.deadline(event.occurred_on)

    calc = _Calc(version, item, event)
    calc.base(same_item)
    calc.double_if_repeat(same_item)
    calc.apply_cap(same_item)
    return ScoreResult([calc.draft(late)], late)


def _check_subject_kind(version: CatalogueVersion, item: Item, event: Event) -> None:
    if event.subject_kind not in SUBJECT_KINDS or event.subject_kind not in item.subject_kinds:
        raise RuleError(
            "RULES_SUBJECT_KIND",
            f"事项“{item.name_zh}”不适用于主体类型“{event.subject_kind}”（适用：{'、'.join(item.subject_kinds)}）",
            f"item {item.code} does not apply to subject kind {event.subject_kind!r} "
            f"(allowed: {', '.join(item.subject_kinds)})",
            {"item_code": item.code, "subject_kind": event.subject_kind, "catalogue_version": version.version},
        )


class _Calc:
    """The working state of one event's scoring, with the explanation built alongside."""

    def __init__(self, version: CatalogueVersion, item: Item, event: Event):
        self.version, self.item, self.event = version, item, event
        self.points = 0
        self.base_points = 0
        self.override: str | None = None
        self.years = 0
        self.quantity: Decimal | None = None
        self.zh: list[str] = []
        self.facts: dict[str, Any] = {
            "rule": item.code,
            "item_name_zh": item.name_zh,
            "catalogue_version": version.version,
            "points_kind": item.points.kind,
            "unit": "0.1分 (tenths of a point)",
            "inputs": {
                "event_id": event.event_id,
                "subject_kind": event.subject_kind,
                "occurred_on": event.occurred_on.isoformat(),
                "recorded_on": event.recorded_on.isoformat(),
                "quantity": None if event.quantity is None else str(event.quantity),
                "level": event.level,
                "act_id": event.act_id,
            },
            "doubled": False,
            "cap": None,
        }

    # -- base points ---------------------------------------------------------------------------------

    def base(self, same_item: list[PriorEntry]) -> None:
        rule = self.item.points
        if not isinstance(rule, TieredPoints) and self.event.quantity is not None:
            raise self._error("RULES_QUANTITY", "该事项不按数量计分，不应填写数量",
                              "this item is not scored by quantity; leave quantity empty")
        if not isinstance(rule, LevelPoints) and self.event.level is not None:
            raise self._error("RULES_LEVEL", "该事项不分等级，不应填写等级", "this item has no levels; leave level empty")
        if isinstance(rule, FixedPoints):
            self.points = rule.points
            self.zh.append(f"该项固定{format_points(rule.points)}分。")
        elif isinstance(rule, LevelPoints):
            self._by_level(rule)
        elif isinstance(rule, TieredPoints):
            self._tiered(rule, same_item)
        else:
            self._direct_grade(rule)
        self.base_points = self.points
        self.facts["base_points"] = self.points
        if not isinstance(rule, DirectGrade):
            self.years, basis = self._validity_years()
            self.facts["validity"] = {"years": self.years, "basis": basis}

    def _by_level(self, rule: LevelPoints) -> None:
        keys = "、".join(f"{lv.key}（{lv.name_zh}）" for lv in rule.levels)
        if self.event.level is None:
            raise self._error("RULES_LEVEL", f"请选择等级：{keys}", f"a level is required: {keys}")
        level = rule.level(self.event.level)
        if level is None:
            raise self._error("RULES_LEVEL", f"等级“{self.event.level}”无效，应为：{keys}",
                              f"unknown level {self.event.level!r}; expected one of: {keys}")
        self.points = level.points
        self.facts["level"] = {"key": level.key, "name_zh": level.name_zh, "points": level.points}
        self.zh.append(f"认定为“{level.name_zh}”，对应{format_points(level.points)}分。")

    def _tiered(self, rule: TieredPoints, same_item: list[PriorEntry]) -> None:
        q = self.event.quantity
        if q is None:
            raise self._error("RULES_QUANTITY", f"请填写数量（{rule.unit_zh}）", f"a quantity ({rule.unit_zh}) is required")
        if isinstance(q, bool) or not isinstance(q, (int, Decimal)) or not Decimal(q).is_finite():
            raise self._error("RULES_QUANTITY", "数量应为精确数字（不接受浮点数）",
                              "quantity must be an exact number (Decimal or int, never float)")
        q = Decimal(q)
        if q <= 0:
            raise self._error("RULES_QUANTITY", "数量应大于0", "quantity must be greater than zero")
        # Cumulative within validity: the quantities of this item whose entries are still in force
        # on the event date. Points that expired can be earned again; the increment tops the points
        # in force up to the tier those quantities reach (never below zero).
        d = self.event.occurred_on
        in_force = [h for h in same_item if h.valid_from <= d < h.valid_until]
        before = sum((h.quantity for h in in_force if h.quantity is not None), Decimal(0))
        held = sum(h.points for h in in_force)
        after = before + q
        tier_after = rule.tier_at(after)
        total_after = rule.points_at(after)
        self.quantity = q
        self.points = max(total_after - held, 0)
        u = rule.unit_zh
        self.facts["tier"] = {
            "quantity": str(q), "in_force_before": str(before), "in_force_after": str(after),
            "tier_after": None if tier_after is None else str(tier_after.at),
            "total_after": total_after, "points_in_force_before": held,
        }
        text = (f"本次{format_quantity(q)}{u}；截至{date_zh(d)}仍在有效期内的累计由{format_quantity(before)}{u}"
                f"增至{format_quantity(after)}{u}。")
        if tier_after is None:
            text += f"尚未达到最低档（累计{format_quantity(rule.tiers[0].at)}{u}），本次记0分，仅登记{u}数。"
        elif self.points == 0:
            text += (f"对应“累计{format_quantity(tier_after.at)}{u}”档（共{format_points(total_after)}分），"
                     f"有效期内已得{format_points(held, signed=False)}分，未超过已得分数，本次记0分，仅登记{u}数。")
        else:
            text += (f"达到“累计{format_quantity(tier_after.at)}{u}”档，该档共{format_points(total_after)}分，"
                     f"有效期内已得{format_points(held, signed=False)}分，本次记差额{format_points(self.points)}分。")
        self.zh.append(text)

    def _direct_grade(self, rule: DirectGrade) -> None:
        self.override = rule.grade
        self.years = self.version.scoring.direct_downgrade_years[rule.grade]
        self.facts["grade_override"] = rule.grade
        self.facts["validity"] = {"years": self.years, "basis": "direct_downgrade_term"}
        self.zh.append(f"该行为直接评定为{rule.grade}级，期限{self.years}年，期间等级不高于{rule.grade}级；不加减分。")

    def _validity_years(self) -> tuple[int, str]:
        """Item years, else by rule: a deduction by its size (before any doubling), an honour by level."""
        scoring = self.version.scoring
        if self.item.validity_years is not None:
            return self.item.validity_years, "item"
        if self.item.direction == "negative":
            size = abs(self.base_points)
            rule = next(r for r in scoring.deduction_years if r.up_to is None or size <= r.up_to)
            return rule.years, "deduction_size"
        if self.event.level in scoring.honour_years:
            return scoring.honour_years[self.event.level], "honour_level"
        return scoring.positive_years, "positive_default"

    # -- doubling and cap ----------------------------------------------------------------------------

    def double_if_repeat(self, same_item: list[PriorEntry]) -> None:
        if not self.item.repeat_doubles or self.points == 0:
            return
        d = self.event.occurred_on
        # Entries of the same act are the same act, not a repeat.
        earlier = [h for h in same_item if h.valid_from <= d < h.valid_until
                   and (self.event.act_id is None or h.act_id != self.event.act_id)]
        if not earlier:
            return
        prior = min(earlier, key=lambda h: (h.valid_from, h.entry_id))
        self.points *= 2
        self.facts["doubled"] = True
        self.facts["doubled_because_event_id"] = prior.event_id
        self.zh.append(f"因在{date_zh(prior.valid_from)}的同类记录有效期内（至{date_zh(prior.valid_until - timedelta(days=1))}）"
                       f"再次发生，加倍计分：{format_points(self.base_points)}×2={format_points(self.points)}分。")

    def apply_cap(self, same_item: list[PriorEntry]) -> None:
        cap = self.item.cap_per_year
        if cap is None or self.points == 0:
            return
        year = self.event.occurred_on.year
        used = sum(h.points for h in same_item if h.valid_from.year == year
                   and (self.event.act_id is None or h.act_id != self.event.act_id))
        room = max(cap - abs(used), 0)
        self.facts["cap"] = {"cap_per_year": cap, "year": year, "used_before": used, "clipped_from": None}
        if abs(self.points) <= room:
            return
        clipped = room if self.points > 0 else -room
        self.facts["cap"]["clipped_from"] = self.points
        self.zh.append(f"该项每年累计不超过{format_points(cap, signed=False)}分，{year}年已记{format_points(used)}分，"
                       f"本次由{format_points(self.points)}分调整为{format_points(clipped)}分。")
        self.points = clipped

    # -- result --------------------------------------------------------------------------------------

    def draft(self, late: bool) -> EntryDraft:
        valid_from = self.event.occurred_on
        valid_until = add_years(valid_from, self.years)
        self.facts["points"] = self.points
        self.facts["late"] = late
        self.facts["validity"].update(valid_from=valid_from.isoformat(), valid_until=valid_until.isoformat())
        head = f"按{self.version.version}版积分目录“{self.item.name_zh}”计分。"
        if self.override is None:
            tail = (f"本次记{format_points(self.points)}分，自{date_zh(valid_from)}起计入，"
                    f"有效期{self.years}年，至{date_zh(valid_until - timedelta(days=1))}止。")
        else:
            tail = f"自{date_zh(valid_from)}起至{date_zh(valid_until - timedelta(days=1))}止。"
        if late:
            tail += (f"（注：超过登记时限（事件发生后{self.version.scoring.recording_window.describe_zh()}）才录入，"
                     "已标记为迟报，计分不受影响。）")
        return EntryDraft(
            item_code=self.item.code,
            catalogue_version=self.version.version,
            points=self.points,
            valid_from=valid_from,
            valid_until=valid_until,
            grade_override=self.override,
            quantity=self.quantity,
            reverses_entry_id=None,
            explanation_zh=head + "".join(self.zh) + tail,
            explanation=self.facts,
        )

    def _error(self, code: str, zh: str, en: str) -> RuleError:
        return RuleError(code, f"“{self.item.name_zh}”（{self.item.code}）：{zh}", f"{self.item.code}: {en}",
                         {"item_code": self.item.code, "catalogue_version": self.version.version,
                          "event_id": self.event.event_id})


def rank(version: CatalogueVersion, override: str | None, points: int) -> tuple[int, int]:
    """A direct grade outranks any points (a worse grade more); then the larger |points| wins."""
    severity = 0 if override is None else 1 + version.scoring.severity(override)
    return severity, abs(points)


# --- standing on a date --------------------------------------------------------------------------------


def grade_for(version: CatalogueVersion, score_tenths: int) -> str:
    """The grade a score reaches: the first band, best first, whose ``min`` the score reaches."""
    for band in version.scoring.grades:
        if band.min is None or score_tenths >= band.min:
            return band.grade
    return version.scoring.grades[-1].grade


def apply_overrides(scoring, score_grade: str, overrides: Sequence[tuple[str, date]]) -> tuple[str, str | None, date | None]:
    """(grade, worst override, its last valid_until): an in-force direct grade caps the score's grade."""
    if not overrides:
        return score_grade, None, None
    worst = max((g for g, _ in overrides), key=scoring.severity)
    until = max(u for g, u in overrides if g == worst)
    grade = worst if scoring.severity(worst) > scoring.severity(score_grade) else score_grade
    return grade, worst, until


def village_points_zh(scoring, village_total: int) -> str:
    """The sentence a standing adds when the version lets village points count (empty otherwise)."""
    if scoring.village_points is None or village_total == 0:
        return ""
    counted = scoring.village_counted(village_total)
    capped = "" if counted == village_total else f"（按本县目录上限±{format_points(scoring.village_points.cap, signed=False)}分）"
    return f"村规民约积分{format_points(village_total)}分，计入{format_points(counted)}分{capped}，"


def score_and_grade(version: CatalogueVersion, in_force_points: int, overrides: Sequence[tuple[str, date]] = (),
                    village_total: int = 0) -> tuple[int, str, str, str | None, date | None]:
    """The grade rule of :func:`standing` on sums: ``(score, score_grade, grade, worst override, its end)``
    from the tenths of the counting entries in force, the in-force direct grades ``(grade, valid_until)``
    (reversed ones left out) and the village points in force."""
    scoring = version.scoring
    score = scoring.base + in_force_points + scoring.village_counted(village_total)
    score_grade = grade_for(version, score)
    grade, worst, until = apply_overrides(scoring, score_grade, overrides)
    return score, score_grade, grade, worst, until


class StandingRule:
    """:func:`score_and_grade` of one version, prepared once for many subjects (a county-wide
    recompute): the same rule, with the grade of each score looked up once."""

    def __init__(self, version: CatalogueVersion):
        self.version = version
        self.version_id = version.version
        self._base = version.scoring.base
        self._grades: dict[int, str] = {}

    def __call__(self, in_force_points: int, overrides: Sequence[tuple[str, date]] = (),
                 village_total: int = 0) -> tuple[int, str, str | None, date | None]:
        """``(score, grade, worst override, its end)``."""
        if overrides or village_total:
            score, _, grade, worst, until = score_and_grade(self.version, in_force_points, overrides, village_total)
            return score, grade, worst, until
        score = self._base + in_force_points
        grade = self._grades.get(score)
        if grade is None:
            grade = self._grades[score] = grade_for(self.version, score)
        return score, grade, None, None


def standing(catalogues: CatalogueSet, entries: Sequence[EntryView], as_of: date, village_total: int = 0) -> Standing:
    """Score and grade on ``as_of``: base + the points of entries in force (valid_from ≤ as_of < valid_until,
    counting), graded under the version in force on ``as_of``; an in-force direct grade caps the grade.
    ``village_total``: the subject's village points in force that day (``points_rules.village_rules.total``);
    they count only if that version's ``scoring.village_points`` says so, and at most its cap."""
    version = catalogues.version_on(as_of)
    scoring = version.scoring
    in_force = [e for e in entries if e.counts and e.valid_from <= as_of < e.valid_until]
    reversed_ids = {e.reverses_entry_id for e in in_force if e.reverses_entry_id is not None}
    total = sum(e.points for e in in_force)
    overrides = [(e.grade_override, e.valid_until) for e in in_force
                 if e.grade_override is not None and e.entry_id not in reversed_ids]
    score, score_grade, grade, worst, until = score_and_grade(version, total, overrides, village_total)

    # Next expiry: the earliest date on which the score changes because entries lapse (a reversal pair
    # lapses together and changes nothing, so such dates are skipped).
    by_day: dict[date, int] = {}
    for e in in_force:
        by_day[e.valid_until] = by_day.get(e.valid_until, 0) + e.points
    changing = sorted(d for d, pts in by_day.items() if pts != 0)
    next_expiry = changing[0] if changing else None
    next_points = by_day[next_expiry] if next_expiry else 0

    text = (f"截至{date_zh(as_of)}（适用{version.version}版积分目录）：基础分{format_points(scoring.base, signed=False)}分，"
            f"有效记录{len(in_force)}条合计{format_points(total)}分，{village_points_zh(scoring, village_total)}"
            f"总分{format_points(score, signed=False)}分，对应等级{score_grade}。")
    if worst is not None:
        if grade == worst and grade != score_grade:
            text += f"因直接判级，至{date_zh(until - timedelta(days=1))}止等级不高于{worst}级，当前等级为{grade}级。"
        else:
            text += f"另有直接判级{worst}级（至{date_zh(until - timedelta(days=1))}），不影响当前等级。"
    if next_expiry is not None:
        text += f"{date_zh(next_expiry)}起将有{format_points(next_points)}分到期不再计入。"
    return Standing(
        as_of=as_of,
        catalogue_version=version.version,
        base=scoring.base,
        score=score,
        grade=grade,
        grade_override=worst,
        override_until=until,
        in_force_entry_ids=sorted(e.entry_id for e in in_force),
        next_expiry=next_expiry,
        next_expiry_points=next_points,
        explanation_zh=text,
    )


__all__ = [
    "Event", "PriorEntry", "EntryDraft", "ScoreResult", "EntryView", "Standing",
    "score_event", "standing", "grade_for", "score_and_grade", "StandingRule",
]
