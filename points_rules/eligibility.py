"""激励惩戒措施清单 — which listed measure applies to a household on a day (条例 arts. 38–43). Pure.

A measure (措施) is an incentive (激励) or a restriction (惩戒), with a category, a term and a closed
set of conditions; nothing outside the county's list is ever applied (art. 39, art. 43 para. 2).
What a household *is* on a day comes from three facts, each read "as it stood on that day":

- its official 信用户 rating: the effective rating of the latest period among those effective on the day
  (:func:`rating_on`) — a rating that becomes effective later never reaches back;
- its village's 信用村 and its township's 信用乡镇 rating, the same way;
- whether a serious-dishonesty entry (严重失信, art. 41) was in force on the day *and known then*:
  recorded by the end of the day, not yet repaired (reversed) by then (:func:`serious_on`). A repair
  or an expiry ends the restriction from that day on; a late record or late repair never changes
  what a past day's list says, so a list for a past day is the same whenever it is built.

Art. 42 (三): a household with serious dishonesty in force gets no incentive of category subsidy
(财政性资金和项目支持) or financial support (金融信贷支持), whatever else it qualifies for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

INCENTIVE, RESTRICTION = "incentive", "restriction"
KINDS = {INCENTIVE: "激励措施", RESTRICTION: "惩戒措施"}

SUBSIDY, FINANCIAL = "subsidy", "financial"
CATEGORIES = {
    SUBSIDY: "财政补贴与项目支持",
    FINANCIAL: "金融信贷支持",
    "administrative": "行政便利",
    "publicity": "宣传推介",
    "supervision": "日常监管",
    "other": "其他",
}
# Art. 42 (三): closed to a household with serious dishonesty in force.
SERIOUS_DISHONESTY_BARS = frozenset({SUBSIDY, FINANCIAL})

GRADE_AT_LEAST = "household_grade_at_least"
GRADE_IN = "household_grade_in"
VILLAGE_CREDIT = "village_is_credit"
TOWNSHIP_CREDIT = "township_is_credit"
SERIOUS_DISHONESTY = "serious_dishonesty"
CONDITIONS = {
    GRADE_AT_LEAST: "户信用等级不低于",
    GRADE_IN: "户信用等级为",
    VILLAGE_CREDIT: "所在村为信用村",
    TOWNSHIP_CREDIT: "所在乡镇为信用乡镇",
    SERIOUS_DISHONESTY: "存在有效的严重失信记录",
}
# Restrictions follow a household's own dishonesty only — never its village's or township's
# status (no collective punishment, no "一刀切").
RESTRICTION_CONDITIONS = frozenset({SERIOUS_DISHONESTY, GRADE_IN})
INCENTIVE_CONDITIONS = frozenset({GRADE_AT_LEAST, GRADE_IN, VILLAGE_CREDIT, TOWNSHIP_CREDIT})


class MeasureProblem(ValueError):
    """A measure that cannot be on the list as written; ``code`` is stable, the message Chinese."""

    def __init__(self, code: str, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.code, self.message_zh, self.message_en = code, message_zh, message_en


@dataclass(frozen=True)
class Condition:
    kind: str
    grades: tuple[str, ...] = ()  # GRADE_AT_LEAST: one grade; GRADE_IN: the grades

    def as_dict(self) -> dict[str, Any]:
        if self.kind == GRADE_AT_LEAST:
            return {"kind": self.kind, "grade": self.grades[0]}
        if self.kind == GRADE_IN:
            return {"kind": self.kind, "grades": list(self.grades)}
        return {"kind": self.kind}


@dataclass(frozen=True)
class Measure:
    id: int
    kind: str
    category: str
    name_zh: str
    conditions: tuple[Condition, ...]
    valid_from: date
    valid_to: date | None  # inclusive; None = open-ended


@dataclass(frozen=True)
class RatingFact:
    """One effective official rating (of a household, village or township) and its period."""

    period_id: int
    period_code: str
    period_name_zh: str
    period_ends_on: date
    effective_on: date
    grade: str  # household: AAA/AA/A/none; village and township: credit/none
    is_credit: bool
    publicity_starts_on: date | None = None
    publicity_ends_on: date | None = None


@dataclass(frozen=True)
class SeriousEntry:
    """A ledger entry of a serious-dishonesty item (of a member or the household itself)."""

    entry_id: int
    valid_from: date
    valid_until: date  # exclusive, as in the ledger
    recorded_on: date  # local day the entry was written
    reversed_on: date | None = None  # local day its reversal (correction or repair) was written


@dataclass(frozen=True)
class HouseholdFacts:
    as_of: date
    rating: RatingFact | None
    village: RatingFact | None
    township: RatingFact | None
    serious_dishonesty: bool


@dataclass(frozen=True)
class Decision:
    measure_id: int
    applies: bool
    code: str  # APPLIES | NOT_IN_TERM | SERIOUS_DISHONESTY_BARS | CONDITION_NOT_MET
    reason_zh: str


def parse_conditions(raw: Sequence[Any], grade_order: Sequence[str]) -> tuple[Condition, ...]:
    """The closed set of conditions, from their JSON form; anything else is a ``MeasureProblem``."""
    if not isinstance(raw, (list, tuple)) or not raw:
        raise MeasureProblem("MEASURE_CONDITIONS", "措施至少须有一项适用条件", "A measure needs at least one condition")
    out: list[Condition] = []
    for item in raw:
        kind = item.get("kind") if isinstance(item, dict) else None
        if kind not in CONDITIONS:
            raise MeasureProblem("MEASURE_CONDITIONS", f"不支持的适用条件：{kind}（只能从清单规定的条件中选择）",
                                 f"Unknown condition {kind!r}")
        allowed = {"kind", "grade"} if kind == GRADE_AT_LEAST else {"kind", "grades"} if kind == GRADE_IN else {"kind"}
        if set(item) - allowed:
            raise MeasureProblem("MEASURE_CONDITIONS", f"适用条件 {kind} 含有多余字段",
                                 f"Condition {kind} has unknown fields {sorted(set(item) - allowed)}")
        grades: tuple[str, ...] = ()
        if kind == GRADE_AT_LEAST:
            grades = (item.get("grade"),)
        elif kind == GRADE_IN:
            value = item.get("grades")
            grades = tuple(value) if isinstance(value, list) else ()
            if not grades or len(set(grades)) != len(grades):
                raise MeasureProblem("MEASURE_CONDITIONS", "“户信用等级为”须列出不重复的等级",
                                     "household_grade_in needs distinct grades")
        unknown = [g for g in grades if g not in grade_order]
        if unknown:
            raise MeasureProblem("MEASURE_CONDITIONS", f"等级 {unknown} 不在现行等级 {list(grade_order)} 中",
                                 f"Unknown grades {unknown}")
        if kind == GRADE_IN:
            grades = tuple(g for g in grade_order if g in grades)  # canonical order
        condition = Condition(kind, grades)
        if any(c.kind == kind for c in out):
            raise MeasureProblem("MEASURE_CONDITIONS", f"适用条件 {kind} 重复", f"Condition {kind} repeated")
        out.append(condition)
    return tuple(out)


def check_measure(kind: str, category: str, conditions: Sequence[Condition],
                  valid_from: date, valid_to: date | None) -> None:
    """Lawful, related and proportional (art. 43) as far as rules can tell; raises ``MeasureProblem``."""
    if kind not in KINDS:
        raise MeasureProblem("MEASURE_KIND", "措施类型只能是激励或惩戒", "kind must be incentive or restriction")
    if category not in CATEGORIES:
        raise MeasureProblem("MEASURE_CATEGORY", f"措施类别只能是：{'、'.join(CATEGORIES.values())}",
                             "Unknown category")
    if valid_to is not None and valid_to < valid_from:
        raise MeasureProblem("MEASURE_TERM", "措施终止日期不能早于起始日期", "valid_to is before valid_from")
    kinds = {c.kind for c in conditions}
    if kind == INCENTIVE and not kinds <= INCENTIVE_CONDITIONS:
        raise MeasureProblem("MEASURE_CONDITIONS", "激励措施不能以严重失信为适用条件",
                             "An incentive cannot apply to serious dishonesty")
    if kind == RESTRICTION:
        if not kinds <= RESTRICTION_CONDITIONS:
            raise MeasureProblem("MEASURE_CONDITIONS", "惩戒措施只能针对本户自身的失信情况，不能以所在村、乡镇的评定结果为条件（不搞“一刀切”）",
                                 "A restriction may follow only the household's own record")
        if SERIOUS_DISHONESTY not in kinds and category in SERIOUS_DISHONESTY_BARS:
            # art. 40 (三) / art. 42 (三): subsidies and financial support are restricted for dishonesty
            # listed in law; a low grade alone is not such a finding.
            raise MeasureProblem("MEASURE_CONDITIONS", "限制财政补贴、金融支持的惩戒措施须以严重失信为条件（条例第四十二条）",
                                 "Restricting subsidies or financial support needs serious dishonesty (art. 42)")


def rating_on(ratings: Iterable[RatingFact], day: date) -> RatingFact | None:
    """The rating in effect on ``day``: among those effective by then, the latest period's."""
    effective = [r for r in ratings if r.effective_on <= day]
    if not effective:
        return None
    return max(effective, key=lambda r: (r.period_ends_on, r.effective_on, r.period_id))


