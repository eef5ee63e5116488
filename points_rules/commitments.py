"""信用承诺 — credit commitments as pure rules: no clock, no I/O.

A subject signs a commitment made from a template for one purpose (守信承诺 for repair, 容缺受理,
惠农补贴申领 …) for a term; the check date is the term's last day. A township admin then decides
kept or broken, once: kept becomes the catalogue's COMMITMENT-KEPT event, broken COMMITMENT-BROKEN.
Template texts are versioned by their SHA-256, as consent notices are.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from points_rules.units import add_months

__all__ = [
    "DEFAULT_TEMPLATES",
    "ITEM_FOR_OUTCOME",
    "MAX_TERM_MONTHS",
    "OUTCOMES",
    "PURPOSES",
    "check_date",
    "check_state",
    "decision_problems",
    "event_date",
    "item_for",
    "serves",
    "text_sha256",
]

PURPOSES = ("repair", "tolerance_acceptance", "subsidy_claim", "other")  # 守信承诺 / 容缺受理 / 惠农补贴申领 / 其他
PURPOSE_NAMES_ZH = {"repair": "信用修复守信承诺", "tolerance_acceptance": "容缺受理承诺",
                    "subsidy_claim": "惠农补贴申领承诺", "other": "信用承诺"}
OUTCOMES = ("kept", "broken")
ITEM_FOR_OUTCOME = {"kept": "COMMITMENT-KEPT", "broken": "COMMITMENT-BROKEN"}
MAX_TERM_MONTHS = 36


def text_sha256(text: str) -> str:
    """The version id of a template text: SHA-256 of its UTF-8 bytes, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_date(signed_on: date, term_months: int) -> date:
    """The last day of a commitment signed on ``signed_on`` for ``term_months`` months (its check date)."""
    if not 1 <= term_months <= MAX_TERM_MONTHS:
        raise ValueError(f"term_months must be 1..{MAX_TERM_MONTHS}")
    return add_months(signed_on, term_months) - timedelta(days=1)


def check_state(today: date, *, decided: bool, check_on: date) -> str:
    """``decided``; ``due`` (open, check date reached or passed: the township's list); or ``running``."""
    if decided:
        return "decided"
    return "due" if today >= check_on else "running"


def item_for(outcome: str) -> str:
    """The catalogue item code the decision records."""
    return ITEM_FOR_OUTCOME[outcome]


# The shipped wording per purpose: what a county starts with until its admins add their own (a
# template's text never changes; a new wording is a new template). ``term_months`` is the default term.
DEFAULT_TEMPLATES: dict[str, dict] = {
    "repair": {
        "title": "信用修复守信承诺书",
        "term_months": 12,
        "text": ("本人（本户、本单位）自愿作出如下承诺：已纠正失信行为，依法履行了相关义务；在承诺期内严格遵守"
                 "法律法规和村规民约，诚实守信，不再发生同类失信行为；所提交的修复材料真实、准确、完整。"
                 "如违背承诺，自愿接受相应的信用约束，违诺情况记入本人（本户、本单位）信用记录。"),
    },
    "tolerance_acceptance": {
        "title": "容缺受理信用承诺书",
        "term_months": 3,
        "text": ("本人（本户、本单位）申请容缺受理，承诺在约定期限内补齐所缺材料，所提供的信息真实、准确、完整。"
                 "如未按期补齐材料或提供虚假材料，自愿承担由此产生的责任，违诺情况记入本人（本户、本单位）信用记录。"),
    },
    "subsidy_claim": {
        "title": "惠农补贴申领信用承诺书",
        "term_months": 12,
        "text": ("本人（本户）申领惠农补贴，承诺所填报的土地面积、种植养殖品种和数量、家庭成员等信息真实准确，"
                 "不虚报冒领、不重复申领。如有不实，自愿退回补贴并接受处理，违诺情况记入本人（本户）信用记录。"),
    },
    "other": {
        "title": "信用承诺书",
        "term_months": 12,
        "text": ("本人（本户、本单位）承诺在承诺期内遵守法律法规和村规民约，诚实守信，履行所作出的各项承诺。"
                 "如违背承诺，自愿接受相应的信用约束，违诺情况记入本人（本户、本单位）信用记录。"),
    },
}


def decision_problems(outcome: str, *, today: date, signed_on: date, check_on: date,
                      evidence_count: int) -> list[str]:
    """Every reason a decision cannot be taken now, at once (codes; empty: it can).

    Kept only from the check date on (the term must have been fulfilled); broken as soon as the
    breach is found (a commitment broken in its second month is not left counting until the end of
    its term), but with at least one evidence photo — COMMITMENT-BROKEN requires evidence. Neither
    before the commitment was signed."""
    problems = []
    if outcome not in OUTCOMES:
        return ["COMMITMENT_OUTCOME_UNKNOWN"]
    if today < signed_on:
        problems.append("COMMITMENT_NOT_SIGNED_YET")
    if outcome == "kept" and today < check_on:
        problems.append("COMMITMENT_NOT_DUE")
    if outcome == "broken" and evidence_count < 1:
        problems.append("COMMITMENT_EVIDENCE_REQUIRED")
    return problems


def event_date(outcome: str, *, decided_on: date, check_on: date) -> date:
    """The ledger event's ``occurred_on``: a kept commitment was fulfilled on its check date (its
    one year of validity runs from the end of the term, however late the township decides); a
    broken one on the day the breach was verified (the decision)."""
    return check_on if outcome == "kept" else decided_on


def serves(commitment: dict, *, subject_kind: str, subject_id: int, purpose: str) -> bool:
    """Whether a commitment may be cited (e.g. by a credit repair): of that purpose, the subject's own
    (a household's serves the household, a person's the person — never each other), and signed or
    kept, never broken."""
    return (commitment["purpose"] == purpose and commitment["subject_kind"] == subject_kind
            and commitment["subject_id"] == subject_id and commitment["status"] in ("signed", "kept"))
