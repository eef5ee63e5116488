"""三级联创评级 — roll personal standings up to 信用户 (household), 信用村 (village), 信用乡镇 (township).

Pure functions: no database, no clock; the rating date is an argument and the rules are the
``ratings:`` section of the catalogue version in force on that date (``CatalogueVersion.rating_rules``).

Units: personal scores are tenths of personal points (base 1000 → 10000); household scores are tenths
of *household* points on a 0..100 scale (65 → 650). Household arithmetic is exact (``Fraction``) and
rounded once, half up to the nearest tenth; shares are compared exactly (``credit * 100 >= 70 * total``
in ``Fraction`` form), never as floats.

Household score (see ``HouseholdRules``)::

    exact = mean_{counted} scale(personal score − family_charge) + Σ_{all members} family_charge
            + household_points
    score = clamp(round_half_up(exact), 0, max_score)

- ``scale`` (``member_scale``, 个人积分折算户分): straight lines between the catalogue's points, flat beyond
  the ends. The shipped points put each personal band's start on the household band of the same name
  (960 → 60 A, 1030 → 70 AA, 1050 → 80 AAA) and the personal base on the household base (1000 → 65), so
  the household rule agrees with the personal one: members all A or better, nothing charged to the
  family, no deductions of the household's own and no disqualifier → at least an A 信用户. The loader
  checks that property for any county's numbers (``validation._check_scale_agrees``).
- ``counted``: members aged ≥ ``adult_age`` on the rating date (``mean_adults``), or every member when
  the household has no adult (or ``mean_all``). Children's scores do not dilute the adults' average.
  A household without members counts as one member at the personal base.
- ``family_charge`` (家庭责任, "wrongs tied to the family are charged to the head of household"): the
  member's in-force points from the catalogue's ``family_charge_items`` (拒不履行赡养义务, 家庭暴力). They
  are taken *out* of that member's personal score before scaling and charged to the household at full
  weight (1 personal point = 1 household point), answered for by the head (户主) whoever in the family
  committed the wrong. They are not averaged away in a large family, and not counted twice. The head's
  *personal* score is not touched: a personal score only holds the person's own entries.
- Grade: the household bands; a member whose personal grade is disqualifying (D), who is under an
  in-force direct grade (直接判级), or who has an in-force serious-dishonesty entry makes the household
  not a credit household, and its grade is then the lowest band (``none``).
- ``explanation_zh`` is for the villager: no internal ids (members are 户主 / 成员 with their age) and no
  English tokens (a household below the credit bands "未达到信用户标准", never "none").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from math import lcm
from typing import Any, Iterable, Sequence

from points_rules.engine import EntryView, Standing, standing, village_points_zh
from points_rules.model import CatalogueSet, CatalogueVersion, GradeBand, HouseholdRules, RuleError, StarBand
from points_rules.units import add_years, date_zh, format_points
from points_rules.workdays import WorkCalendar

__all__ = [
    "MemberInput", "HouseholdRating", "VillageRating", "TownshipRating",
    "rate_household", "rate_village", "rate_township", "HouseholdRule", "household_rule", "LeanMember",
    "village_from_counts",
    "family_charge", "has_serious_dishonesty", "in_force_points", "member_input", "age_on", "is_adult",
    "publicity_end",
]

CodedEntry = tuple[str, EntryView]
"""A ledger entry with its item code: ``(item_code, EntryView)``."""


# --- inputs and results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberInput:
    """One member of the household on the rating date."""

    person_id: int
    birth_date: date
    is_head: bool
    standing: Standing            # points_rules.standing(...) for that person on the rating date
    family_charge: int            # tenths: the member's in-force points from family-charge items (see family_charge())
    serious_dishonesty: bool      # an in-force entry of a serious-dishonesty item (see has_serious_dishonesty())


@dataclass(frozen=True)
class HouseholdRating:
    """信用户评定结果."""

    household_id: int
    as_of: date
    catalogue_version: str
    score: int                    # tenths, 0..max_score (0..100 household points)
    grade: str                    # AAA / AA / A / none
    is_credit_household: bool
    serious_dishonesty: bool      # a member has an in-force serious-dishonesty entry (counts against the village)
    explanation_zh: str           # for the villager (PIPL art. 24)
    explanation: dict             # full machine-readable detail for admins


@dataclass(frozen=True)
class VillageRating:
    """信用村评定结果."""

    village_id: int
    as_of: date
    catalogue_version: str
    households: int
    credit_households: int
    serious_dishonesty_households: int
    share_permille: int           # credit households per mille, floored (display only; decisions are exact)
    is_credit_village: bool
    stars: int                    # 0 unless a credit village
    grade_counts: dict[str, int]  # household grade → count
    explanation_zh: str
    explanation: dict


@dataclass(frozen=True)
class TownshipRating:
    """信用乡镇评定结果."""

    township_id: int
    as_of: date
    catalogue_version: str
    villages: int
    credit_villages: int
    share_permille: int
    is_credit_township: bool
    explanation_zh: str
    explanation: dict


# --- helpers for callers ----------------------------------------------------------------------------------


def age_on(birth_date: date, as_of: date) -> int:
    """Full years (周岁) on ``as_of``; a 29 February birthday falls on 1 March in other years."""
    years = as_of.year - birth_date.year
    return years if add_years(birth_date, years) <= as_of else years - 1


def is_adult(birth_date: date, as_of: date, adult_age: int) -> bool:
    return add_years(birth_date, adult_age) <= as_of


def _in_force(entries: Iterable[EntryView], as_of: date) -> list[EntryView]:
    return [e for e in entries if e.counts and e.valid_from <= as_of < e.valid_until]


def in_force_points(entries: Iterable[EntryView], as_of: date) -> int:
    """Tenths: the points of the entries in force and counting on ``as_of`` (reversals included, so a
    reversed pair adds up to nothing) — e.g. ``household_points`` for ``rate_household``."""
    return sum(e.points for e in _in_force(entries, as_of))


def family_charge(version: CatalogueVersion, entries_with_codes: Iterable[CodedEntry], as_of: date) -> int:
    """Tenths: a member's in-force, counting points from the version's ``family_charge_items``
    (reversals carry the reversed item's code, so a reversed charge cancels out)."""
    items = set(version.rating_rules().household.family_charge_items)
    return in_force_points((e for code, e in entries_with_codes if code in items), as_of)


def has_serious_dishonesty(version: CatalogueVersion, entries_with_codes: Iterable[CodedEntry], as_of: date) -> bool:
    """Whether an entry of a ``serious_dishonesty_items`` item is in force, counting (not disputed or
    repaired), not itself a reversal, and not reversed by an in-force reversal."""
    items = set(version.rating_rules().village.serious_dishonesty_items)
    live = [(code, e) for code, e in entries_with_codes if e.counts and e.valid_from <= as_of < e.valid_until]
    reversed_ids = {e.reverses_entry_id for _, e in live if e.reverses_entry_id is not None}
    return any(code in items and e.reverses_entry_id is None and e.entry_id not in reversed_ids for code, e in live)


def member_input(catalogues: CatalogueSet, person_id: int, birth_date: date, is_head: bool,
                 entries_with_codes: Sequence[CodedEntry], as_of: date, village_total: int = 0) -> MemberInput:
    """A ``MemberInput`` from a person's ledger: standing, family charge and serious dishonesty on ``as_of``
    (``village_total``: the person's village points in force, counted as the version says)."""
    version = catalogues.version_on(as_of)
    entries = list(entries_with_codes)
    return MemberInput(
        person_id=person_id,
        birth_date=birth_date,
        is_head=is_head,
        standing=standing(catalogues, [e for _, e in entries], as_of, village_total),
        family_charge=family_charge(version, entries, as_of),
        serious_dishonesty=has_serious_dishonesty(version, entries, as_of),
    )


def publicity_end(catalogues: CatalogueSet, published_on: date, calendar: WorkCalendar) -> date:
    """Last day of a rating's publicity period (公示期) published on ``published_on``: the
    ``publicity_working_days``-th working day after it (rules of the version in force that day)."""
    days = catalogues.version_on(published_on).rating_rules().approval.publicity_working_days
    return calendar.add_working_days(published_on, days)


# --- formatting ---------------------------------------------------------------------------------------------


def _exact(value: Fraction) -> str:
    """Exact text: a terminating value as a decimal (``-37.5``), otherwise ``p/q``."""
    den = value.denominator
    while den % 2 == 0:
        den //= 2
    while den % 5 == 0:
        den //= 5
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    d = Decimal(value.numerator) / Decimal(value.denominator)
    return format(d.normalize(), "f") if d != d.to_integral_value() else str(int(d))


def _points_zh(tenths: Fraction | int, *, signed: bool = True) -> str:
    """Tenths as points for people: exact when it fits two decimals, else ``约`` and two decimals."""
    value = Fraction(tenths)
    return _ratio_zh(value.numerator, value.denominator, signed=signed)


def _ratio_zh(numerator: int, denominator: int, *, signed: bool = True) -> str:
    """:func:`_points_zh` of ``numerator / denominator`` tenths (``denominator`` > 0, not necessarily in
    lowest terms), in integers."""
    if numerator % denominator == 0:
        return format_points(numerator // denominator, signed=signed)
    approx = "" if (10 * numerator) % denominator == 0 else "约"
    q = (20 * abs(numerator) + denominator) // (2 * denominator)   # |hundredths| rounded half up
    text = f"{q // 100}.{q % 100:02d}".rstrip("0").rstrip(".")
    sign = "-" if numerator < 0 else ("+" if signed and numerator > 0 else "")
    return f"{approx}{sign}{text}"


def _share(part: int, total: int) -> Fraction | None:
    return None if total == 0 else Fraction(part, total)


def _permille(part: int, total: int) -> int:
    return 0 if total == 0 else part * 1000 // total


def _permille_zh(permille: int) -> str:
    return f"{permille // 10}.{permille % 10}%"


def _percent_zh(value: Decimal) -> str:
    return f"{format(value.normalize(), 'f')}%"


def _reaches(part: int, total: int, percent: Decimal) -> bool:
    """``part / total ≥ percent %``, exactly (``Fraction(Decimal)`` is exact)."""
    return total > 0 and Fraction(part, total) >= Fraction(percent) / 100


def _bands_zh(bands: Sequence[GradeBand], credit: Sequence[str]) -> str:
    """``AAA≥80分、AA≥70分、A≥60分、低于60分不是信用户`` — the lowest band is never a credit grade (checked)."""
    parts = [f"{b.grade}≥{format_points(b.min, signed=False)}分" for b in bands if b.min is not None and b.grade in credit]
    lowest = min(b.min for b in bands if b.min is not None and b.grade in credit)
    return "、".join(parts + [f"低于{format_points(lowest, signed=False)}分不是信用户"])


def _scale_zh(h: HouseholdRules) -> str:
    points = "、".join(f"{format_points(p.personal, signed=False)}分→{format_points(p.household, signed=False)}分"
                       for p in h.member_scale)
    top, bottom = h.member_scale[0], h.member_scale[-1]
    return (f"{points}，两点之间按比例折算；高于{format_points(top.personal, signed=False)}分按"
            f"{format_points(top.household, signed=False)}分计，低于{format_points(bottom.personal, signed=False)}分按"
            f"{format_points(bottom.household, signed=False)}分计")


def _check_duplicates(ids: Sequence[int], what_zh: str, what_en: str, code: str = "RULES_DUPLICATE") -> None:
    seen: set[int] = set()
    for i in ids:
        if i in seen:
            raise RuleError(code, f"{what_zh}编号{i}重复", f"{what_en} {i} is listed twice", {"id": i})
        seen.add(i)


# --- households ---------------------------------------------------------------------------------------------

LeanMember = tuple[int, date, bool, int, str, "str | None", "date | None", int, bool]
"""A member as the county-wide recompute holds it: ``(person_id, birth_date, is_head, personal score,
personal grade, grade override, override until, family charge, serious dishonesty)`` — a
``MemberInput`` without the objects (see :meth:`HouseholdRule.lean_member`)."""


class HouseholdRule:
    """The 信用户 rule of one catalogue version on one rating date, prepared once: what
    :func:`rate_household` decides and says, for any number of households (the county-wide recompute
    rates 150,000 with one). The arithmetic is exact in integers — a member's worth is kept as
    ``scale × L`` (``L`` the least common multiple of the scale's segment widths, so every worth is
    an integer), the mean as a numerator over ``count × L`` — which is the same value as the
    ``Fraction`` arithmetic of the module docstring, rounded once, half up. Worths, ages and
    adulthood are looked up once per distinct value."""

    def __init__(self, version: CatalogueVersion, as_of: date):
        h = version.rating_rules().household
        self.version, self.h, self.as_of = version, h, as_of
        self.version_id = version.version
        self.scoring = version.scoring
        points = h.member_scale
        widths = [upper.personal - lower.personal for upper, lower in zip(points, points[1:])]
        self.L = lcm(*widths) if widths else 1
        self._top = (points[0].personal, points[0].household * self.L)
        self._segments = tuple((lower.personal, lower.household * self.L,
                                (upper.household - lower.household) * (self.L // (upper.personal - lower.personal)))
                               for upper, lower in zip(points, points[1:]))
        self._bottom = points[-1].household * self.L
        self._worth: dict[int, int] = {}
        self._worth_zh: dict[int, str] = {}
        self._birth: dict[date, tuple[bool, int]] = {}
        self._grades: dict[int, str] = {}
        self._disqualifying = frozenset(h.disqualifying_member_grades)
        self._credit = frozenset(h.credit_grades)
        self._mean_all = h.member_aggregate == "mean_all"
        self._base_worth = self.worth(version.scoring.base)
        self._head_zh = f"截至{date_zh(as_of)}（适用{version.version}版积分目录的信用户评定规则）："
        self._scale_zh = f"个人积分按对照表折算为户分（{_scale_zh(h)}）。"
        self._bands_zh = f"。评定标准：{_bands_zh(h.grades, h.credit_grades)}。"
        self._lines: dict[tuple, str] = {}
        self._members_zh: dict[tuple, str] = {}
        self._verdicts: dict[int, str] = {}
        self._family_items_zh = "、".join(version.item(code).name_zh for code in h.family_charge_items
                                         if version.has_item(code))

    # -- lookups -------------------------------------------------------------------------------------

    def worth(self, personal: int) -> int:
        """``scale(personal) × L`` — an integer (see ``HouseholdRules.scale``)."""
        found = self._worth.get(personal)
        if found is None:
            top, top_worth = self._top
            if personal >= top:
                found = top_worth
            else:
                found = self._bottom
                for lower, lower_worth, slope in self._segments:
                    if personal >= lower:
                        found = lower_worth + (personal - lower) * slope
                        break
            self._worth[personal] = found
        return found

    def _worth_text(self, personal: int) -> str:
        found = self._worth_zh.get(personal)
        if found is None:
            found = self._worth_zh[personal] = _ratio_zh(self.worth(personal), self.L, signed=False)
        return found

    def _adult_age(self, birth_date: date) -> tuple[bool, int]:
        found = self._birth.get(birth_date)
        if found is None:
            found = self._birth[birth_date] = (is_adult(birth_date, self.as_of, self.h.adult_age),
                                               age_on(birth_date, self.as_of))
        return found

    def _grade_for(self, score: int) -> str:
        found = self._grades.get(score)
        if found is None:
            found = self._grades[score] = self.h.grade_for(score)
        return found

    @staticmethod
    def lean_member(m: MemberInput) -> LeanMember:
        s = m.standing
        return (m.person_id, m.birth_date, m.is_head, s.score, s.grade, s.grade_override, s.override_until,
                m.family_charge, m.serious_dishonesty)

    # -- the rule ------------------------------------------------------------------------------------

    def assess(self, members: Sequence[LeanMember], household_points: int, village_total: int = 0) -> "_Assessment":
        """Every decision of the rule, in integers (no checks: :func:`rate_household` makes them)."""
        h = self.h
        birth = self._birth
        adults = []
        for m in members:
            found = birth.get(m[1])
            adults.append((found or self._adult_age(m[1]))[0])
        if not members:
            counted, basis = (), "no_members"
        elif self._mean_all:
            counted, basis = range(len(members)), "all_members"
        elif any(adults):
            counted, basis = [i for i, adult in enumerate(adults) if adult], "adults"
        else:
            counted, basis = range(len(members)), "all_members_no_adult"
        if counted:
            worths, worth = self._worth, self.worth
            total_worth = 0
            for i in counted:
                m = members[i]
                x = m[3] - m[7]
                w = worths.get(x)
                total_worth += w if w is not None else worth(x)
            denominator = len(counted) * self.L
        else:
            total_worth, denominator = self._base_worth, self.L   # no members: one member at the personal base
        charge_total = 0
        serious = False
        disqualified: list[tuple[int, str, str | None, date | None]] = []
        disqualifying = self._disqualifying
        for i, m in enumerate(members):
            charge_total += m[7]
            if m[4] in disqualifying:
                disqualified.append((i, "member_grade", m[4], None))
            if m[5] is not None and h.direct_downgrade_disqualifies:
                disqualified.append((i, "direct_downgrade", m[5], m[6]))
            if m[8]:
                serious = True
                if h.serious_dishonesty_disqualifies:
                    disqualified.append((i, "serious_dishonesty", None, None))
        village_counted = self.scoring.village_counted(village_total) if village_total else 0
        added = charge_total + household_points + village_counted
        exact = total_worth + added * denominator                # exact score = exact / denominator
        rounded = (2 * exact + denominator) // (2 * denominator)  # half up
        score = min(max(rounded, 0), h.max_score)
        score_grade = self._grades.get(score) or self._grade_for(score)
        is_credit = not disqualified and score_grade in self._credit
        grade = h.non_credit_grade if disqualified else score_grade
        return _Assessment(adults, counted, basis, total_worth, denominator, charge_total, village_counted, exact,
                           rounded, score, score_grade, disqualified, grade, is_credit, serious)

    def check(self, household_id: int, members: Sequence[LeanMember]) -> None:
        """The checks of :func:`rate_household` on lean members (their standings are as of the rating
        date by construction): ``RuleError`` for a member listed twice, two heads, a birth date after
        the rating date."""
        if len(members) > 1:
            if len({m[0] for m in members}) != len(members):
                _check_duplicates([m[0] for m in members], "成员", "member")
            if sum(1 for m in members if m[2]) > 1:
                _check_heads(household_id, [m[0] for m in members if m[2]])
        as_of = self.as_of
        for m in members:
            if m[1] > as_of:
                _born_after(m[0])

    def rate(self, members: Sequence[LeanMember], household_points: int,
             village_total: int = 0) -> tuple[int, str, bool, bool, str]:
        """``(score, grade, is_credit, serious_dishonesty, explanation_zh)`` — what
        :func:`rate_household` returns for these members, without the machine-readable detail."""
        a = self.assess(members, household_points, village_total)
        return a.score, a.grade, a.is_credit, a.serious, self.explain(members, household_points, village_total, a)

    def explain(self, members: Sequence[LeanMember], household_points: int, village_total: int,
                a: "_Assessment") -> str:
        """The villager's explanation (PIPL art. 24): inputs, rule version, thresholds, why this grade —
        in words a villager reads: members by role and age, never an id; no English grade token for
        "not a credit household". Sentences that recur (a member's line, the count of members, the
        verdict) are built once per distinct value."""
        h = self.h
        out = [self._head_zh, self._scale_zh]
        mean = _ratio_zh(a.total_worth, a.denominator, signed=False)
        counted = a.counted
        n = len(counted)
        if a.basis == "no_members":
            out.append(f"本户未登记成员，成员部分按个人基础分{format_points(self.scoring.base, signed=False)}分折算为"
                       f"{mean}分。")
        else:
            key = (a.basis, n, len(members), sum(a.adults))
            line = self._lines.get(key)
            if line is None:
                who = {"adults": f"按年满{h.adult_age}周岁的{n}名成年人计算",
                       "all_members_no_adult": f"本户没有年满{h.adult_age}周岁的成员，按全体{n}人计算",
                       "all_members": f"按全体{n}人计算"}[a.basis]
                line = self._lines[key] = f"本户共{len(members)}人，其中成年人{key[3]}人，{who}："
            out.append(line)
            parts = [self._member_zh(members[i]) for i in counted]
            average = "" if n == 1 else f"；平均{mean}分"
            out.append(f"{'；'.join(parts)}{average}。")
        charge_total = a.charge_total
        if charge_total:
            holder = "户主" if any(m[2] for m in members) else "户主（本户未登记户主，仍计入本户）"
            out.append(f"家庭责任扣分（{self._family_items_zh}等与家庭相关的失信行为）合计"
                       f"{format_points(charge_total)}分，不参与折算和平均，按全额计入本户，由{holder}承担。")
        if household_points:
            out.append(f"本户自身的有效记录合计{format_points(household_points)}分，直接计入。")
        formula = f"成员折算{'部分' if a.basis == 'no_members' or n == 1 else '平均'}{mean}"
        if charge_total or household_points:
            if charge_total:
                formula += f" {_signed_part(charge_total)}"
            if household_points:
                formula += f" {_signed_part(household_points)}"
            out.append(f"户得分 = {formula} = {_ratio_zh(a.exact, a.denominator, signed=False)}分")
        else:
            out.append(f"户得分即{formula}分")
        if a.rounded * a.denominator != a.exact:
            out.append(f"，保留一位小数为{format_points(a.rounded, signed=False)}分")
        if a.score != a.rounded:
            out.append(f"，限定在0至{format_points(h.max_score, signed=False)}分之间，计为"
                       f"{format_points(a.score, signed=False)}分")
        out.append(self._bands_zh)
        if a.disqualified:
            points = format_points(a.score, signed=False)
            reasons = []
            for i, m in enumerate(members):
                mine = []
                for _, reason, grade, until in (d for d in a.disqualified if d[0] == i):
                    if reason == "member_grade":
                        mine.append(f"个人信用等级为{grade}级")
                    elif reason == "direct_downgrade":
                        to = f"，至{date_zh(until - timedelta(days=1))}" if until else ""
                        mine.append(f"处于直接判级期间（{grade}级{to}）")
                    else:
                        mine.append("有尚在有效期内的严重失信记录")
                if mine:
                    reasons.append(self._label(m) + "、".join(mine))
            standing_zh = (f"得分{points}分，本可评为{a.score_grade}级信用户" if a.score_grade in self._credit
                           else f"得分{points}分，未达到信用户标准")
            out.append(f"{standing_zh}；{'；'.join(reasons)}，按规则本户不评为信用户。")
        else:
            out.append(self._verdict(a.score, a.score_grade, a.is_credit))
        if a.village_counted:
            out.append(f"本户{village_points_zh(self.scoring, village_total).rstrip('，')}（已含在户分中）。")
        return "".join(out)

    def _member_zh(self, m: LeanMember) -> str:
        """``户主（36岁）个人积分1021分（A级），折合68.5分`` (and the family charge, if any)."""
        key = (m[2], m[1], m[3], m[4], m[7])
        found = self._members_zh.get(key)
        if found is None:
            personal = f"个人积分{format_points(m[3], signed=False)}分（{m[4]}级）"
            if m[7]:
                personal += f"，家庭责任扣分另计，按{format_points(m[3] - m[7], signed=False)}分折算"
            found = f"{self._label(m)}{personal}，折合{self._worth_text(m[3] - m[7])}分"
            if len(self._members_zh) < 50_000:  # bounded: a county has few distinct member lines
                self._members_zh[key] = found
        return found

    def _verdict(self, score: int, score_grade: str, is_credit: bool) -> str:
        """The last sentence when no member disqualifies the household."""
        found = self._verdicts.get(score)
        if found is None:
            points = format_points(score, signed=False)
            if is_credit:
                found = f"得分{points}分，对应{score_grade}级，评为{score_grade}级信用户。"
            else:
                found = (f"得分{points}分，低于{format_points(self.h.lowest_credit_min, signed=False)}分，"
                         "未达到信用户标准，不是信用户。")
            self._verdicts[score] = found
        return found

    def _label(self, m: LeanMember) -> str:
        """户主（56岁） / 成员（54岁）: how the family knows its members — never an internal id."""
        return f"{'户主' if m[2] else '成员'}（{self._adult_age(m[1])[1]}岁）"


@dataclass(slots=True)
class _Assessment:
    adults: list[bool]                 # per member
    counted: Sequence[int]             # indexes of the counted members
    basis: str
    total_worth: int                   # Σ worth × L of the counted (the base's, without members)
    denominator: int                   # count × L: member mean = total_worth / denominator
    charge_total: int
    village_counted: int
    exact: int                         # exact score = exact / denominator
    rounded: int
    score: int
    score_grade: str
    disqualified: list[tuple[int, str, str | None, date | None]]   # (member index, reason, grade, until)
    grade: str
    is_credit: bool
    serious: bool


_RULES: dict[tuple[int, date], tuple[CatalogueVersion, HouseholdRule]] = {}


def household_rule(version: CatalogueVersion, as_of: date) -> HouseholdRule:
    """The prepared rule of ``version`` on ``as_of`` (kept for the versions and dates in use)."""
    key = (id(version), as_of)
    found = _RULES.get(key)
    if found is None or found[0] is not version:
        if len(_RULES) > 64:
            _RULES.clear()
        found = _RULES[key] = (version, HouseholdRule(version, as_of))
    return found[1]


def rate_household(catalogues: CatalogueSet, household_id: int, members: Sequence[MemberInput],
                   household_points: int, as_of: date, village_total: int = 0) -> HouseholdRating:
    """信用户 — the household's score, grade and credit status on ``as_of`` (see the module docstring).

    ``household_points``: tenths, the household's own in-force entries (e.g. ENV-COURTYARD), added directly.
    ``village_total``: the household's own village points in force (村规民约积分), added directly only as
    far as the version's ``scoring.village_points`` lets them count.
    Raises ``RuleError``: no catalogue/ratings on ``as_of``; a member's standing for another date; a birth
    date after ``as_of``; duplicate members; more than one head of household.
    """
    version = catalogues.version_on(as_of)
    h = version.rating_rules().household
    members = list(members)
    if isinstance(household_points, bool) or not isinstance(household_points, int):
        raise RuleError("RULES_HOUSEHOLD", "本户积分应为整数（0.1分为单位）",
                        "household_points must be an integer number of tenths", {"household_id": household_id})
    _check_members(household_id, members, as_of)
    rule = household_rule(version, as_of)
    lean = [HouseholdRule.lean_member(m) for m in members]
    a = rule.assess(lean, household_points, village_total)
    counted_ids = {members[i].person_id for i in a.counted}
    head = next((m for m in members if m.is_head), None)
    mean = Fraction(a.total_worth, a.denominator)
    exact = Fraction(a.exact, a.denominator)

    def scaled_from(m: MemberInput) -> int:
        return m.standing.score - m.family_charge     # the family charge is the household's, not the member's

    disqualified: list[dict[str, Any]] = []
    for i, reason, grade, until in a.disqualified:
        d: dict[str, Any] = {"person_id": members[i].person_id, "reason": reason}
        if reason == "member_grade":
            d["grade"] = grade
        elif reason == "direct_downgrade":
            d.update(grade=grade, until=None if until is None else until.isoformat())
        disqualified.append(d)
    facts: dict[str, Any] = {
        "rule": "household_rating",
        "household_id": household_id,
        "as_of": as_of.isoformat(),
        "catalogue_version": version.version,
        "unit": "0.1户分 (tenths of a household point, 0..100 scale)",
        "thresholds": _household_thresholds(h),
        "head_person_id": head.person_id if head else None,
        "members": [
            {"person_id": m.person_id, "is_head": m.is_head, "age": age_on(m.birth_date, as_of),
             "adult": a.adults[i], "counted": m.person_id in counted_ids,
             "personal_score": m.standing.score, "personal_base": m.standing.base,
             "personal_grade": m.standing.grade, "grade_override": m.standing.grade_override,
             "override_until": None if m.standing.override_until is None else m.standing.override_until.isoformat(),
             "family_charge": m.family_charge, "scaled_from": scaled_from(m),
             "worth": _exact(Fraction(rule.worth(scaled_from(m)), rule.L)),
             "serious_dishonesty": m.serious_dishonesty, "standing_catalogue_version": m.standing.catalogue_version}
            for i, m in enumerate(members)
        ],
        "counted_basis": a.basis,
        "member_mean": _exact(mean),
        "family_charge_total": a.charge_total,
        "household_points": household_points,
        "village_points": village_total,
        "village_points_counted": a.village_counted,
        "exact_score": _exact(exact),
        "rounded_score": a.rounded,
        "score": a.score,
        "clamped": a.score != a.rounded,
        "score_grade": a.score_grade,
        "grade": a.grade,
        "disqualified_by": disqualified,
        "is_credit_household": a.is_credit,
        "serious_dishonesty": a.serious,
    }
    text = rule.explain(lean, household_points, village_total, a)
    return HouseholdRating(household_id, as_of, version.version, a.score, a.grade, a.is_credit, a.serious, text, facts)


def _check_members(household_id: int, members: Sequence[MemberInput], as_of: date) -> None:
    _check_duplicates([m.person_id for m in members], "成员", "member")
    _check_heads(household_id, [m.person_id for m in members if m.is_head])
    for m in members:
        if m.standing.as_of != as_of:
            raise RuleError("RULES_DATE", f"成员（编号{m.person_id}）的个人积分不是按评定日{as_of.isoformat()}计算的",
                            f"member {m.person_id}'s standing is as of {m.standing.as_of.isoformat()}, "
                            f"not the rating date {as_of.isoformat()}",
                            {"person_id": m.person_id, "standing_as_of": m.standing.as_of.isoformat(),
                             "as_of": as_of.isoformat()})
        if m.birth_date > as_of:
            _born_after(m.person_id)


def _check_heads(household_id: int, heads: list[int]) -> None:
    if len(heads) > 1:
        raise RuleError("RULES_HOUSEHOLD", f"一户只能有一名户主（第{household_id}户登记了{len(heads)}名）",
                        f"a household has one head at most (household {household_id} has {len(heads)})",
                        {"household_id": household_id, "heads": heads})


def _born_after(person_id: int) -> None:
    raise RuleError("RULES_DATE", f"成员（编号{person_id}）的出生日期晚于评定日",
                    f"member {person_id} is born after the rating date", {"person_id": person_id})


def _household_thresholds(h: HouseholdRules) -> dict[str, Any]:
    return {
        "max_score": h.max_score, "member_aggregate": h.member_aggregate, "adult_age": h.adult_age,
        "member_scale": [{"personal": p.personal, "household": p.household} for p in h.member_scale],
        "family_charge_items": list(h.family_charge_items),
        "grades": [{"grade": b.grade, "min": b.min} for b in h.grades],
        "credit_grades": list(h.credit_grades),
        "disqualifying_member_grades": list(h.disqualifying_member_grades),
        "direct_downgrade_disqualifies": h.direct_downgrade_disqualifies,
        "serious_dishonesty_disqualifies": h.serious_dishonesty_disqualifies,
    }


def _signed_part(tenths: int) -> str:
    """``+ 3``, ``− 3.75`` for the formula line (the parts added to the members' mean are whole tenths)."""
    if tenths == 0:
        return "+ 0"
    return ("+ " if tenths > 0 else "− ") + format_points(abs(tenths), signed=False)



# --- villages -----------------------------------------------------------------------------------------------


def rate_village(catalogues: CatalogueSet, village_id: int, households: Sequence[HouseholdRating],
                 as_of: date) -> VillageRating:
    """信用村 — qualifies when credit households / households ≥ ``credit_household_share`` % (exact) and the
    households with a serious-dishonesty member number at most ``max_serious_dishonesty``; stars by share.
    A village without households is not a credit village. Household ratings may be from an earlier date
    (the cycle closes households before villages) but not a later one."""
    catalogues.version_on(as_of).rating_rules()   # no catalogue or no ratings: that error first
    households = list(households)
    _check_duplicates([x.household_id for x in households], "户", "household")
    for x in households:
        if x.as_of > as_of:
            raise RuleError("RULES_DATE", f"第{x.household_id}户的评定日期晚于信用村评定日",
                            f"household {x.household_id} is rated after the village rating date",
                            {"household_id": x.household_id, "household_as_of": x.as_of.isoformat()})
    counts: dict[str, int] = {}
    for x in households:
        counts[x.grade] = counts.get(x.grade, 0) + 1
    rating = village_from_counts(catalogues, village_id, as_of, len(households),
                                 sum(1 for x in households if x.is_credit_household),
                                 sum(1 for x in households if x.serious_dishonesty), counts)
    rating.explanation.update({
        "household_ids": sorted(x.household_id for x in households),
        "credit_household_ids": sorted(x.household_id for x in households if x.is_credit_household),
        "serious_dishonesty_household_ids": sorted(x.household_id for x in households if x.serious_dishonesty),
        "household_rating_dates": sorted({x.as_of.isoformat() for x in households}),
    })
    return rating


def village_from_counts(catalogues: CatalogueSet, village_id: int, as_of: date, households: int, credit: int,
                        serious: int, grade_counts: dict[str, int]) -> VillageRating:
    """:func:`rate_village` from the counts alone (households, credit households, households with a
    serious-dishonesty member, households per grade) — what a roll-up from stored household rows
    needs; the detail lists only the counts, not the households' ids."""
    version = catalogues.version_on(as_of)
    rules = version.rating_rules()
    v = rules.village
    total = households
    share_ok = _reaches(credit, total, v.credit_household_share)
    serious_ok = serious <= v.max_serious_dishonesty
    qualifies = total > 0 and share_ok and serious_ok
    band: StarBand | None = None
    if qualifies:
        band = next((b for b in v.stars if _reaches(credit, total, b.min_share)), None)
    stars = band.stars if band else 0
    counts = {g: 0 for g in rules.household.grade_names}
    counts.update(grade_counts)
    permille = _permille(credit, total)
    share = _share(credit, total)
    reasons = []
    if total == 0:
        reasons.append("no_households")
    else:
        if not share_ok:
            reasons.append("credit_household_share")
        if not serious_ok:
            reasons.append("serious_dishonesty")
    facts = {
        "rule": "village_rating", "village_id": village_id, "as_of": as_of.isoformat(),
        "catalogue_version": version.version,
        "thresholds": {"credit_household_share_percent": _exact(Fraction(v.credit_household_share)),
                       "max_serious_dishonesty": v.max_serious_dishonesty,
                       "serious_dishonesty_items": list(v.serious_dishonesty_items),
                       "stars": [{"stars": b.stars, "min_share_percent": _exact(Fraction(b.min_share))}
                                 for b in v.stars]},
        "households": total, "credit_households": credit, "serious_dishonesty_households": serious,
        "share": None if share is None else _exact(share), "share_permille": permille,
        "is_credit_village": qualifies, "stars": stars, "not_qualified_because": reasons,
        "grade_counts": counts,
    }
    head = f"截至{date_zh(as_of)}（适用{version.version}版积分目录的信用村评定规则）："
    if total == 0:
        text = head + "本村没有参评农户，无法计算信用户占比，不评为信用村。"
    else:
        text = (head + f"本村参评{total}户，其中信用户{credit}户，占{_permille_zh(permille)}"
                f"（{credit}/{total}，标准：不低于{_percent_zh(v.credit_household_share)}）；"
                f"有严重失信成员的{serious}户（上限{v.max_serious_dishonesty}户）。")
        if qualifies:
            text += "评为信用村"
            text += (f"，{'★' * stars}（{stars}星，信用户占比不低于{_percent_zh(band.min_share)}）。" if band else "。")
        else:
            why = []
            if not share_ok:
                why.append(f"信用户占比低于{_percent_zh(v.credit_household_share)}")
            if not serious_ok:
                why.append(f"有严重失信成员的户数超过{v.max_serious_dishonesty}户")
            text += f"因{'，且'.join(why)}，不评为信用村。"
    return VillageRating(village_id, as_of, version.version, total, credit, serious, permille, qualifies, stars,
                         counts, text, facts)


# --- townships ----------------------------------------------------------------------------------------------


def rate_township(catalogues: CatalogueSet, township_id: int, villages: Sequence[VillageRating],
                  as_of: date) -> TownshipRating:
    """信用乡镇 — qualifies when credit villages / villages ≥ ``credit_village_share`` % (exact).
    A township without rated villages is not a credit township."""
    version = catalogues.version_on(as_of)
    t = version.rating_rules().township
    villages = list(villages)
    _check_duplicates([x.village_id for x in villages], "村", "village")
    for x in villages:
        if x.as_of > as_of:
            raise RuleError("RULES_DATE", f"第{x.village_id}村的评定日期晚于信用乡镇评定日",
                            f"village {x.village_id} is rated after the township rating date",
                            {"village_id": x.village_id, "village_as_of": x.as_of.isoformat()})
    total = len(villages)
    credit = sum(1 for x in villages if x.is_credit_village)
    qualifies = _reaches(credit, total, t.credit_village_share)
    permille = _permille(credit, total)
    share = _share(credit, total)
    facts = {
        "rule": "township_rating", "township_id": township_id, "as_of": as_of.isoformat(),
        "catalogue_version": version.version,
        "thresholds": {"credit_village_share_percent": _exact(Fraction(t.credit_village_share))},
        "villages": total, "credit_villages": credit,
        "share": None if share is None else _exact(share), "share_permille": permille,
        "is_credit_township": qualifies,
        "not_qualified_because": [] if qualifies else ["no_villages" if total == 0 else "credit_village_share"],
        "village_ids": sorted(x.village_id for x in villages),
        "credit_village_ids": sorted(x.village_id for x in villages if x.is_credit_village),
    }
    head = f"截至{date_zh(as_of)}（适用{version.version}版积分目录的信用乡镇评定规则）："
    if total == 0:
        text = head + "本乡镇没有参评的村，无法计算信用村占比，不评为信用乡镇。"
    else:
        text = (head + f"参评{total}个村，其中信用村{credit}个，占{_permille_zh(permille)}"
                f"（{credit}/{total}，标准：不低于{_percent_zh(t.credit_village_share)}）。"
                + ("评为信用乡镇。" if qualifies else f"信用村占比低于{_percent_zh(t.credit_village_share)}，不评为信用乡镇。"))
    return TownshipRating(township_id, as_of, version.version, total, credit, permille, qualifies, text, facts)
