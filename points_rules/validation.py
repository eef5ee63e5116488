"""Check one parsed catalogue file and build its ``CatalogueVersion``, collecting every problem.

Each problem carries the file, the YAML line and the path (``items[3].points.tiers[2].at``) and a
Chinese and an English message. Checks across files (unique versions and dates) are in ``loader``.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Any, Callable, TypeVar

from points_rules.model import (
    CATEGORIES, DIRECTIONS, EVIDENCE, MEMBER_AGGREGATES, NOT_CREDIT_GRADE, PUBLICITY, RATING_LEVELS,
    RATING_PERIODS, ROLES, SUBJECT_KINDS, UPDATE_FREQUENCIES, ApprovalRules, CatalogueProblem, CatalogueVersion,
    DeductionValidity, DirectGrade, Disclosure, FixedPoints, GradeBand, HouseholdRules, Item, ItemRepair, Level,
    LevelPoints, PointsRule, RatingRules, RecordingWindow, REPAIR_ROUTES, RepairRules, ScalePoint, Scoring, SEVERITIES, VillagePointsRule,
    SOURCE_REMOVAL, StarBand, Tier, TieredPoints, TownshipRules, VillageRules,
)
from points_rules.units import POINT_UNIT, format_points, points_from_decimal
from points_rules.yaml_source import Path_, YamlSource, format_path

T = TypeVar("T")

_CODE_RE = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_GRADE_RE = re.compile(r"^[A-Z]{1,4}[+-]?$")
_VERSION_RE = re.compile(r"^\d{4}\.\d+$")

_TOP_KEYS = {"version": True, "effective_from": True, "title_zh": True, "title_en": False,
             "notes_zh": False, "scoring": True, "items": True, "ratings": False}
_SCORING_KEYS = {"base": True, "grades": True, "default_grade": True, "grade_after_repair": True,
                 "direct_downgrade_years": True, "recording_window": True, "validity": True, "repair": False,
                 "village_points": False}
_VILLAGE_POINTS_KEYS = {"counts_toward_grade": True, "cap": True}
_REPAIR_RULES_KEYS = {"display_months": True, "decision_working_days": True}
_ITEM_REPAIR_KEYS = {"routes": False, "replaced_by": False, "replaced_on_routes": False}
_VALIDITY_KEYS = {"deduction_years": True, "honour_years": True, "positive_years": True}
_ITEM_KEYS = {"code": True, "name_zh": True, "name_en": False, "behaviour_zh": True, "category": True,
              "direction": True, "points": True, "subject_kinds": True, "validity": True, "logged_by": True,
              "evidence": True, "needs_review": True, "repeat_doubles": False, "cap_per_year": False,
              "disclosure": True, "notes_zh": False, "severity": False, "repair": False}
_DISCLOSURE_KEYS = {"publicity": True, "sharing_scope": True, "source": True, "channel": True,
                    "update_frequency": True, "legal_basis": True}


class _Invalid(Exception):
    """A value could not be read; the problem is already recorded."""


class Checker:
    """Reads one file's data, recording problems instead of stopping at the first."""

    def __init__(self, source: YamlSource):
        self.source = source
        self.problems: list[CatalogueProblem] = [
            CatalogueProblem(source.file, line, format_path(path), zh, en) for line, path, zh, en in source.errors
        ]

    # -- reporting ---------------------------------------------------------------------------------

    def problem(self, path: Path_, zh: str, en: str) -> None:
        self.problems.append(CatalogueProblem(self.source.file, self.source.line_of(path), format_path(path), zh, en))

    def fail(self, path: Path_, zh: str, en: str) -> _Invalid:
        self.problem(path, zh, en)
        return _Invalid()

    # -- shapes ------------------------------------------------------------------------------------

    def mapping(self, value: Any, path: Path_, keys: dict[str, bool]) -> dict[str, Any]:
        """A mapping with exactly the allowed ``keys`` (True = required); unknown and missing keys reported."""
        if not isinstance(value, dict):
            raise self.fail(path, "应为键值映射", "expected a mapping")
        for key in value:
            if key not in keys:
                self.problem(path + (key,), f"未知字段“{key}”（可用：{'、'.join(keys)}）",
                             f"unknown key {key!r} (allowed: {', '.join(keys)})")
        for key, required in keys.items():
            if required and key not in value:
                self.problem(path, f"缺少必填字段“{key}”", f"missing required field {key!r}")
        return value

    def sequence(self, value: Any, path: Path_, *, non_empty: bool = True) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(path, "应为列表", "expected a list")
        if non_empty and not value:
            raise self.fail(path, "列表不能为空", "the list must not be empty")
        return value

    def field(self, data: dict[str, Any], key: str, path: Path_, read: Callable[[Any, Path_], T],
              default: T | None = None) -> T | None:
        """Read ``data[key]`` with ``read``; ``default`` if absent (a missing required key is already reported)."""
        if key not in data:
            return default
        try:
            return read(data[key], path + (key,))
        except _Invalid:
            return default

    # -- scalars -----------------------------------------------------------------------------------

    def text(self, value: Any, path: Path_) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, "应为非空文字", "expected non-empty text")
        return value.strip()

    def enum(self, allowed: tuple[str, ...]) -> Callable[[Any, Path_], str]:
        def read(value: Any, path: Path_) -> str:
            if value not in allowed:
                raise self.fail(path, f"取值“{value}”无效，应为：{'、'.join(allowed)}",
                                f"invalid value {value!r}; expected one of: {', '.join(allowed)}")
            return value
        return read

    def enum_list(self, allowed: tuple[str, ...]) -> Callable[[Any, Path_], tuple[str, ...]]:
        def read(value: Any, path: Path_) -> tuple[str, ...]:
            out = []
            for i, v in enumerate(self.sequence(value, path)):
                try:
                    v = self.enum(allowed)(v, path + (i,))
                except _Invalid:
                    continue
                if v in out:
                    self.problem(path + (i,), f"“{v}”重复", f"{v!r} is listed twice")
                out.append(v)
            return tuple(out)
        return read

    def boolean(self, value: Any, path: Path_) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, "应为 true 或 false", "expected true or false")
        return value

    def positive_int(self, value: Any, path: Path_) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail(path, "应为正整数", "expected a positive whole number")
        return value

    def points(self, value: Any, path: Path_) -> int:
        """Points with at most one decimal → tenths."""
        tenths = points_from_decimal(value) if isinstance(value, (int, Decimal)) else None
        if tenths is None:
            raise self.fail(path, "分值应为数字，最多一位小数", "points must be a number with at most one decimal")
        return tenths

    def whole_points(self, value: Any, path: Path_) -> int:
        tenths = self.points(value, path)
        if tenths % POINT_UNIT:
            raise self.fail(path, "应为整数分（不带小数）", "must be whole points (no decimal)")
        return tenths

    def quantity(self, value: Any, path: Path_) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or value <= 0:
            raise self.fail(path, "数量应为正数", "quantity must be a positive number")
        return Decimal(value)

    def a_date(self, value: Any, path: Path_) -> date:
        if not isinstance(value, date):
            raise self.fail(path, "应为日期，如 2026-01-01", "expected a date such as 2026-01-01")
        return value


