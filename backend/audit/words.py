"""The access log in a villager's words (查询记录): who, what, why and when — no tokens.

The log stores machine tokens (``points_view``, ``id_number_full`` …) because auditors query
and count them; this module is the one vocabulary that turns them into Chinese for the person
the data is about. It is pure (no I/O): the organisation names it formats are looked up by
:mod:`backend.audit.readers` when the row is written.

Every token any caller of ``scope.authorize_read`` / ``scope.log_reads`` passes is listed here
(``tests/unit/audit/test_words.py`` scans ``backend/`` and fails on a new unmapped token);
an unknown token still never reaches the villager raw — it falls back to a plain phrase.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from backend import clock

# --- who ---------------------------------------------------------------------------------------

ROLE_ZH = {
    "township_admin": "乡镇管理员",
    "grid_worker": "网格员",
    "county_admin": "县区管理员",
    "auditor": "审计员",
    "bank": "银行",
    "villager": "村民",
}
UNKNOWN_ROLE_ZH = "工作人员"

# When a row carries no organisation (written before organisations were recorded, or by the
# back office), say which *kind* of body it was rather than nothing.
GENERIC_ORG_ZH = {
    "township_admin": "乡镇人民政府",
    "grid_worker": "村（社区）网格",
    "county_admin": "县区发展和改革局（信用办）",
    "auditor": "县区发展和改革局（信用办）",
    "bank": "合作银行",
    "villager": "辖区村民",
}
UNKNOWN_ORG_ZH = "信用平台"
ADMIN_UI_ORG_ZH = "县区发展和改革局（信用办）管理后台"
HOUSEHOLD_MEMBER_ZH = "本户家庭成员"
SELF_ZH = "本人"
WHO_SEPARATOR = " · "


def township_org(name: str, kind: str) -> str:
    """梁家墩镇 → 梁家墩镇人民政府; a 街道 → …街道办事处."""
    full = name if name.endswith(kind) else name + kind
    return full + ("办事处" if kind == "街道" else "人民政府")


def village_org(name: str, kind: str) -> str:
    """清凉寺村 → 清凉寺村村民委员会; 梁家墩社区 → 梁家墩社区居民委员会."""
    full = name if name.endswith(kind) else name + kind
    return full + ("居民委员会" if kind == "社区" else "村民委员会")


def county_org(name: str) -> str:
    """The county's credit office sits in its development-and-reform bureau (信用办)."""
    return f"{name}发展和改革局（信用办）"


def villager_org(village_name: str) -> str:
    return f"{village_name}村民"


def role_zh(role: str) -> str:
    return ROLE_ZH.get(role, UNKNOWN_ROLE_ZH)


def org_zh(actor_kind: str, role: str, recorded: str) -> str:
    """The organisation recorded at read time, or the kind of body when none was recorded."""
    if recorded:
        return recorded
    if actor_kind == "admin_user":
        return ADMIN_UI_ORG_ZH
    return GENERIC_ORG_ZH.get(role, UNKNOWN_ORG_ZH)


# --- what --------------------------------------------------------------------------------------

# Ordered as a villager would list them: identity first, then family, then credit.
FIELD_ZH: dict[str, str] = {
    "consent": "授权记录",
    "feed_record": "外部推送记录",
    "name": "姓名",
    "sex": "性别",
    "birth_date": "出生日期",
    "id_number": "身份证号（部分隐藏）",
    "id_number_full": "身份证号（完整）",
    "phone": "手机号（部分隐藏）",
    "phone_full": "手机号（完整）",
    "household": "所在家庭（户）",
    "party": "党员身份",
    "code": "户编号",
    "head_name": "户主姓名",
    "member_count": "家庭人数",
    "members": "家庭成员",
    "address": "住址",
    "residence": "住址与所属网格",
    "party_contact": "联户党员",
    "party_links": "党员联户关系",
    "membership_history": "户籍变动记录",
    "residence_history": "住址变动记录",
    "points": "信用积分",
    "grade": "信用等级",
    "ledger_entries": "积分明细",
    "ledger": "积分记录",
    "credit_event": "信用事件记录",
    "evidence_photo": "信用事件照片",
    "rating": "家庭信用评级",
    "objection": "评级异议材料",
    "entry_objection": "积分记录异议材料",
    "repair_application": "信用修复申请材料",
    "credit_commitment": "信用承诺书及履约认定",
    "village_points": "村规民约积分",
    "consents": "授权同意记录",
    "rating_check": "信用评级核验结果（未提供等级）",
    "bank_pulls": "银行查询记录",
    "notice_delivery": "发给您的通知（短信等）的发送记录",
    "admin_ui": "管理后台中的记录",
}
UNKNOWN_FIELD_ZH = "其他个人信息"
# A full identifier read supersedes the masked one in the same read.
_SUPERSEDED_BY = {"id_number": "id_number_full", "phone": "phone_full"}
_ORDER = {token: i for i, token in enumerate(FIELD_ZH)}


