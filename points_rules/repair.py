"""信用修复 — credit repair (art. 45) as pure rules: no clock, no I/O.

A subject may apply to repair a negative entry once the behaviour is corrected and the entry's public
display period is over (信用修复管理办法: minor — not published, so at once; general — at least 3 months;
serious — at least 1 year). The application names a route (信用承诺、信用整改、专题培训、公益活动) and
the documents the route needs; every missing document is told at once (一次性告知), never one by one.
"谁认定、谁修复": the recording township (or its county) decides, within ``DECISION_WORKING_DAYS``
working days of the official calendar (``points_rules.workdays``).

An approved repair of a direct downgrade (直接判级) is replaced as ``REPLACEMENTS`` says: a court
defaulter who paid in full keeps −50 for 2 years (the catalogue's JUDGMENT-PERFORMED).

PENDING: the display periods and replacement entries belong in the catalogue (a new version file with
loader support); until then they are the named constants below, from /work/shared/DOMAIN.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Mapping

from points_rules.model import DirectGrade, FixedPoints, Item
from points_rules.units import add_months
from points_rules.workdays import WorkCalendar

__all__ = [
    "DECISION_WORKING_DAYS",
    "DISPLAY_MONTHS",
    "GENERAL_FROM_TENTHS",
    "REPLACEMENTS",
    "ROUTES",
    "ROUTE_DOCUMENTS",
    "Refusal",
    "decide_by",
    "display_ends_on",
    "missing_documents",
    "refusals",
    "replacement_code",
    "severity",
]

# The seeds give no working-day count for a repair decision; the art. 46 objection count (7) is used
# so that the two rights of a subject run on one clock. Confirm with the county before production.
DECISION_WORKING_DAYS = 7

# Shortest public display period in months per severity (信用修复管理办法): after it a repair may be asked.
DISPLAY_MONTHS: dict[str, int] = {"minor": 0, "general": 3, "serious": 12}

# A deduction of more than this many tenths (10 分) is general, else minor; a direct downgrade is serious.
GENERAL_FROM_TENTHS = 100

ROUTES = ("commitment", "rectification", "training", "public_interest")

# The documents each route needs. ``commitment_id``: a signed 守信承诺 commitment; the others are photo ids.
ROUTE_DOCUMENTS: dict[str, tuple[str, ...]] = {
    "commitment": ("commitment_id", "correction_photo_ids"),
    "rectification": ("rectification_photo_ids", "correction_photo_ids"),
    "training": ("training_certificate_photo_ids", "correction_photo_ids"),
    "public_interest": ("activity_photo_ids", "correction_photo_ids"),
}

# Direct downgrades and what replaces them after repair: (item code, route) → replacement item code.
# ``None`` as route: any route. The 2026 catalogues have JUDGMENT-PERFORMED (−50, 2 years).
REPLACEMENTS: dict[tuple[str, str | None], str] = {
    ("JUDGMENT-DEFAULTER", None): "JUDGMENT-PERFORMED",
}


@dataclass(frozen=True)
class Refusal:
    """Why an application cannot be accepted: a stable code and the field it concerns."""

    code: str
    field: str | None = None


def severity(item: Item) -> str:
    """``serious`` for a direct downgrade, ``general`` for a deduction over 10 分, else ``minor``."""
    rule = item.points
    if isinstance(rule, DirectGrade):
        return "serious"
    if isinstance(rule, FixedPoints) and abs(rule.points) > GENERAL_FROM_TENTHS:
        return "general"
    if not isinstance(rule, FixedPoints):
        return "general"  # level/tier deductions: sized per event, treated as general
    return "minor"


def display_ends_on(item: Item, occurred_on: date) -> date:
    """The first day a repair may be asked for an entry of ``item`` that occurred on ``occurred_on``."""
    return add_months(occurred_on, DISPLAY_MONTHS[severity(item)])


def missing_documents(route: str, documents: Mapping[str, object]) -> list[str]:
    """Every document the route needs and ``documents`` lacks (empty values count as missing), in order."""
    needed = ROUTE_DOCUMENTS[route]
    return [name for name in needed if not documents.get(name)]


def replacement_code(item_code: str, route: str) -> str | None:
    """The catalogue item that replaces a repaired direct downgrade, or None (the entry just stops counting)."""
    return REPLACEMENTS.get((item_code, route)) or REPLACEMENTS.get((item_code, None))


def refusals(*, item: Item, occurred_on: date, today: date, route: str,
             documents: Mapping[str, object], reversed_or_repaired: bool = False) -> list[Refusal]:
    """All reasons at once why this application cannot be accepted (empty: it can)."""
    out: list[Refusal] = []
    if item.direction != "negative":
        out.append(Refusal("repair_not_negative"))
    if reversed_or_repaired:
        out.append(Refusal("repair_already_ended"))
    if today < display_ends_on(item, occurred_on):
        out.append(Refusal("repair_display_not_over"))
    if route not in ROUTES:
        out.append(Refusal("repair_route_unknown", "route"))
    else:
        out.extend(Refusal("repair_document_missing", name) for name in missing_documents(route, documents))
    return out


def decide_by(calendar: WorkCalendar, applied_on: date) -> date:
    """The last day the recording township may decide an application filed on ``applied_on``."""
    return calendar.add_working_days(applied_on, DECISION_WORKING_DAYS)