# --- the file ---------------------------------------------------------------------------------------


def check_version(source: YamlSource) -> tuple[CatalogueVersion | None, list[CatalogueProblem]]:
    """Validate one parsed file; the version is returned only when the file has no problem."""
    c = Checker(source)
    if source.data is None and c.problems:
        return None, c.problems
    try:
        top = c.mapping(source.data, (), _TOP_KEYS)
    except _Invalid:
        return None, c.problems
    version = c.field(top, "version", (), _read_version_id(c))
    effective_from = c.field(top, "effective_from", (), c.a_date)
    title_zh = c.field(top, "title_zh", (), c.text)
    c.field(top, "title_en", (), c.text)
    c.field(top, "notes_zh", (), c.text)
    scoring = c.field(top, "scoring", (), lambda v, p: _read_scoring(c, v, p))
    items = c.field(top, "items", (), lambda v, p: _read_items(c, v, p, scoring), default=())
    raw_codes = {row.get("code") for row in top.get("items") or [] if isinstance(row, dict)} \
        if isinstance(top.get("items"), list) else set()
    ratings = c.field(top, "ratings", (), lambda v, p: _read_ratings(c, v, p, scoring, items or (), raw_codes))
    if c.problems or None in (version, effective_from, title_zh, scoring):
        return None, c.problems
    return CatalogueVersion(version, effective_from, title_zh, scoring, tuple(items),
                            source_file=source.file, ratings=ratings), []


def _read_version_id(c: Checker) -> Callable[[Any, Path_], str]:
    def read(value: Any, path: Path_) -> str:
        if not isinstance(value, str) or not _VERSION_RE.match(value):
            raise c.fail(path, "版本号应为带引号的“年份.序号”，如 \"2026.1\"",
                         'the version id must be a quoted "year.number" such as "2026.1"')
        return value
    return read


# --- scoring ----------------------------------------------------------------------------------------


def _read_scoring(c: Checker, value: Any, path: Path_) -> Scoring | None:
    data = c.mapping(value, path, _SCORING_KEYS)
    base = c.field(data, "base", path, c.whole_points)
    grades = c.field(data, "grades", path, lambda v, p: _read_grades(c, v, p))
    names = tuple(b.grade for b in grades) if grades else ()

    def grade_name(v: Any, p: Path_) -> str:
        if names and v not in names:
            raise c.fail(p, f"等级“{v}”不在 grades 中", f"grade {v!r} is not one of the grades")
        return v

    default_grade = c.field(data, "default_grade", path, grade_name)
    after_repair = c.field(data, "grade_after_repair", path, grade_name)
    terms = c.field(data, "direct_downgrade_years", path, lambda v, p: _read_terms(c, v, p, grade_name))
    window = c.field(data, "recording_window", path, lambda v, p: _read_window(c, v, p))
    validity = c.field(data, "validity", path, lambda v, p: _read_default_validity(c, v, p))
    repair = c.field(data, "repair", path, lambda v, p: _read_repair_rules(c, v, p), default=RepairRules())
    village = c.field(data, "village_points", path, lambda v, p: _read_village_points(c, v, p), default=False)
    if None in (base, grades, default_grade, after_repair, terms, window, validity, repair, village):
        return None
    deductions, honours, positive_years = validity
    return Scoring(base, grades, default_grade, after_repair, terms, window, deductions, honours, positive_years,
                   repair, village or None)


MAX_VILLAGE_CAP = 100 * POINT_UNIT  # a village's rules may never weigh more than two grade bands


def _read_village_points(c: Checker, value: Any, path: Path_) -> VillagePointsRule | bool | None:
    """``village_points: {counts_toward_grade: true, cap: 20}`` — False when they do not count."""
    data = c.mapping(value, path, _VILLAGE_POINTS_KEYS)
    counts = c.field(data, "counts_toward_grade", path, c.boolean)
    cap = c.field(data, "cap", path, c.whole_points)
    if counts is None or cap is None:
        return None
    if not 0 < cap <= MAX_VILLAGE_CAP:
        c.problem(path + ("cap",), f"计入上限应大于0且不超过{MAX_VILLAGE_CAP // POINT_UNIT}分",
                  f"cap must be above 0 and at most {MAX_VILLAGE_CAP // POINT_UNIT} points")
        return None
    return VillagePointsRule(cap=cap) if counts else False


