"""版本比对 — what changed between two catalogue versions, field by field, in Chinese and English."""

from __future__ import annotations

from dataclasses import dataclass

from points_rules.model import (
    RATING_LEVELS, CatalogueVersion, DirectGrade, FixedPoints, Item, LevelPoints, RatingRules, Scoring, TieredPoints,
)
from points_rules.units import format_points, format_quantity

_LABELS_ZH = {
    "base": "基础分", "grades": "等级分数线", "default_grade": "默认等级", "grade_after_repair": "修复后等级",
    "direct_downgrade_years": "直接判级期限（年）", "recording_window": "登记时限",
    "deduction_years": "扣分有效期", "honour_years": "表彰有效期（年）", "positive_years": "加分默认有效期（年）",
    "name_zh": "名称", "name_en": "英文名称", "behaviour_zh": "具体行为", "category": "类别", "direction": "方向",
    "points": "分值", "subject_kinds": "适用主体", "validity": "有效期", "logged_by": "录入角色",
    "evidence": "证据", "needs_review": "需审核", "repeat_doubles": "重复加倍", "cap_per_year": "年度上限",
    "disclosure": "目录属性", "publicity": "公开属性", "sharing_scope": "共享范围", "source": "归集来源",
    "channel": "归集渠道", "update_frequency": "更新频次", "legal_basis": "依据", "notes_zh": "备注",
    # ratings (三级联创)
    "household": "信用户", "village": "信用村", "township": "信用乡镇", "approval": "审批公示",
    "max_score": "满分", "member_aggregate": "成员合并方式", "adult_age": "成年年龄",
    "member_scale": "个人积分折算户分", "family_charge_items": "计入户主的家庭责任事项", "credit_grades": "信用户等级",
    "disqualifying_member_grades": "一票否决的成员等级", "direct_downgrade_disqualifies": "成员直接判级否决",
    "serious_dishonesty_disqualifies": "成员严重失信否决", "credit_household_share": "信用户占比下限",
    "max_serious_dishonesty": "严重失信户数上限", "serious_dishonesty_items": "严重失信事项", "stars": "星级",
    "credit_village_share": "信用村占比下限", "second_approver_for": "需复核层级",
    "publicity_working_days": "公示期（工作日）", "period": "评定周期", "close_dates": "截止日期",
    # credit repair (信用修复)
    "repair": "信用修复", "display_months": "最短公示期", "decision_working_days": "办理时限（工作日）",
    "minor": "轻微", "general": "一般", "serious": "严重", "severity": "失信程度", "routes": "修复方式",
    "replaced_by": "修复后改记", "replaced_on_routes": "改记适用的修复方式",
    "village_points": "村规民约积分计入县级积分",
}


@dataclass(frozen=True)
class ChangeLine:
    """One difference: ``kind`` is added / removed / changed; ``field`` is a dotted path."""

    kind: str
    area: str                # "scoring" | "ratings" | "item"
    code: str | None         # item code for item changes
    field: str | None
    old: str | None
    new: str | None
    text_zh: str
    text_en: str

    def __str__(self) -> str:
        return f"{self.text_zh} | {self.text_en}"


def _label_zh(path: str) -> str:
    return "·".join(_LABELS_ZH.get(part, part) for part in path.split("."))


def _scoring_fields(s: Scoring) -> dict[str, str]:
    out = {"base": format_points(s.base, signed=False), "default_grade": s.default_grade,
           "grade_after_repair": s.grade_after_repair, "recording_window": s.recording_window.describe_zh(),
           "positive_years": str(s.positive_years)}
    for band in s.grades:
        out[f"grades.{band.grade}"] = "最低档" if band.min is None else f"≥{format_points(band.min, signed=False)}"
    out.update({f"direct_downgrade_years.{g}": str(y) for g, y in s.direct_downgrade_years.items()})
    out.update({f"honour_years.{k}": str(y) for k, y in s.honour_years.items()})
    out.update({f"repair.display_months.{k}": f"{m}个月" for k, m in s.repair.display_months.items()})
    out["repair.decision_working_days"] = str(s.repair.decision_working_days)
    out["village_points"] = (f"计入，上限±{format_points(s.village_points.cap, signed=False)}分" if s.village_points
                             else "不计入")
    out["deduction_years"] = "；".join(
        f"{'其余' if r.up_to is None else '≤' + format_points(r.up_to, signed=False) + '分'}：{r.years}年"
        for r in s.deduction_years)
    return out


def _percent(value) -> str:
    return f"{format(value.normalize(), 'f')}%"


