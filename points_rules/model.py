"""The catalogue as data: frozen dataclasses built by the loader, read by the engine.

积分目录 — every kind of credit information is an item of a versioned catalogue (条例第三十二条).
All points are integers in tenths (see ``units.POINT_UNIT``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, Union

from points_rules.units import add_days_or_months

# Closed vocabularies the loader checks against (enums of the file format).
DIRECTIONS = ("positive", "negative")
SUBJECT_KINDS = ("person", "household", "organisation")
ROLES = ("grid_worker", "township_admin", "county_admin")
EVIDENCE = ("required", "optional", "none")
PUBLICITY = ("公开", "依申请公开", "不公开")
UPDATE_FREQUENCIES = ("实时", "每日", "每周", "每月", "每季度", "每半年", "每年", "不定期")
CATEGORIES = (
    "志愿服务", "孝老爱亲", "环境卫生", "网格治理", "拖欠农民工工资", "失信被执行人",
    "表彰奖励", "信用承诺", "公益慈善", "移风易俗", "邻里互助", "遵纪守法",
)


class RuleError(Exception):
    """An input the rules cannot score (未知事项、主体类型不符…), with a stable code and bilingual message.

    Same shape as ``backend.errors.CunxinError`` (``code``, ``message_zh``, ``message_en``,
    ``details``) so a service can re-raise it as a 422 without this package importing the service.
    """

    status_code = 422

    def __init__(self, code: str, message_zh: str, message_en: str, details: dict[str, Any] | None = None):
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.details = details or {}
        super().__init__(f"{code}: {message_en}")


@dataclass(frozen=True)
class CatalogueProblem:
    """One thing wrong in a catalogue file, at a YAML line (1-based; ``None`` if the file as a whole)."""

    file: str
    line: int | None
    path: str
    message_zh: str
    message_en: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line or 0}: {self.path or '(root)'}: {self.message_zh} ({self.message_en})"


class CatalogueError(Exception):
    """Raised by the loader when a catalogue directory has problems; all of them are in ``problems``."""

    def __init__(self, problems: list[CatalogueProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# --- scoring section --------------------------------------------------------------------------


@dataclass(frozen=True)
class GradeBand:
    """等级 — a grade and the lowest score (tenths) that reaches it; the worst band has ``min=None``."""

    grade: str
    min: int | None


@dataclass(frozen=True)
class DeductionValidity:
    """A deduction whose size (tenths, absolute) is at most ``up_to`` counts ``years`` (``None`` = any size)."""

    up_to: int | None
    years: int


@dataclass(frozen=True)
class RecordingWindow:
    """登记时限 — an entry recorded after ``occurred_on`` + this window is accepted but flagged late."""

    days: int = 0
    months: int = 0

    def deadline(self, occurred_on: date) -> date:
        return add_days_or_months(occurred_on, days=self.days, months=self.months)

    def describe_zh(self) -> str:
        return f"{self.months}个月" if self.months else f"{self.days}天"


SEVERITIES = ("minor", "general", "serious")    # 失信程度：轻微、一般、严重（信用修复管理办法）
REPAIR_ROUTES = ("commitment", "rectification", "training", "public_interest")   # 信用承诺、信用整改、专题培训、公益活动
SOURCE_REMOVAL = "source_removal"    # not chosen by an applicant: the source list removed the record (a court, a bureau)


@dataclass(frozen=True)
class RepairRules:
    """信用修复 — the shortest public display period per severity (months) after which a repair may be
    asked, and the working days the recording township has to decide. Defaults: the national rules
    (minor: not published; general: ≥ 3 months; serious: ≥ 1 year)."""

    display_months: dict[str, int] = field(default_factory=lambda: {"minor": 0, "general": 3, "serious": 12})
    decision_working_days: int = 7


@dataclass(frozen=True)
class ItemRepair:
    """How an entry of one item is repaired: the routes an applicant may take, and the item that
    replaces it once repaired (None: the entry just stops counting)."""

    routes: tuple[str, ...] = REPAIR_ROUTES
    replaced_by: str | None = None
    replaced_on_routes: tuple[str, ...] | None = None   # None: whatever the route


@dataclass(frozen=True)
class VillagePointsRule:
    """村规民约积分计入县级积分 — the county's catalogue lets the village points (its villages' own
    items, ``points_rules.village_rules``) in force on a day count toward a subject's county score, at
    most ``cap`` tenths either way (so a village's rules can move a grade, but never by more than the
    county allows). Without this rule in the version in force they count for nothing."""

    cap: int  # tenths, > 0

    def counted(self, village_total: int) -> int:
        return max(-self.cap, min(self.cap, village_total))


@dataclass(frozen=True)
class Scoring:
    """计分规则 — base score, grade bands (best first), terms and default validity rules."""

    base: int
    grades: tuple[GradeBand, ...]
    default_grade: str
    grade_after_repair: str
    direct_downgrade_years: dict[str, int]
    recording_window: RecordingWindow
    deduction_years: tuple[DeductionValidity, ...]
    honour_years: dict[str, int]
    positive_years: int
    repair: RepairRules = field(default_factory=RepairRules)
    village_points: VillagePointsRule | None = None

    def village_counted(self, village_total: int) -> int:
        """The part of a subject's village points that counts toward its county score (0: none)."""
        return self.village_points.counted(village_total) if self.village_points else 0

    @property
    def grade_names(self) -> tuple[str, ...]:
        return tuple(b.grade for b in self.grades)

    def severity(self, grade: str) -> int:
        """0 for the best grade, larger for worse ones (unknown grades rank worst)."""
        names = self.grade_names
        return names.index(grade) if grade in names else len(names)