def _read_repair_rules(c: Checker, value: Any, path: Path_) -> RepairRules | None:
    data = c.mapping(value, path, _REPAIR_RULES_KEYS)

    def months(v: Any, p: Path_) -> dict[str, int]:
        raw = c.mapping(v, p, {s: True for s in SEVERITIES})
        out = {s: _non_negative_int(c, raw[s], p + (s,)) for s in SEVERITIES if s in raw}
        if len(out) == len(SEVERITIES) and not out["minor"] <= out["general"] <= out["serious"]:
            c.problem(p, "公示期应为 轻微 ≤ 一般 ≤ 严重", "display months must grow: minor ≤ general ≤ serious")
        return out

    display = c.field(data, "display_months", path, months)
    days = c.field(data, "decision_working_days", path, c.positive_int)
    if display is None or days is None or len(display) != len(SEVERITIES):
        return None
    return RepairRules(display_months=display, decision_working_days=days)


def _read_grades(c: Checker, value: Any, path: Path_, name_re: re.Pattern[str] = _GRADE_RE
                 ) -> tuple[GradeBand, ...] | None:
    """Bands best first. Every band but the last has ``min``; ``max`` (optional, not on the first) must be
    the next better band's ``min`` − 1: a band covers better.min > score ≥ min, so 1049.5 is still AA."""
    rows = c.sequence(value, path)
    before = len(c.problems)
    bands: list[GradeBand] = []
    for i, row in enumerate(rows):
        p, last = path + (i,), i == len(rows) - 1
        try:
            data = c.mapping(row, p, {"grade": True, "min": False, "max": False})
        except _Invalid:
            continue
        grade = data.get("grade")
        if not isinstance(grade, str) or not name_re.match(grade):
            c.problem(p + ("grade",), "等级名应为大写字母，如 AAA、B", "a grade name is capital letters such as AAA or B")
        elif grade in [b.grade for b in bands]:
            c.problem(p + ("grade",), f"等级“{grade}”重复", f"grade {grade!r} is listed twice")
        low = c.field(data, "min", p, c.whole_points)
        high = c.field(data, "max", p, c.whole_points)
        if last and "min" in data:
            c.problem(p + ("min",), "最低一档不设下限（min）", "the lowest grade has no min")
        if not last and "min" not in data:
            c.problem(p, "除最低一档外，每档须有下限（min）", "every grade but the lowest needs a min")
        if i == 0 and "max" in data:
            c.problem(p + ("max",), "最高一档不设上限（max）", "the highest grade has no max")
        better = bands[-1] if bands else None
        if better is not None and better.min is not None:
            if low is not None and not last and low >= better.min:
                c.problem(p + ("min",), "等级须从高到低排列，下限（min）逐档递减",
                          "grades must go from best to worst with strictly decreasing min")
            if high is not None and high >= better.min:
                c.problem(p + ("max",), f"与上一档“{better.grade}”重叠", f"overlaps the better grade {better.grade!r}")
            elif high is not None and high < better.min - POINT_UNIT:
                c.problem(p + ("max",), f"与上一档“{better.grade}”之间有空档",
                          f"leaves a gap below the better grade {better.grade!r}")
        if low is not None and high is not None and high < low:
            c.problem(p + ("max",), "上限低于下限", "max is below min")
        bands.append(GradeBand(str(grade), None if last else low))
    return tuple(bands) if len(c.problems) == before else None


def _read_terms(c: Checker, value: Any, path: Path_, grade_name: Callable[[Any, Path_], str]) -> dict[str, int]:
    if not isinstance(value, dict) or not value:
        raise c.fail(path, "应为“等级: 年数”的映射", "expected a mapping grade: years")
    out = {}
    for grade, years in value.items():
        try:
            out[grade_name(grade, path + (grade,))] = c.positive_int(years, path + (grade,))
        except _Invalid:
            pass
    return out


def _read_window(c: Checker, value: Any, path: Path_) -> RecordingWindow:
    data = c.mapping(value, path, {"days": False, "months": False})
    if len(data.keys() & {"days", "months"}) != 1:
        raise c.fail(path, "须且仅须给出 days 或 months 之一", "give exactly one of days or months")
    if "days" in data:
        return RecordingWindow(days=c.positive_int(data["days"], path + ("days",)))
    return RecordingWindow(months=c.positive_int(data["months"], path + ("months",)))


def _read_default_validity(c: Checker, value: Any, path: Path_):
    data = c.mapping(value, path, _VALIDITY_KEYS)
    deductions = c.field(data, "deduction_years", path, lambda v, p: _read_deduction_rules(c, v, p))
    honours = c.field(data, "honour_years", path, lambda v, p: _read_honour_years(c, v, p))
    positive = c.field(data, "positive_years", path, c.positive_int)
    if None in (deductions, honours, positive):
        return None
    return deductions, honours, positive


