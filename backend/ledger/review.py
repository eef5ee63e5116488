"""The township review queue: pending and flagged events in the reviewer's jurisdiction."""

from __future__ import annotations

from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.db import fetch
from backend.ledger.schemas import PendingEventOut
from backend.ledger.services import events_out
from backend.schemas import Page


async def pending(actor: Actor, *, limit: int, offset: int, request_id: str = "") -> Page[PendingEventOut]:
    if actor.role is Role.TOWNSHIP_ADMIN:
        condition, args = "e.township_id = {}", [actor.township_id]
    else:
        condition, args = "e.township_id IN (SELECT id FROM township WHERE county = {})", [actor.county_id]
    where = f"{condition} AND (e.status = 'pending_review' OR (e.flag_reason <> '' AND e.status = 'counted'))"
    total = (await fetch(f"SELECT count(*) AS n FROM credit_event e WHERE {where}", *args))[0]["n"]
    rows = await fetch(
        f"""SELECT e.id, e.subject_kind, e.subject_id, e.township_id, e.household_id, e.person_id, e.grid_id,
                   e.created_at, a.username, p.name AS person_name
            FROM credit_event e JOIN account a ON a.id = e.recorded_by
            LEFT JOIN person p ON p.id = e.person_id
            WHERE {where} ORDER BY e.id LIMIT {{}} OFFSET {{}}""",
        *args, limit, offset,
    )
    county_id = actor.county_id or 0
    await scope.log_reads(actor, [
        scope.Location(kind=r["subject_kind"], id=r["subject_id"], county_id=county_id, township_id=r["township_id"],
                       grid_id=r["grid_id"], household_id=r["household_id"], person_id=r["person_id"])
        for r in rows
    ], fields=["credit_event"], purpose="review_queue", request_id=request_id)
    rendered = await events_out([r["id"] for r in rows])
    items = [PendingEventOut(**base.model_dump(), recorded_by=r["username"], subject_name=r["person_name"],
                             created_at=r["created_at"]) for base, r in zip(rendered, rows)]
    return Page[PendingEventOut](items=items, total=total, limit=limit, offset=offset)