# --- items ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixedPoints:
    """固定分值."""

    points: int
    kind = "fixed"


@dataclass(frozen=True)
class Level:
    """One level of a by-level item (e.g. 县级 +5, 拖欠2至6个月 -30)."""

    key: str
    name_zh: str
    points: int


@dataclass(frozen=True)
class LevelPoints:
    """按等级/结果计分 — the event names one level."""

    levels: tuple[Level, ...]
    kind = "by_level"

    def level(self, key: str) -> Level | None:
        return next((lv for lv in self.levels if lv.key == key), None)


@dataclass(frozen=True)
class Tier:
    """At a cumulative quantity of ``at`` or more, the item is worth ``total`` (tenths) in all."""

    at: Decimal
    total: int


@dataclass(frozen=True)
class TieredPoints:
    """按累计数量分档 — total points at a cumulative level; an event earns only the increment."""

    unit_zh: str
    tiers: tuple[Tier, ...]
    kind = "tiered"

    def tier_at(self, quantity: Decimal) -> Tier | None:
        reached = [t for t in self.tiers if t.at <= quantity]
        return reached[-1] if reached else None

    def points_at(self, quantity: Decimal) -> int:
        tier = self.tier_at(quantity)
        return tier.total if tier else 0


@dataclass(frozen=True)
class DirectGrade:
    """直接判级 — the grade is set for the term in ``Scoring.direct_downgrade_years``; no points."""

    grade: str
    kind = "direct_grade"


PointsRule = Union[FixedPoints, LevelPoints, TieredPoints, DirectGrade]


def tier_points(rule: TieredPoints, total: Decimal) -> int:
    """Total points (tenths) for a cumulative quantity under a tiered rule."""
    return rule.points_at(total)


@dataclass(frozen=True)
class Disclosure:
    """The fields art. 32 requires of every catalogue entry (公开属性、共享范围、归集来源和渠道、更新频次)."""

    publicity: str
    sharing_scope: str
    source: str
    channel: str
    update_frequency: str
    legal_basis: str


@dataclass(frozen=True)
class Item:
    """目录事项 — one kind of credit behaviour and how it scores."""

    code: str
    name_zh: str
    name_en: str | None
    behaviour_zh: str
    category: str
    direction: str
    points: PointsRule
    subject_kinds: tuple[str, ...]
    validity_years: int | None  # None: by rule (deduction size / honour level / downgrade term)
    logged_by: tuple[str, ...]
    evidence: str
    needs_review: bool
    repeat_doubles: bool
    cap_per_year: int | None
    disclosure: Disclosure
    notes_zh: str | None = None
    severity: str | None = None          # negative items: SEVERITIES; None derives it (see points_rules.repair)
    repair: ItemRepair = field(default_factory=ItemRepair)


