"""Patrol reports (巡查): a grid worker files one for a grid of theirs (``scope.covers`` on the
grid); each finding is a ledger event through the ledger's batch path (the catalogue decides
review, evidence and lateness; a finding about someone outside the worker's grids is refused alone)."""

from __future__ import annotations

from backend import clock
from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.db import fetch
from backend.errors import Conflict, InvalidInput, NotFound
from backend.fieldwork.schemas import PatrolReportIn, PatrolReportOut, PatrolReportResult
from backend.fieldwork.services import insert_once
from backend.ledger.schemas import EventIn
from backend.ledger.services import record_batch
from points_rules.fieldwork import finding_key

KEY_CONFLICT = Conflict("该幂等键已用于另一份不同的巡查报告", "Idempotency key already used for a different patrol report",
                        code="FIELDWORK_PATROL_IDEMPOTENCY_CONFLICT")
FUTURE = InvalidInput("巡查日期不能晚于今天", "patrolled_on may not be in the future", code="FIELDWORK_FUTURE_PATROL")
PHOTO_UNKNOWN = InvalidInput("巡查照片不存在、不是本人上传、已被使用或未通过检查",
                             "Patrol photo unknown, not yours, already used, or rejected",
                             code="FIELDWORK_PATROL_PHOTO_UNKNOWN")


async def _by_key(actor: Actor, key: str) -> dict | None:
    rows = await fetch("SELECT * FROM patrol_report WHERE recorded_by = {} AND idempotency_key = {}", actor.id, key)
    return rows[0] if rows else None


async def _claim(actor: Actor, data: PatrolReportIn, township_id: int) -> dict:
    values = dict(grid_id=data.grid_id, patrolled_on=data.patrolled_on, route=data.route, notes=data.notes,
                  photo=data.photo_evidence_id)
    existing = await _by_key(actor, data.idempotency_key)
    if existing is None:
        if data.photo_evidence_id is not None and not await fetch(
                """SELECT id FROM evidence WHERE id = {} AND uploaded_by = {} AND status <> 'rejected'
                   AND event IS NULL""", data.photo_evidence_id, actor.id):
            raise PHOTO_UNKNOWN
        await insert_once(
            """INSERT INTO patrol_report (county_id, recorded_by, idempotency_key, grid_id, township_id,
               patrolled_on, route, notes, photo, created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {})
               ON CONFLICT (recorded_by, idempotency_key) DO NOTHING""",
            scope.county_of(actor), actor.id, data.idempotency_key, data.grid_id, township_id, data.patrolled_on, data.route, data.notes,
            data.photo_evidence_id, clock.now(),
        )
        existing = await _by_key(actor, data.idempotency_key)
        if existing is None:
            raise PHOTO_UNKNOWN
    if any(existing[k] != v for k, v in values.items()):
        raise KEY_CONFLICT
    return existing


async def _out(report: dict) -> PatrolReportOut:
    rows = await fetch("SELECT id FROM credit_event WHERE recorded_by = {} AND idempotency_key LIKE {} ORDER BY id",
                       report["recorded_by"], f"patrol-report-{report['id']}-finding-%")
    return PatrolReportOut(id=report["id"], idempotency_key=report["idempotency_key"], grid_id=report["grid_id"],
                           patrolled_on=report["patrolled_on"], route=report["route"], notes=report["notes"],
                           photo_evidence_id=report["photo"], event_ids=[r["id"] for r in rows])


async def file_report(actor: Actor, data: PatrolReportIn) -> PatrolReportResult:
    where = await scope.locate(scope.GRID, data.grid_id)
    if actor.role is not Role.GRID_WORKER or where is None or not scope.covers(actor, where):
        raise NotFound()
    if data.patrolled_on > clock.today():
        raise FUTURE
    report = await _claim(actor, data, where.township_id)
    events = [EventIn(idempotency_key=finding_key(report["id"], i), item_code=f.item_code,
                      subject_kind=f.subject_kind, subject_id=f.subject_id, occurred_on=report["patrolled_on"],
                      level=f.level, quantity=f.quantity, note=f.note or f"巡查发现（{report['route']}）"[:500],
                      evidence_ids=f.evidence_ids)
              for i, f in enumerate(data.findings)]
    batch = await record_batch(actor, events) if events else None
    return PatrolReportResult(report=await _out(report), results=batch.results if batch else [],
                              created=batch.created if batch else 0, replayed=batch.replayed if batch else 0,
                              errors=batch.errors if batch else 0)


async def get_report(actor: Actor, report_id: int) -> PatrolReportOut:
    """The worker who filed it; admins whose scope covers its grid; otherwise 404."""
    rows = await fetch("SELECT * FROM patrol_report WHERE id = {}", report_id)
    if not rows:
        raise NotFound()
    if rows[0]["recorded_by"] != actor.id:
        where = await scope.locate(scope.GRID, rows[0]["grid_id"])
        admin = actor.role in (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
        if not admin or where is None or not scope.covers(actor, where):
            raise NotFound()
    return await _out(rows[0])