def _read_deduction_rules(c: Checker, value: Any, path: Path_) -> tuple[DeductionValidity, ...] | None:
    """Rules by deduction size, smallest first; the last one (no ``up_to``) covers every larger deduction."""
    rows = c.sequence(value, path)
    before = len(c.problems)
    out: list[DeductionValidity] = []
    for i, row in enumerate(rows):
        p, last = path + (i,), i == len(rows) - 1
        try:
            data = c.mapping(row, p, {"up_to": False, "years": True})
        except _Invalid:
            continue
        years = c.field(data, "years", p, c.positive_int)
        up_to = c.field(data, "up_to", p, c.points)
        if last and "up_to" in data:
            c.problem(p + ("up_to",), "最后一条适用于其余所有扣分，不设 up_to",
                      "the last rule covers every larger deduction and has no up_to")
        elif not last and "up_to" not in data:
            c.problem(p, "除最后一条外须给出 up_to", "every rule but the last needs up_to")
        elif up_to is not None and (up_to <= 0 or (out and out[-1].up_to is not None and up_to <= out[-1].up_to)):
            c.problem(p + ("up_to",), "up_to 须为正数且逐条递增", "up_to must be positive and strictly increase")
        out.append(DeductionValidity(None if last else up_to, years or 0))
    return tuple(out) if len(c.problems) == before else None


def _read_honour_years(c: Checker, value: Any, path: Path_) -> dict[str, int]:
    if not isinstance(value, dict) or not value:
        raise c.fail(path, "应为“级别: 年数”的映射", "expected a mapping level: years")
    out = {}
    for key, years in value.items():
        try:
            out[_level_key(c, key, path + (key,))] = c.positive_int(years, path + (key,))
        except _Invalid:
            pass
    return out


def _level_key(c: Checker, key: Any, path: Path_) -> str:
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise c.fail(path, "级别键应为小写英文与下划线，如 county", "a level key is lower-case ASCII such as county")
    return key


# --- items ------------------------------------------------------------------------------------------


def _read_items(c: Checker, value: Any, path: Path_, scoring: Scoring | None) -> tuple[Item, ...]:
    rows = c.sequence(value, path)
    items: list[Item] = []
    indexes: dict[str, int] = {}
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        item = _read_item(c, row, path + (i,), scoring)
        code = row.get("code") if isinstance(row, dict) else None
        if isinstance(code, str):
            if code in seen:
                c.problem(path + (i, "code"), f"事项代码“{code}”重复（与 items[{seen[code]}] 相同）",
                          f"duplicate item code {code!r} (same as items[{seen[code]}])")
            seen.setdefault(code, i)
        if item is not None:
            items.append(item)
            indexes[item.code] = i
    _check_replacements(c, path, items, indexes)
    return tuple(items)


def _read_item(c: Checker, value: Any, path: Path_, scoring: Scoring | None) -> Item | None:
    try:
        data = c.mapping(value, path, _ITEM_KEYS)
    except _Invalid:
        return None
    before = len(c.problems)

    def code(v: Any, p: Path_) -> str:
        if not isinstance(v, str) or not _CODE_RE.match(v):
            raise c.fail(p, "事项代码应为大写字母、数字和连字符，如 VOL-HOURS",
                         "an item code is capitals, digits and hyphens such as VOL-HOURS")
        return v

    item_code = c.field(data, "code", path, code)
    name_zh = c.field(data, "name_zh", path, c.text)
    name_en = c.field(data, "name_en", path, c.text)
    behaviour = c.field(data, "behaviour_zh", path, c.text)
    category = c.field(data, "category", path, c.enum(CATEGORIES))
    direction = c.field(data, "direction", path, c.enum(DIRECTIONS))
    points = c.field(data, "points", path, lambda v, p: _read_points(c, v, p, direction, scoring))
    subject_kinds = c.field(data, "subject_kinds", path, c.enum_list(SUBJECT_KINDS))
    validity = c.field(data, "validity", path, lambda v, p: _read_item_validity(c, v, p))
    logged_by = c.field(data, "logged_by", path, c.enum_list(ROLES))
    evidence = c.field(data, "evidence", path, c.enum(EVIDENCE))
    needs_review = c.field(data, "needs_review", path, c.boolean)
    repeat_doubles = c.field(data, "repeat_doubles", path, c.boolean, default=False)
    cap = c.field(data, "cap_per_year", path, c.points)
    disclosure = c.field(data, "disclosure", path, lambda v, p: _read_disclosure(c, v, p))
    notes = c.field(data, "notes_zh", path, c.text)
    severity = c.field(data, "severity", path, c.enum(SEVERITIES))
    repair = c.field(data, "repair", path, lambda v, p: _read_item_repair(c, v, p), default=ItemRepair())

    if (severity is not None or "repair" in data) and direction == "positive":
        c.problem(path + ("severity" if severity is not None else "repair",),
                  "只有扣分（负面）事项有失信程度和信用修复规则", "only negative items have a severity and repair rules")
    if direction == "negative" and needs_review is False:
        c.problem(path + ("needs_review",), "扣分事项须经审核后生效（needs_review: true）",
                  "a negative item must need review before it counts")
    if repeat_doubles and (direction != "negative" or isinstance(points, DirectGrade)):
        c.problem(path + ("repeat_doubles",), "只有扣分事项可以重复加倍", "only deductions can double on repeat")
    if cap is not None and cap <= 0:
        c.problem(path + ("cap_per_year",), "年度上限应为正数", "cap_per_year must be positive")
    if isinstance(points, DirectGrade) and validity not in (None, "by_rule"):
        c.problem(path + ("validity",), "直接判级事项的期限由 scoring.direct_downgrade_years 决定，validity 应为 by_rule",
                  "a direct-grade item's term comes from scoring.direct_downgrade_years; use validity: by_rule")
    if len(c.problems) > before:
        return None
    return Item(item_code, name_zh, name_en, behaviour, category, direction, points, subject_kinds,
                None if validity == "by_rule" else validity, logged_by, evidence, needs_review,
                bool(repeat_doubles), cap, disclosure, notes, severity, repair or ItemRepair())