@dataclass(frozen=True)
class CatalogueVersion:
    """目录版本 — one file: a version id, the day it takes effect, its scoring rules and items."""

    version: str
    effective_from: date
    title_zh: str
    scoring: Scoring
    items: tuple[Item, ...]
    source_file: str | None = None
    _by_code: dict[str, Item] = field(init=False, repr=False, compare=False)
    ratings: "RatingRules | None" = None      # the optional ``ratings:`` section (三级联创)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_code", {i.code: i for i in self.items})

    def item(self, code: str) -> Item:
        try:
            return self._by_code[code]
        except KeyError:
            raise RuleError(
                "RULES_UNKNOWN_ITEM",
                f"积分目录{self.version}版中没有事项“{code}”",
                f"Catalogue version {self.version} has no item {code!r}",
                {"item_code": code, "catalogue_version": self.version},
            ) from None

    def has_item(self, code: str) -> bool:
        return code in self._by_code

    def rating_rules(self) -> "RatingRules":
        """The ``ratings:`` section; ``RuleError`` (``RULES_NO_RATINGS``) if this version has none."""
        if self.ratings is None:
            raise RuleError(
                "RULES_NO_RATINGS",
                f"积分目录{self.version}版未配置评级规则（ratings）",
                f"Catalogue version {self.version} has no ratings section",
                {"catalogue_version": self.version},
            )
        return self.ratings


@dataclass(frozen=True)
class CatalogueSet:
    """All versions of the catalogue, oldest first."""

    versions: tuple[CatalogueVersion, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "versions", tuple(sorted(self.versions, key=lambda v: v.effective_from)))

    def version_on(self, d: date) -> CatalogueVersion:
        """The version in force on ``d``: the greatest ``effective_from`` ≤ ``d``."""
        in_force = [v for v in self.versions if v.effective_from <= d]
        if not in_force:
            first = self.versions[0].effective_from.isoformat() if self.versions else "—"
            raise RuleError(
                "RULES_NO_CATALOGUE",
                f"{d.isoformat()}尚无生效的积分目录（最早版本自{first}起生效）",
                f"No catalogue version is in force on {d.isoformat()} (the first takes effect {first})",
                {"date": d.isoformat(), "first_effective_from": first},
            )
        return in_force[-1]

    def version(self, version_id: str) -> CatalogueVersion:
        """A version by its id (``"2026.1"``)."""
        for v in self.versions:
            if v.version == version_id:
                return v
        raise RuleError(
            "RULES_UNKNOWN_VERSION",
            f"没有版本号为“{version_id}”的积分目录",
            f"No catalogue version {version_id!r}",
            {"version": version_id},
        )


# --- ratings section (三级联创: 信用户 → 信用村 → 信用乡镇) ------------------------------------------------

RATING_LEVELS = ("household", "village", "township")
MEMBER_AGGREGATES = ("mean_adults", "mean_all")
RATING_PERIODS = ("annual",)
NOT_CREDIT_GRADE = "none"
"""The conventional name of the household band below the credit grades (不是信用户)."""


@dataclass(frozen=True)
class ScalePoint:
    """One point of the member scale: a personal score (tenths) and the household points (tenths) it is worth."""

    personal: int
    household: int


