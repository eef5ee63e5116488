"""信用修复 — credit repair (art. 45) as pure rules: no clock, no I/O.

A subject may apply to repair a negative entry once the behaviour is corrected and the entry's public
display period is over. The periods per severity and the working days to decide are the catalogue's
(``scoring.repair``; the national rules by default: minor — not published, so at once; general — at
least 3 months; serious — at least 1 year). An item's severity is its own (``severity:``) or derived:
a direct downgrade is serious, a deduction over 10 分 or sized per event is general, the rest minor.

The application names a route the item allows (``repair.routes``: 信用承诺、信用整改、专题培训、公益活动)
and the documents the route needs; every missing document is told at once (一次性告知), never one by
one. "谁认定、谁修复": the recording township (or its county) decides on the official calendar.

Approved, the entry leaves the counted set (it stays in the ledger, marked repaired); an item with
``repair.replaced_by`` is replaced by that item's deduction (a court defaulter who paid in full:
JUDGMENT-PERFORMED, −50 for 2 years). A removal by the source list (the court, the labour bureau) is
the route ``source_removal``: no application, no display-period condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Mapping

from points_rules.model import (REPAIR_ROUTES, SOURCE_REMOVAL, DirectGrade, FixedPoints, Item, RepairRules)
from points_rules.units import add_months
from points_rules.workdays import WorkCalendar

__all__ = [
    "GENERAL_FROM_TENTHS",
    "ROUTES",
    "WARN_WORKING_DAYS_BEFORE",
    "ROUTE_DOCUMENTS",
    "Refusal",
    "applicant_routes",
    "decide_by",
    "display_ends_on",
    "entry_refusals",
    "missing_documents",
    "refusals",
    "replacement_code",
    "route_refusals",
    "severity",
    "warn_on",
]

WARN_WORKING_DAYS_BEFORE = 2
"""As for objections: the township sees the case in its due-soon queue two working days before the deadline."""

GENERAL_FROM_TENTHS = 100
"""A fixed deduction of more than this many tenths (10 分) is general, else minor (when the item names no severity)."""

ROUTES = REPAIR_ROUTES

ROUTE_DOCUMENTS: dict[str, tuple[str, ...]] = {
    "commitment": ("commitment_id", "correction_photo_ids"),
    "rectification": ("rectification_photo_ids", "correction_photo_ids"),
    "training": ("training_certificate_photo_ids", "correction_photo_ids"),
    "public_interest": ("activity_photo_ids", "correction_photo_ids"),
}
"""What each route needs. ``commitment_id``: a signed 守信承诺 commitment; ``correction_photo_ids``: proof
the behaviour is corrected (a receipt, the court's closing notice); the other names are photo ids."""

DOCUMENT_NAMES_ZH: dict[str, str] = {
    "commitment_id": "已签署的守信承诺书",
    "correction_photo_ids": "失信行为已纠正的证明材料（照片）",
    "rectification_photo_ids": "信用整改材料（照片）",
    "training_certificate_photo_ids": "信用修复专题培训结业证明（照片）",
    "activity_photo_ids": "参加公益活动的证明（照片）",
}


@dataclass(frozen=True)
class Refusal:
    """Why an application cannot be accepted: a stable code and the field it concerns."""

    code: str
    field: str | None = None


def severity(item: Item) -> str:
    """The item's own severity, else: ``serious`` for a direct downgrade, ``general`` for a deduction
    over 10 分 (or one sized per event), else ``minor``."""
    if item.severity is not None:
        return item.severity
    rule = item.points
    if isinstance(rule, DirectGrade):
        return "serious"
    if not isinstance(rule, FixedPoints):
        return "general"
    return "general" if abs(rule.points) > GENERAL_FROM_TENTHS else "minor"


def display_ends_on(rules: RepairRules, item: Item, occurred_on: date) -> date:
    """The first day a repair may be asked for an entry of ``item`` that occurred on ``occurred_on``."""
    return add_months(occurred_on, rules.display_months[severity(item)])


def applicant_routes(item: Item) -> tuple[str, ...]:
    """The routes a subject may apply by (a source list's removal is not applied for)."""
    return tuple(r for r in item.repair.routes if r != SOURCE_REMOVAL)


def missing_documents(route: str, documents: Mapping[str, object]) -> list[str]:
    """Every document the route needs and ``documents`` lacks (empty values count as missing), in order."""
    return [name for name in ROUTE_DOCUMENTS[route] if not documents.get(name)]


def replacement_code(item: Item, route: str) -> str | None:
    """The item that replaces a repaired entry of ``item`` by ``route``, or None (it just stops counting)."""
    rule = item.repair
    if rule.replaced_by is None:
        return None
    if rule.replaced_on_routes is not None and route not in rule.replaced_on_routes:
        return None
    return rule.replaced_by


def entry_refusals(*, item: Item, rules: RepairRules, occurred_on: date, today: date, ended: bool = False,
                   expired: bool = False) -> list[Refusal]:
    """Why this entry cannot be repaired today, whatever the route. ``ended``: it was reversed or
    repaired already; ``expired``: its validity is over (it counts no more)."""
    out: list[Refusal] = []
    if item.direction != "negative":
        out.append(Refusal("repair_not_negative"))
    if ended:
        out.append(Refusal("repair_already_ended"))
    if expired:
        out.append(Refusal("repair_entry_expired"))
    if today < display_ends_on(rules, item, occurred_on):
        out.append(Refusal("repair_display_not_over"))
    return out


def route_refusals(item: Item, route: str, documents: Mapping[str, object]) -> list[Refusal]:
    """Why this route cannot be taken for ``item``, or which of its documents are missing."""
    if route not in ROUTES:
        return [Refusal("repair_route_unknown", "route")]
    if route not in applicant_routes(item):
        return [Refusal("repair_route_not_allowed", "route")]
    return [Refusal("repair_document_missing", name) for name in missing_documents(route, documents)]


def refusals(*, item: Item, rules: RepairRules, occurred_on: date, today: date, route: str,
             documents: Mapping[str, object], ended: bool = False, expired: bool = False) -> list[Refusal]:
    """All reasons at once why this application cannot be accepted (empty: it can)."""
    return (entry_refusals(item=item, rules=rules, occurred_on=occurred_on, today=today, ended=ended, expired=expired)
            + route_refusals(item, route, documents))


def decide_by(calendar: WorkCalendar, rules: RepairRules, applied_on: date) -> date:
    """The last day the recording township may decide an application complete on ``applied_on``."""
    return calendar.add_working_days(applied_on, rules.decision_working_days)


def warn_on(calendar: WorkCalendar, rules: RepairRules, applied_on: date) -> date:
    """The day the township is warned: ``WARN_WORKING_DAYS_BEFORE`` working days before the deadline
    (the day after filing when the deadline is that short)."""
    return calendar.add_working_days(applied_on, max(1, rules.decision_working_days - WARN_WORKING_DAYS_BEFORE))
