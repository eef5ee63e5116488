"""The township review queue: pending and flagged events in the reviewer's jurisdiction, each
shown with what the reviewer needs (item, level or quantity, note, photos, the points it would
get), and decided one by one or in bulk with exceptions."""

from __future__ import annotations

import json

from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.db import fetch
from backend.errors import CunxinError
from backend.ledger.catalogue import catalogues, points_text
from backend.ledger.schemas import BulkReviewIn, BulkReviewItem, BulkReviewOut, PendingEventOut
from backend.ledger.services import decide, events_out, preview_points
from backend.schemas import ErrorBody, Page
from points_rules import RuleError
from points_rules.model import LevelPoints, TieredPoints
from points_rules.units import format_quantity


async def pending(actor: Actor, *, limit: int, offset: int, newest_first: bool = False,
                  request_id: str = "") -> Page[PendingEventOut]:
    county_id = scope.county_of(actor)
    if actor.role is Role.TOWNSHIP_ADMIN:
        condition, args = "e.county_id = {} AND e.township_id = {}", [county_id, actor.township_id]
    else:
        condition, args = "e.county_id = {}", [county_id]
    where = f"{condition} AND (e.status = 'pending_review' OR (e.flag_reason <> '' AND e.status = 'counted'))"
    total = (await fetch(f"SELECT count(*) AS n FROM credit_event e WHERE {where}", *args))[0]["n"]
    rows = await fetch(
        f"""SELECT e.id, e.subject_kind, e.subject_id, e.township_id, e.household_id, e.person_id, e.grid_id,
                   e.created_at, a.username, p.name AS person_name, e.item_code, e.occurred_on, e.level,
                   e.quantity, e.note, e.evidence_ids, e.status, e.recorded_by, e.idempotency_key, e.act_id,
                   e.recorded_on
            FROM credit_event e JOIN account a ON a.id = e.recorded_by
            LEFT JOIN person p ON p.county_id = e.county_id AND p.id = e.person_id
            WHERE {where} ORDER BY e.id {"DESC" if newest_first else ""} LIMIT {{}} OFFSET {{}}""",
        *args, limit, offset,
    )
    await scope.log_reads(actor, [
        scope.Location(kind=r["subject_kind"], id=r["subject_id"], county_id=county_id, township_id=r["township_id"],
                       grid_id=r["grid_id"], household_id=r["household_id"], person_id=r["person_id"])
        for r in rows
    ], fields=["credit_event"], purpose="review_queue", request_id=request_id)
    rendered = await events_out([r["id"] for r in rows], county_id)
    preview = await preview_points([r for r in rows if r["status"] == "pending_review"])
    items = [PendingEventOut(**base.model_dump(), recorded_by=r["username"], subject_name=r["person_name"],
                             created_at=r["created_at"], **_described(r, preview, county_id))
             for base, r in zip(rendered, rows)]
    return Page[PendingEventOut](items=items, total=total, limit=limit, offset=offset)


def _described(r: dict, preview: dict[int, int | None], county_id: int | None = None) -> dict:
    try:
        item = catalogues(county_id).version_on(r["occurred_on"]).item(r["item_code"])
    except RuleError:
        item = None
    rule = item.points if item else None
    level = rule.level(r["level"]) if isinstance(rule, LevelPoints) and r["level"] else None
    evidence = r["evidence_ids"]
    if isinstance(evidence, str):
        evidence = json.loads(evidence)
    if r["status"] == "pending_review":
        points = preview.get(r["id"])
        points_if_approved = None if points is None else points_text(points)
    else:  # flagged but already counted: what it counts for now is in its entries
        points_if_approved = None
    return {
        "item_name_zh": item.name_zh if item else r["item_code"],
        "level": r["level"],
        "level_name_zh": level.name_zh if level else None,
        "quantity": None if r["quantity"] is None else format_quantity(r["quantity"]),
        "unit_zh": rule.unit_zh if isinstance(rule, TieredPoints) else None,
        "note": r["note"],
        "evidence_thumbnails": [f"/api/v1/evidence/{e}/thumbnail" for e in evidence],
        "points_if_approved": points_if_approved,
    }


async def decide_many(actor: Actor, data: BulkReviewIn) -> BulkReviewOut:
    """Approve every listed event except the exceptions, which are rejected with their reasons.
    Each event is decided on its own (its own transaction, as one by one): one that fails —
    already decided, not in my jurisdiction — is reported and never blocks the others."""
    exceptions = {e.event_id: e for e in data.exceptions}
    ordered = list(dict.fromkeys([*data.event_ids, *exceptions]))
    results: list[BulkReviewItem] = []
    for event_id in ordered:
        exception = exceptions.get(event_id)
        try:
            if exception is None:
                event = await decide(actor, event_id, approve=True, reason=data.reason)
            else:
                event = await decide(actor, event_id, approve=False, reason=exception.reason)
            results.append(BulkReviewItem(event_id=event_id, outcome="rejected" if exception else "approved",
                                          event=event))
        except CunxinError as exc:
            results.append(BulkReviewItem(event_id=event_id, outcome="error", error=ErrorBody(**exc.to_body())))
    counts = {k: sum(r.outcome == k for r in results) for k in ("approved", "rejected", "error")}
    return BulkReviewOut(results=results, approved=counts["approved"], rejected=counts["rejected"],
                         errors=counts["error"])