@dataclass(frozen=True)
class HouseholdRules:
    """信用户评定 — how members' personal standings and the household's own entries make a household score.

    Household scores are tenths of household points on a 0..``max_score`` scale (100 points → 1000)::

        exact = mean_{counted} scale(score − family_charge) + Σ_{all members} family_charge + household_points
        score = clamp(round_half_up(exact), 0, max_score)

    ``scale`` (``member_scale``, 个人积分折算户分) is a table of points best first, read as straight lines
    between them and flat beyond the ends; the shipped table puts the start of each personal band on the
    start of the household band of the same name (personal A 960 → household A 60, AA 1030 → 70,
    AAA 1050 → 80) and the personal base on the household base (1000 → 65), so a household whose members
    are all A or better is an A 信用户 or better. ``counted`` = members aged ≥ ``adult_age`` on the rating
    date (``mean_adults``; all members when there is no adult) or every member (``mean_all``); a household
    without members counts as one member at the personal base. ``family_charge`` is a member's in-force
    points from ``family_charge_items`` (wrongs tied to the family): taken out of the member's personal
    score before scaling and charged to the household at full weight, through the head of household (户主).
    """

    max_score: int                              # tenths (100 → 1000); the minimum is 0
    member_aggregate: str                       # MEMBER_AGGREGATES
    adult_age: int                              # whole years on the rating date
    member_scale: tuple[ScalePoint, ...]        # best first: personal strictly falling, household not rising
    family_charge_items: tuple[str, ...]        # item codes
    grades: tuple[GradeBand, ...]               # best first; min in tenths; the last has min=None
    credit_grades: tuple[str, ...]              # the best bands: these grades make a 信用户
    disqualifying_member_grades: tuple[str, ...]  # personal grades (scoring.grades) that bar the household
    direct_downgrade_disqualifies: bool         # a member under an in-force direct grade bars the household
    serious_dishonesty_disqualifies: bool       # a member with an in-force serious-dishonesty item bars it

    @property
    def grade_names(self) -> tuple[str, ...]:
        return tuple(b.grade for b in self.grades)

    @property
    def non_credit_grade(self) -> str:
        """The grade a disqualified household gets: the worst band."""
        return self.grades[-1].grade

    @property
    def lowest_credit_min(self) -> int:
        """Tenths: the lowest score that makes a 信用户 (the ``min`` of the worst credit band)."""
        return min(b.min for b in self.grades if b.grade in self.credit_grades and b.min is not None)

    def grade_for(self, score_tenths: int) -> str:
        for band in self.grades:
            if band.min is None or score_tenths >= band.min:
                return band.grade
        return self.grades[-1].grade

    def scale(self, personal_tenths: int | Fraction) -> Fraction:
        """Household points (tenths, exact) a member with this personal score (tenths) is worth: straight
        lines between the points of ``member_scale``, the first point's value above it, the last's below."""
        points = self.member_scale
        if personal_tenths >= points[0].personal:
            return Fraction(points[0].household)
        for upper, lower in zip(points, points[1:]):
            if personal_tenths >= lower.personal:
                slope = Fraction(upper.household - lower.household, upper.personal - lower.personal)
                return lower.household + slope * (personal_tenths - lower.personal)
        return Fraction(points[-1].household)


@dataclass(frozen=True)
class StarBand:
    """星级 — a credit village whose credit-household share reaches ``min_share`` percent gets ``stars``."""

    stars: int
    min_share: Decimal                          # percent, exact (70 = 70 %)


@dataclass(frozen=True)
class VillageRules:
    """信用村评定 — share of credit households (≥) and the serious-dishonesty limit (≤)."""

    credit_household_share: Decimal             # percent, exact; qualifies when credit/total ≥ share/100
    max_serious_dishonesty: int                 # households with a serious-dishonesty member, at most
    serious_dishonesty_items: tuple[str, ...]   # item codes (严重失信, art. 41)
    stars: tuple[StarBand, ...]                 # most stars first


@dataclass(frozen=True)
class TownshipRules:
    """信用乡镇评定 — share of credit villages (≥)."""

    credit_village_share: Decimal               # percent, exact


@dataclass(frozen=True)
class ApprovalRules:
    """审批与公示 — maker-checker levels, publicity period, the annual cycle's close dates."""

    second_approver_for: tuple[str, ...]        # RATING_LEVELS needing a second approver (审核+复核)
    publicity_working_days: int                 # 公示期, working days after publication
    period: str                                 # RATING_PERIODS
    close_dates: dict[str, tuple[int, int]]     # level → (month, day), in cycle order

    def needs_second_approver(self, level: str) -> bool:
        return level in self.second_approver_for

    def close_dates_for(self, rating_year: int) -> dict[str, date]:
        """The cycle of ``rating_year``: households close in that year; each later level on the next
        occurrence of its month-day after the previous level's close (villages 01-31 of the next year…)."""
        out: dict[str, date] = {}
        previous: date | None = None
        for level in RATING_LEVELS:
            month, day = self.close_dates[level]
            d = date(rating_year, month, day)
            if previous is not None:
                d = date(previous.year, month, day)
                if d <= previous:
                    d = date(previous.year + 1, month, day)
            out[level] = d
            previous = d
        return out


@dataclass(frozen=True)
class RatingRules:
    """评级规则 — the ``ratings:`` section of a catalogue version."""

    household: HouseholdRules
    village: VillageRules
    township: TownshipRules
    approval: ApprovalRules