def serious_on(entries: Iterable[SeriousEntry], day: date) -> bool:
    """A serious-dishonesty entry in force on ``day``, recorded by then and not repaired by then."""
    return any(e.recorded_on <= day and e.valid_from <= day < e.valid_until
               and (e.reversed_on is None or e.reversed_on > day) for e in entries)


def facts_on(day: date, ratings: Iterable[RatingFact], village_ratings: Iterable[RatingFact],
             township_ratings: Iterable[RatingFact], serious_entries: Iterable[SeriousEntry]) -> HouseholdFacts:
    return HouseholdFacts(as_of=day, rating=rating_on(ratings, day), village=rating_on(village_ratings, day),
                          township=rating_on(township_ratings, day),
                          serious_dishonesty=serious_on(serious_entries, day))


def in_term(measure: Measure, day: date) -> bool:
    return measure.valid_from <= day and (measure.valid_to is None or day <= measure.valid_to)


def _grade_text(r: RatingFact) -> str:
    grade = "非信用户" if not r.is_credit else f"{r.grade}级信用户"
    return f"{grade}（{r.period_name_zh}，{r.effective_on:%Y-%m-%d}起生效）"


def _check(condition: Condition, facts: HouseholdFacts, grade_order: Sequence[str]) -> tuple[bool, str]:
    kind = condition.kind
    if kind in (GRADE_AT_LEAST, GRADE_IN):
        r = facts.rating
        if r is None:
            return False, f"{facts.as_of:%Y-%m-%d}无生效的信用户评定结果"
        if kind == GRADE_AT_LEAST:
            wanted = condition.grades[0]
            ok = r.grade in grade_order and grade_order.index(r.grade) <= grade_order.index(wanted)
            return ok, f"户评定为{_grade_text(r)}，{'' if ok else '未'}达到{wanted}级"
        ok = r.grade in condition.grades
        return ok, f"户评定为{_grade_text(r)}，{'属于' if ok else '不属于'}{'、'.join(condition.grades)}级"
    if kind in (VILLAGE_CREDIT, TOWNSHIP_CREDIT):
        r = facts.village if kind == VILLAGE_CREDIT else facts.township
        label = "信用村" if kind == VILLAGE_CREDIT else "信用乡镇"
        where = "所在村" if kind == VILLAGE_CREDIT else "所在乡镇"
        if r is None:
            return False, f"{where}在{facts.as_of:%Y-%m-%d}无生效的{label}评定结果"
        ok = r.is_credit
        return ok, f"{where}{'是' if ok else '不是'}{label}（{r.period_name_zh}，{r.effective_on:%Y-%m-%d}起生效）"
    ok = facts.serious_dishonesty
    return ok, f"{facts.as_of:%Y-%m-%d}{'存在' if ok else '无'}有效的严重失信记录"