def _ratings_fields(r: RatingRules | None) -> dict[str, str]:
    """The ``ratings:`` section as flat fields (an absent section has none: every field shows as added/removed)."""
    if r is None:
        return {}
    h, v, t, a = r.household, r.village, r.township, r.approval
    out = {
        "household.max_score": format_points(h.max_score, signed=False),
        "household.member_aggregate": h.member_aggregate,
        "household.adult_age": str(h.adult_age),
    }
    out.update({f"household.member_scale.{format_points(p.personal, signed=False)}":
                format_points(p.household, signed=False) for p in h.member_scale})
    out["household.family_charge_items"] = ", ".join(h.family_charge_items) or "—"
    for band in h.grades:
        out[f"household.grades.{band.grade}"] = ("最低档" if band.min is None
                                                 else f"≥{format_points(band.min, signed=False)}")
    out.update({
        "household.credit_grades": ", ".join(h.credit_grades),
        "household.disqualifying_member_grades": ", ".join(h.disqualifying_member_grades) or "—",
        "household.direct_downgrade_disqualifies": str(h.direct_downgrade_disqualifies).lower(),
        "household.serious_dishonesty_disqualifies": str(h.serious_dishonesty_disqualifies).lower(),
        "village.credit_household_share": "≥" + _percent(v.credit_household_share),
        "village.max_serious_dishonesty": str(v.max_serious_dishonesty),
        "village.serious_dishonesty_items": ", ".join(v.serious_dishonesty_items) or "—",
    })
    out.update({f"village.stars.{b.stars}": "≥" + _percent(b.min_share) for b in v.stars})
    out["township.credit_village_share"] = "≥" + _percent(t.credit_village_share)
    out.update({
        "approval.second_approver_for": ", ".join(a.second_approver_for) or "—",
        "approval.publicity_working_days": str(a.publicity_working_days),
        "approval.period": a.period,
    })
    out.update({f"approval.close_dates.{level}": "%02d-%02d" % a.close_dates[level] for level in RATING_LEVELS})
    return out


def _item_fields(item: Item) -> dict[str, str]:
    out = {"name_zh": item.name_zh, "name_en": item.name_en or "", "behaviour_zh": item.behaviour_zh,
           "category": item.category, "direction": item.direction, "subject_kinds": ", ".join(item.subject_kinds),
           "validity": "by_rule" if item.validity_years is None else f"{item.validity_years}年",
           "logged_by": ", ".join(item.logged_by), "evidence": item.evidence,
           "needs_review": str(item.needs_review).lower(), "repeat_doubles": str(item.repeat_doubles).lower(),
           "cap_per_year": "—" if item.cap_per_year is None else format_points(item.cap_per_year, signed=False),
           "notes_zh": item.notes_zh or ""}
    if item.direction == "negative":
        out.update({"severity": item.severity or "—", "repair.routes": ", ".join(item.repair.routes),
                    "repair.replaced_by": item.repair.replaced_by or "—",
                    "repair.replaced_on_routes": "—" if item.repair.replaced_on_routes is None
                    else ", ".join(item.repair.replaced_on_routes)})
    out.update({f"disclosure.{k}": v for k, v in item.disclosure.__dict__.items()})
    rule = item.points
    out["points.kind"] = rule.kind
    if isinstance(rule, FixedPoints):
        out["points"] = format_points(rule.points)
    elif isinstance(rule, LevelPoints):
        for lv in rule.levels:
            out[f"points.{lv.key}"] = f"{lv.name_zh} {format_points(lv.points)}"
    elif isinstance(rule, TieredPoints):
        out["points.unit_zh"] = rule.unit_zh
        for t in rule.tiers:
            out[f"points.{format_quantity(t.at)}"] = format_points(t.total)
    elif isinstance(rule, DirectGrade):
        out["points"] = f"直接判级 {rule.grade}"
    return out


def _compare(old: dict[str, str], new: dict[str, str], area: str, code: str | None) -> list[ChangeLine]:
    if area == "ratings":
        where_zh, where_en = "评级规则", "ratings"
    else:
        where_zh = "计分规则" if code is None else f"事项 {code}"
        where_en = "scoring" if code is None else f"item {code}"
    lines = []
    for key in list(old) + [k for k in new if k not in old]:
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if a is None:
            zh, en, kind = f"{where_zh}：新增 {_label_zh(key)} = {b}", f"{where_en}: {key} added = {b}", "added"
        elif b is None:
            zh, en, kind = f"{where_zh}：删除 {_label_zh(key)}（原为 {a}）", f"{where_en}: {key} removed (was {a})", "removed"
        else:
            zh, en, kind = f"{where_zh}：{_label_zh(key)} {a} → {b}", f"{where_en}: {key} {a} → {b}", "changed"
        lines.append(ChangeLine(kind, area, code, key, a, b, zh, en))
    return lines


def diff_versions(a: CatalogueVersion, b: CatalogueVersion) -> list[ChangeLine]:
    """Changes from ``a`` to ``b``: scoring fields and thresholds, the ratings section (area ``"ratings"``),
    then items removed, added and changed."""
    lines = _compare(_scoring_fields(a.scoring), _scoring_fields(b.scoring), "scoring", None)
    lines += _compare(_ratings_fields(a.ratings), _ratings_fields(b.ratings), "ratings", None)
    old_items = {i.code: i for i in a.items}
    new_items = {i.code: i for i in b.items}
    for code, item in old_items.items():
        if code not in new_items:
            lines.append(ChangeLine("removed", "item", code, None, item.name_zh, None,
                                    f"删除事项 {code}（{item.name_zh}）", f"item {code} removed ({item.name_en or item.name_zh})"))
    for code, item in new_items.items():
        if code not in old_items:
            lines.append(ChangeLine("added", "item", code, None, None, item.name_zh,
                                    f"新增事项 {code}（{item.name_zh}，{_item_fields(item).get('points') or item.points.kind}）",
                                    f"item {code} added ({item.name_en or item.name_zh})"))
    for code, item in old_items.items():
        if code in new_items:
            lines.extend(_compare(_item_fields(item), _item_fields(new_items[code]), "item", code))
    return lines
