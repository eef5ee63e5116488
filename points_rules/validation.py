"""Check one parsed catalogue file and build its ``CatalogueVersion``, collecting every problem.

Each problem carries the file, the YAML line and the path (``items[3].points.tiers[2].at``) and a
Chinese and an English message. Checks across files (unique versions and dates) are in ``loader``.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any, Callable, TypeVar

from points_rules.model import (
    CATEGORIES, DIRECTIONS, EVIDENCE, PUBLICITY, ROLES, SUBJECT_KINDS, UPDATE_FREQUENCIES,
    CatalogueProblem, CatalogueVersion, DeductionValidity, DirectGrade, Disclosure, FixedPoints,
    GradeBand, Item, Level, LevelPoints, PointsRule, RecordingWindow, Scoring, Tier, TieredPoints,
)
from points_rules.units import POINT_UNIT, points_from_decimal
from points_rules.yaml_source import Path_, YamlSource, format_path

T = TypeVar("T")

_CODE_RE = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_GRADE_RE = re.compile(r"^[A-Z]{1,4}[+-]?$")
_VERSION_RE = re.compile(r"^\d{4}\.\d+$")

_TOP_KEYS = {"version": True, "effective_from": True, "title_zh": True, "title_en": False,
             "notes_zh": False, "scoring": True, "items": True}
_SCORING_KEYS = {"base": True, "grades": True, "default_grade": True, "grade_after_repair": True,
                 "direct_downgrade_years": True, "recording_window": True, "validity": True}
_VALIDITY_KEYS = {"deduction_years": True, "honour_years": True, "positive_years": True}
_ITEM_KEYS = {"code": True, "name_zh": True, "name_en": False, "behaviour_zh": True, "category": True,
              "direction": True, "points": True, "subject_kinds": True, "validity": True, "logged_by": True,
              "evidence": True, "needs_review": True, "repeat_doubles": False, "cap_per_year": False,
              "disclosure": True, "notes_zh": False}
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
    if c.problems or None in (version, effective_from, title_zh, scoring):
        return None, c.problems
    return CatalogueVersion(version, effective_from, title_zh, scoring, tuple(items),
                            source_file=source.file), []


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
    if None in (base, grades, default_grade, after_repair, terms, window, validity):
        return None
    deductions, honours, positive_years = validity
    return Scoring(base, grades, default_grade, after_repair, terms, window, deductions, honours, positive_years)


def _read_grades(c: Checker, value: Any, path: Path_) -> tuple[GradeBand, ...] | None:
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
        if not isinstance(grade, str) or not _GRADE_RE.match(grade):
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
                bool(repeat_doubles), cap, disclosure, notes)


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