def decide(measure: Measure, facts: HouseholdFacts, grade_order: Sequence[str]) -> Decision:
    """Does ``measure`` apply to a household with these facts on ``facts.as_of`` — and why, in Chinese.

    ``grade_order`` is the household grades best first (the catalogue's bands, e.g. AAA, AA, A, none).
    """
    day = facts.as_of
    if not in_term(measure, day):
        until = f"至{measure.valid_to:%Y-%m-%d}" if measure.valid_to else "起"
        return Decision(measure.id, False, "NOT_IN_TERM",
                        f"“{measure.name_zh}”的实施期限为{measure.valid_from:%Y-%m-%d}{until}，{day:%Y-%m-%d}不在期限内")
    if measure.kind == INCENTIVE and measure.category in SERIOUS_DISHONESTY_BARS and facts.serious_dishonesty:
        return Decision(measure.id, False, "SERIOUS_DISHONESTY_BARS",
                        f"{day:%Y-%m-%d}存在有效的严重失信记录，依据条例第四十二条限制享受财政性资金、项目支持和金融支持类激励")
    reasons = []
    for condition in measure.conditions:
        ok, text = _check(condition, facts, grade_order)
        if not ok:
            return Decision(measure.id, False, "CONDITION_NOT_MET", f"不适用“{measure.name_zh}”：{text}")
        reasons.append(text)
    return Decision(measure.id, True, "APPLIES", f"适用“{measure.name_zh}”：{'；'.join(reasons)}")


def applicable(measures: Iterable[Measure], facts: HouseholdFacts, grade_order: Sequence[str]) -> list[Decision]:
    """Every listed measure's decision for one household (the list is all there is: nothing else applies)."""
    return [decide(m, facts, grade_order) for m in measures]


@dataclass(frozen=True)
class Candidate:
    """A household considered for a list: its facts on the list's day and where it sorts."""

    household_id: int
    sort_key: tuple[str, ...]  # e.g. (township code, village code, household code)
    facts: HouseholdFacts


@dataclass(frozen=True)
class Listed:
    seq: int  # 序号, from 1
    candidate: Candidate
    decision: Decision


def eligibility_list(measure: Measure, candidates: Iterable[Candidate], grade_order: Sequence[str]) -> list[Listed]:
    """名单 — the candidates the measure applies to, numbered 1…n by sort key (then household id).

    The list depends only on the *set* of candidates and their facts: the same households in any
    order give the same list, with the same numbers."""
    pool = list(candidates)
    if len({c.household_id for c in pool}) != len(pool):
        raise ValueError("a household is a candidate at most once")
    chosen = []
    for candidate in pool:
        decision = decide(measure, candidate.facts, grade_order)
        if decision.applies:
            chosen.append((candidate, decision))
    chosen.sort(key=lambda pair: (pair[0].sort_key, pair[0].household_id))
    return [Listed(seq, candidate, decision) for seq, (candidate, decision) in enumerate(chosen, 1)]