def _read_item_repair(c: Checker, value: Any, path: Path_) -> ItemRepair | None:
    """``repair: {routes: [...], replaced_by: CODE, replaced_on_routes: [...]}``; that ``replaced_by``
    names a negative fixed-points item of the same version is checked once all items are read."""
    data = c.mapping(value, path, _ITEM_REPAIR_KEYS)
    routes = c.field(data, "routes", path, c.enum_list(REPAIR_ROUTES + (SOURCE_REMOVAL,)), default=REPAIR_ROUTES)

    def code(v: Any, p: Path_) -> str:
        if not isinstance(v, str) or not _CODE_RE.match(v):
            raise c.fail(p, "应为事项代码", "expected an item code")
        return v

    replaced_by = c.field(data, "replaced_by", path, code)
    on_routes = c.field(data, "replaced_on_routes", path, c.enum_list(REPAIR_ROUTES + (SOURCE_REMOVAL,)))
    if on_routes is not None and replaced_by is None:
        c.problem(path + ("replaced_on_routes",), "未设 replaced_by 时不能设 replaced_on_routes",
                  "replaced_on_routes needs replaced_by")
    if routes is None:
        return None
    return ItemRepair(routes=tuple(routes), replaced_by=replaced_by, replaced_on_routes=on_routes)


def _check_replacements(c: Checker, path: Path_, items: list[Item], indexes: dict[str, int]) -> None:
    """Every ``repair.replaced_by`` names a negative fixed-points item of this version."""
    by_code = {i.code: i for i in items}
    for item in items:
        code = item.repair.replaced_by
        if code is None:
            continue
        target = by_code.get(code)
        if target is None or target.direction != "negative" or not isinstance(target.points, FixedPoints):
            c.problem(path + (indexes[item.code], "repair", "replaced_by"),
                      f"修复后改记的事项“{code}”应为本版目录中的固定扣分事项",
                      f"replaced_by {code!r} must be a fixed-points deduction item of this version")


def _read_item_validity(c: Checker, value: Any, path: Path_) -> int | str:
    if value == "by_rule":
        return "by_rule"
    if isinstance(value, dict):
        data = c.mapping(value, path, {"years": True})
        if "years" in data:
            return c.positive_int(data["years"], path + ("years",))
        raise _Invalid()
    raise c.fail(path, "有效期应为 by_rule 或 {years: N}", "validity must be by_rule or {years: N}")


def _read_disclosure(c: Checker, value: Any, path: Path_) -> Disclosure | None:
    data = c.mapping(value, path, _DISCLOSURE_KEYS)
    values = [
        c.field(data, "publicity", path, c.enum(PUBLICITY)),
        c.field(data, "sharing_scope", path, c.text),
        c.field(data, "source", path, c.text),
        c.field(data, "channel", path, c.text),
        c.field(data, "update_frequency", path, c.enum(UPDATE_FREQUENCIES)),
        c.field(data, "legal_basis", path, c.text),
    ]
    return None if None in values else Disclosure(*values)


def _read_points(c: Checker, value: Any, path: Path_, direction: str | None,
                 scoring: Scoring | None) -> PointsRule | None:
    """A number (fixed) or a mapping with exactly one of ``by_level``, ``tiered``, ``direct_grade``."""

    def signed(points: int, p: Path_) -> None:
        if points == 0:
            c.problem(p, "分值不能为0", "points must not be zero")
        elif direction == "positive" and points < 0:
            c.problem(p, "加分事项（positive）的分值应为正数", "a positive item needs points above zero")
        elif direction == "negative" and points > 0:
            c.problem(p, "扣分事项（negative）的分值应为负数，如 -10", "a negative item needs points below zero, e.g. -10")

    if not isinstance(value, dict):
        fixed = c.points(value, path)
        signed(fixed, path)
        return FixedPoints(fixed)
    data = c.mapping(value, path, {"by_level": False, "tiered": False, "direct_grade": False})
    kinds = [k for k in ("by_level", "tiered", "direct_grade") if k in data]
    if len(kinds) != 1:
        raise c.fail(path, "须且仅须给出 by_level、tiered、direct_grade 之一，或直接写分值",
                     "give exactly one of by_level, tiered, direct_grade, or a plain number")
    kind, p = kinds[0], path + (kinds[0],)
    if kind == "direct_grade":
        grade = data[kind]
        if not isinstance(grade, str) or not _GRADE_RE.match(grade):
            raise c.fail(p, "应为等级名，如 D", "expected a grade name such as D")
        if direction != "negative":
            c.problem(path, "直接判级只用于扣分事项（negative）", "direct_grade is only for negative items")
        if scoring is not None and grade not in scoring.direct_downgrade_years:
            raise c.fail(p, f"等级“{grade}”未在 scoring.direct_downgrade_years 中给出期限",
                         f"grade {grade!r} has no term in scoring.direct_downgrade_years")
        return DirectGrade(str(grade))
    if kind == "by_level":
        levels: list[Level] = []
        for i, row in enumerate(c.sequence(data[kind], p)):
            q = p + (i,)
            try:
                lv = c.mapping(row, q, {"key": True, "name_zh": True, "points": True})
                key = _level_key(c, lv.get("key"), q + ("key",))
            except _Invalid:
                continue
            if key in [x.key for x in levels]:
                c.problem(q + ("key",), f"级别“{key}”重复", f"level {key!r} is listed twice")
            name = c.field(lv, "name_zh", q, c.text)
            pts = c.field(lv, "points", q, c.points)
            if pts is not None:
                signed(pts, q + ("points",))
            if name is not None and pts is not None:
                levels.append(Level(key, name, pts))
        return LevelPoints(tuple(levels))
    tiered = c.mapping(data[kind], p, {"unit_zh": True, "tiers": True})
    unit = c.field(tiered, "unit_zh", p, c.text)
    if "tiers" not in tiered:
        raise _Invalid()
    tiers: list[Tier] = []
    for i, row in enumerate(c.sequence(tiered["tiers"], p + ("tiers",))):
        q = p + ("tiers", i)
        try:
            tr = c.mapping(row, q, {"at": True, "total": True})
        except _Invalid:
            continue
        at = c.field(tr, "at", q, c.quantity)
        total = c.field(tr, "total", q, c.points)
        if total is not None:
            signed(total, q + ("total",))
        if at is None or total is None:
            continue
        if tiers and at <= tiers[-1].at:
            c.problem(q + ("at",), "档位数量须严格递增", "tier quantities (at) must strictly increase")
        elif tiers and abs(total) <= abs(tiers[-1].total):
            c.problem(q + ("total",), "档位分值须严格递增", "tier totals must strictly increase")
        tiers.append(Tier(at, total))
    if direction == "negative":
        c.problem(p, "累计分档只用于加分事项", "tiered points are only for positive items")
    return TieredPoints(unit or "", tuple(tiers))