def what_zh(fields: Iterable[str]) -> list[str]:
    """The fields read, in Chinese, each once, in a fixed order."""
    tokens = set(fields)
    out: list[str] = []
    for token in sorted(tokens, key=lambda t: (_ORDER.get(t, len(_ORDER)), t)):
        if _SUPERSEDED_BY.get(token) in tokens:
            continue
        words = FIELD_ZH.get(token, UNKNOWN_FIELD_ZH)
        if words not in out:
            out.append(words)
    return out or [UNKNOWN_FIELD_ZH]


# --- why ---------------------------------------------------------------------------------------

PURPOSE_ZH: dict[str, str] = {
    "feed_matching": "匹配外部推送记录（如法院、人社部门名单）",
    "eligibility_list_view": "查看激励惩戒适用名单",
    "eligibility_list_export": "导出激励惩戒适用名单",
    "points_view": "查看信用积分",
    "rating_view": "查看家庭信用等级",
    "rating_approval": "评定家庭信用等级",
    "rating_objection": "处理信用评级异议",
    "entry_objection": "处理积分记录异议",
    "credit_repair": "办理信用修复",
    "credit_commitment": "办理信用承诺（签署、查看、履约认定）",
    "village_points_view": "查看村规民约积分",
    "area_standing": "查看本村（网格）各户信用等级",
    "event_view": "查看信用事件",
    "event_review": "审核信用事件",
    "review_queue": "整理待审核的信用事件",
    "data_quality": "核查辖区信用数据质量（迟报、超期待审、缺照片、户籍缺漏）",
    "ledger_correction": "更正积分记录",
    "evidence_view": "查看信用事件照片",
    "evidence_status": "核对信用事件照片",
    "registry_view": "查看户籍信息",
    "registry_list": "查看辖区家庭名册",
    "offline_roster": "网格员下载网格名册到手机（离线登记信用事件用）",
    "registry_history": "查看户籍变动记录",
    "registry_change": "办理户籍（家庭成员、住址）变更",
    "party_links": "开展党员联户工作",
    "consent_view": "查看授权同意记录",
    "consent_receipt": "出具授权同意回执",
    "bank_pull": "银行查询信用评级（经您家授权）",
    "bank_pull_review": "查看银行查询记录",
    "notice_delivery_log": "核查通知（短信等）的发送记录",
    "admin_ui": "在管理后台查询",
}
# A role that reads for one reason only keeps that reason when a new token is not yet worded:
# a bank reads only under the household's consent (DESIGN invariant 6).
ROLE_PURPOSE_ZH = {"bank": "银行授信查询（经您同意）"}
UNKNOWN_PURPOSE_ZH = "办理相关业务"


BANK_PURPOSE_ZH = {"credit_application": "信贷申请", "credit_line_review": "授信额度审查"}


def bank_pull_zh(product_name_zh: str, purpose: str, consent_id: int | None) -> str:
    """A bank's pull in words: which product, for what, under which consent (授权编号)."""
    consent = f"，依据授权编号 {consent_id}" if consent_id else ""
    return (f"{PURPOSE_ZH['bank_pull']}：{product_name_zh}（{BANK_PURPOSE_ZH.get(purpose, UNKNOWN_PURPOSE_ZH)}）"
            f"{consent}")


def why_zh(purpose: str, role: str = "") -> str:
    """The purpose in Chinese; ``admin_ui:get`` and the like match on the part before the colon."""
    words = PURPOSE_ZH.get(purpose) or PURPOSE_ZH.get(purpose.split(":", 1)[0])
    return words or ROLE_PURPOSE_ZH.get(role, UNKNOWN_PURPOSE_ZH)


# --- when and about whom ----------------------------------------------------------------------


def when_zh(instant: datetime) -> str:
    """Local time in the platform's zone: ``2026年7月1日 09:30``."""
    local = instant.astimezone(clock.zone())
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def about_zh(subject_kind: str, subject_person: int | None, viewer_person: int | None,
             person_name: str | None) -> str:
    """Whose data it was, from the viewer's side: themself, the household, or a family member."""
    if subject_kind == "household":
        return "您家（全户）"
    if subject_kind == "person" and subject_person is not None and subject_person == viewer_person:
        return "您本人"
    if subject_kind == "person":
        return f"家庭成员 {person_name}" if person_name else "家庭成员"
    return "您家相关信息"
