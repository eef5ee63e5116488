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
    "ITEM_FOR_OUTCOME",
    "MAX_TERM_MONTHS",
    "OUTCOMES",
    "PURPOSES",
    "check_date",
    "check_state",
    "item_for",
    "text_sha256",
]

PURPOSES = ("repair", "tolerance_acceptance", "subsidy_claim", "other")  # 守信承诺 / 容缺受理 / 惠农补贴申领 / 其他
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