# --- ratings (三级联创: 信用户 → 信用村 → 信用乡镇) ------------------------------------------------------

_HOUSEHOLD_GRADE_RE = re.compile(rf"^([A-Z]{{1,4}}[+-]?|{NOT_CREDIT_GRADE})$")
_MONTH_DAY_RE = re.compile(r"^(\d{2})-(\d{2})$")
_RATINGS_KEYS = {"household": True, "village": True, "township": True, "approval": True}
_HOUSEHOLD_KEYS = {"max_score": True, "member_aggregate": True, "adult_age": True,
                   "member_scale": True, "family_charge_items": True, "grades": True, "credit_grades": True,
                   "disqualifying_member_grades": True, "direct_downgrade_disqualifies": True,
                   "serious_dishonesty_disqualifies": True}
_VILLAGE_KEYS = {"credit_household_share": True, "max_serious_dishonesty": True,
                 "serious_dishonesty_items": True, "stars": True}
_TOWNSHIP_KEYS = {"credit_village_share": True}
_APPROVAL_KEYS = {"second_approver_for": True, "publicity_working_days": True, "period": True,
                  "close_dates": True}


def _read_ratings(c: Checker, value: Any, path: Path_, scoring: Scoring | None, items: tuple[Item, ...],
                  raw_codes: set[Any]) -> RatingRules | None:
    """The optional ``ratings:`` section; item codes it names must be items of the same version."""
    data = c.mapping(value, path, _RATINGS_KEYS)
    by_code = {i.code: i for i in items}
    household = c.field(data, "household", path,
                        lambda v, p: _read_household(c, v, p, scoring, by_code, raw_codes))
    village = c.field(data, "village", path, lambda v, p: _read_village(c, v, p, by_code, raw_codes))
    township = c.field(data, "township", path, lambda v, p: _read_township(c, v, p))
    approval = c.field(data, "approval", path, lambda v, p: _read_approval(c, v, p))
    if None in (household, village, township, approval):
        return None
    return RatingRules(household, village, township, approval)


def _percent(c: Checker, value: Any, path: Path_) -> Decimal:
    """A share in percent, 0 < x ≤ 100, kept exact (``70`` or ``66.7``)."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or not 0 < value <= 100:
        raise c.fail(path, "应为百分比数值，大于0且不超过100（如 70 表示70%）",
                     "expected a percentage above 0 and at most 100 (70 means 70 %)")
    return Decimal(value)


def _non_negative_int(c: Checker, value: Any, path: Path_) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise c.fail(path, "应为非负整数", "expected a whole number, zero or more")
    return value


def _item_codes(c: Checker, by_code: dict[str, Item], raw_codes: set[Any], what_zh: str, what_en: str,
                *, allow_direct_grade: bool) -> Callable[[Any, Path_], tuple[str, ...]]:
    """A list of item codes of this version: negative items a person can carry."""

    def read(value: Any, path: Path_) -> tuple[str, ...]:
        out: list[str] = []
        for i, code in enumerate(c.sequence(value, path)):
            p = path + (i,)
            if not isinstance(code, str) or code not in raw_codes:
                c.problem(p, f"{what_zh}“{code}”不是本版目录中的事项", f"{what_en} {code!r} is not an item of this version")
                continue
            if code in out:
                c.problem(p, f"“{code}”重复", f"{code!r} is listed twice")
                continue
            out.append(code)
            item = by_code.get(code)
            if item is None:
                continue  # the item itself is broken; its problems are already reported
            if item.direction != "negative":
                c.problem(p, f"{what_zh}“{code}”应为扣分事项", f"{what_en} {code!r} must be a negative item")
            if "person" not in item.subject_kinds:
                c.problem(p, f"{what_zh}“{code}”须适用于个人（subject_kinds 含 person）",
                          f"{what_en} {code!r} must apply to persons")
            if not allow_direct_grade and isinstance(item.points, DirectGrade):
                c.problem(p, f"{what_zh}“{code}”为直接判级事项，没有分值可计入户",
                          f"{what_en} {code!r} is a direct-grade item with no points to charge")
        return tuple(out)

    return read


def _read_household(c: Checker, value: Any, path: Path_, scoring: Scoring | None, by_code: dict[str, Item],
                    raw_codes: set[Any]) -> HouseholdRules | None:
    data = c.mapping(value, path, _HOUSEHOLD_KEYS)
    before = len(c.problems)
    max_score = c.field(data, "max_score", path, c.whole_points)
    aggregate = c.field(data, "member_aggregate", path, c.enum(MEMBER_AGGREGATES))
    adult_age = c.field(data, "adult_age", path, c.positive_int)
    scale = c.field(data, "member_scale", path, lambda v, p: _read_member_scale(c, v, p, max_score))
    charges = c.field(data, "family_charge_items", path,
                      _item_codes(c, by_code, raw_codes, "家庭责任事项", "family-charge item", allow_direct_grade=False))
    grades = c.field(data, "grades", path, lambda v, p: _read_grades(c, v, p, _HOUSEHOLD_GRADE_RE))
    names = tuple(b.grade for b in grades) if grades else ()

    def credit(v: Any, p: Path_) -> tuple[str, ...]:
        picked = c.enum_list(names)(v, p) if names else ()
        if names and picked and set(picked) != set(names[:len(picked)]):
            raise c.fail(p, "信用户等级须为最高的若干档（如 AAA、AA、A）",
                         "credit grades must be the best bands, without a gap (e.g. AAA, AA, A)")
        if names and len(set(picked)) >= len(names):
            raise c.fail(p, "最低一档不能是信用户等级（须有“不是信用户”的一档）",
                         "the lowest band cannot be a credit grade (some band must mean not a credit household)")
        return picked

    credit_grades = c.field(data, "credit_grades", path, credit)
    person_grades = scoring.grade_names if scoring is not None else ()

    def member_grades(v: Any, p: Path_) -> tuple[str, ...]:
        if isinstance(v, list) and not v:
            return ()
        if not person_grades:
            return tuple(c.sequence(v, p))
        return c.enum_list(person_grades)(v, p)

    disqualifying = c.field(data, "disqualifying_member_grades", path, member_grades)
    by_downgrade = c.field(data, "direct_downgrade_disqualifies", path, c.boolean)
    by_serious = c.field(data, "serious_dishonesty_disqualifies", path, c.boolean)

    if grades and max_score is not None:
        for i, band in enumerate(grades):
            if band.min is not None and not 0 < band.min <= max_score:
                c.problem(path + ("grades", i, "min"), "分数线须大于0且不超过满分（max_score）",
                          "a threshold must be above 0 and at most max_score")
    if len(c.problems) > before or None in (max_score, aggregate, adult_age, scale, charges, grades,
                                            credit_grades, disqualifying, by_downgrade, by_serious):
        return None
    rules = HouseholdRules(max_score, aggregate, adult_age, scale, charges, grades, credit_grades,
                           disqualifying, by_downgrade, by_serious)
    if scoring is not None:
        _check_scale_agrees(c, path + ("member_scale",), rules, scoring)
    return rules if len(c.problems) == before else None


def _read_member_scale(c: Checker, value: Any, path: Path_, max_score: int | None) -> tuple[ScalePoint, ...] | None:
    """个人积分折算户分: points best first, personal strictly falling, household never rising, within 0..max."""
    rows = c.sequence(value, path)
    before = len(c.problems)
    if len(rows) < 2:
        c.problem(path, "对照表至少需要两个点", "the member scale needs at least two points")
    out: list[ScalePoint] = []
    for i, row in enumerate(rows):
        p = path + (i,)
        try:
            data = c.mapping(row, p, {"personal": True, "household": True})
        except _Invalid:
            continue
        personal = c.field(data, "personal", p, c.points)
        household = c.field(data, "household", p, c.points)
        if personal is None or household is None:
            continue
        if max_score is not None and not 0 <= household <= max_score:
            c.problem(p + ("household",), "户分须在0与满分（max_score）之间", "household points must be between 0 and max_score")
        if out and personal >= out[-1].personal:
            c.problem(p + ("personal",), "个人积分须从高到低逐点递减", "personal scores must fall strictly from point to point")
        if out and household > out[-1].household:
            c.problem(p + ("household",), "户分不能随个人积分降低而升高（须从高到低）",
                      "household points must not rise as the personal score falls")
        out.append(ScalePoint(personal, household))
    return tuple(out) if len(c.problems) == before else None


def _check_scale_agrees(c: Checker, path: Path_, h: HouseholdRules, scoring: Scoring) -> None:
    """The household rule agrees with the personal one: a member at the start of a personal grade is worth
    at least the start of the household band of the same name, and a member at the start of the personal
    default grade (A) at least the lowest credit band — so a household whose members are all A or better
    (with no family charges, no deductions of its own and no disqualifier) is a 信用户, whatever the numbers."""
    top, bottom = h.member_scale[0].personal, h.member_scale[-1].personal
    if not bottom <= scoring.base <= top:
        c.problem(path, f"对照表须覆盖个人基础分{format_points(scoring.base, signed=False)}分",
                  f"the member scale must cover the personal base {format_points(scoring.base, signed=False)}")
    household_min = {b.grade: b.min for b in h.grades if b.min is not None}
    credit_min = h.lowest_credit_min
    for band in scoring.grades:
        if scoring.severity(band.grade) > scoring.severity(scoring.default_grade):
            break
        low = band.min if band.min is not None else bottom
        worth = h.scale(low)
        wanted = [(credit_min, "最低信用户等级", "the lowest credit band")] if band.grade == scoring.default_grade else []
        if band.grade in h.credit_grades and band.grade in household_min:
            wanted.append((household_min[band.grade], f"户{band.grade}级", f"household {band.grade}"))
        for need, what_zh, what_en in wanted:
            if worth < need:
                c.problem(path, f"个人{band.grade}级的最低分{format_points(low, signed=False)}分折算为户分"
                                f"{_fraction_points(worth)}分，低于{what_zh}分数线{format_points(need, signed=False)}分："
                                f"全家都是个人{band.grade}级的农户会评不到这一档",
                          f"a member at the start of personal grade {band.grade} "
                          f"({format_points(low, signed=False)}) is worth {_fraction_points(worth)} household points, "
                          f"below {what_en} ({format_points(need, signed=False)}): a household whose members are all "
                          f"{band.grade} would not reach it")
                break


def _fraction_points(tenths: Fraction) -> str:
    """Non-negative exact tenths as points, to two decimals rounded down (for a message: never flatters)."""
    hundredths = floor(tenths * 10)
    return f"{hundredths // 100}.{hundredths % 100:02d}".rstrip("0").rstrip(".")


def _read_village(c: Checker, value: Any, path: Path_, by_code: dict[str, Item],
                  raw_codes: set[Any]) -> VillageRules | None:
    data = c.mapping(value, path, _VILLAGE_KEYS)
    before = len(c.problems)
    share = c.field(data, "credit_household_share", path, lambda v, p: _percent(c, v, p))
    limit = c.field(data, "max_serious_dishonesty", path, lambda v, p: _non_negative_int(c, v, p))
    serious = c.field(data, "serious_dishonesty_items", path,
                      _item_codes(c, by_code, raw_codes, "严重失信事项", "serious-dishonesty item", allow_direct_grade=True))

    def stars(v: Any, p: Path_) -> tuple[StarBand, ...]:
        out: list[StarBand] = []
        for i, row in enumerate(c.sequence(v, p, non_empty=False)):
            q = p + (i,)
            try:
                band = c.mapping(row, q, {"stars": True, "min_share": True})
            except _Invalid:
                continue
            n = c.field(band, "stars", q, c.positive_int)
            at = c.field(band, "min_share", q, lambda x, r: _percent(c, x, r))
            if n is None or at is None:
                continue
            if out and (n >= out[-1].stars or at >= out[-1].min_share):
                c.problem(q, "星级须从高到低排列，星数与占比下限逐档递减",
                          "star bands go from most stars down, with strictly decreasing stars and min_share")
            elif share is not None and at < share:
                c.problem(q + ("min_share",), "星级占比下限不能低于信用村标准（credit_household_share）",
                          "a star band's min_share cannot be below credit_household_share")
            out.append(StarBand(n, at))
        return tuple(out)

    star_bands = c.field(data, "stars", path, stars)
    if len(c.problems) > before or None in (share, limit, serious, star_bands):
        return None
    return VillageRules(share, limit, serious, star_bands)


def _read_township(c: Checker, value: Any, path: Path_) -> TownshipRules | None:
    data = c.mapping(value, path, _TOWNSHIP_KEYS)
    share = c.field(data, "credit_village_share", path, lambda v, p: _percent(c, v, p))
    return None if share is None else TownshipRules(share)


def _read_approval(c: Checker, value: Any, path: Path_) -> ApprovalRules | None:
    data = c.mapping(value, path, _APPROVAL_KEYS)
    before = len(c.problems)

    def levels(v: Any, p: Path_) -> tuple[str, ...]:
        if isinstance(v, list) and not v:
            return ()
        return c.enum_list(RATING_LEVELS)(v, p)

    second = c.field(data, "second_approver_for", path, levels)
    days = c.field(data, "publicity_working_days", path, c.positive_int)
    period = c.field(data, "period", path, c.enum(RATING_PERIODS))
    closes = c.field(data, "close_dates", path, lambda v, p: _read_close_dates(c, v, p))
    if len(c.problems) > before or None in (second, days, period, closes):
        return None
    return ApprovalRules(second, days, period, closes)


def _read_close_dates(c: Checker, value: Any, path: Path_) -> dict[str, tuple[int, int]] | None:
    """``{household: "12-31", village: "01-31", township: "02-28"}``: in cycle order, within one year."""
    data = c.mapping(value, path, {level: True for level in RATING_LEVELS})
    out: dict[str, tuple[int, int]] = {}
    for level in RATING_LEVELS:
        if level not in data:
            continue
        p, raw = path + (level,), data[level]
        m = _MONTH_DAY_RE.match(raw) if isinstance(raw, str) else None
        try:
            if m is None:
                raise ValueError
            month, day = int(m.group(1)), int(m.group(2))
            date(2025, month, day)  # a non-leap year: 02-29 has no close date three years in four
        except ValueError:
            c.problem(p, "截止日期应为带引号的“月-日”，如 \"12-31\"（不可为2月29日）",
                      'a close date is a quoted "MM-DD" such as "12-31" (not 02-29)')
            continue
        out[level] = (month, day)
    if len(out) != len(RATING_LEVELS):
        return None
    # Days after the household close, within one year: each level must close after the one before.
    first = date(2025, *out["household"])
    offsets = [(date(2025, *out[level]) - first).days % 365 for level in RATING_LEVELS]
    for level, before, after in zip(RATING_LEVELS[1:], offsets, offsets[1:]):
        if after <= before:
            c.problem(path + (level,), "截止日期须按 户→村→乡镇 的顺序先后排列（同一年度周期内）",
                      "close dates must follow household → village → township within one annual cycle")
            return None
    return out
