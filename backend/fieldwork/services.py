"""Party activities (党建活动): recorded once by a township admin or a grid worker for a branch in
their scope, one ledger event per attendee through the ledger's own batch path.

Who may record for which branch: a township admin for the branches of their township's villages,
a grid worker for the branches of the villages their grids lie in (``scope.covers_structure`` on
the branch's village). Each attendee's event is then the ledger's ordinary scoped write, so an
attendee outside the recorder's grids (or township) is refused alone, with the ledger's answer.
"""

from __future__ import annotations

from asyncpg.exceptions import UniqueViolationError

from backend import clock
from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.db import fetch
from backend.errors import Conflict, InvalidInput, NotFound
from backend.fieldwork.schemas import PartyActivityIn, PartyActivityOut, PartyActivityResult
from backend.ledger.catalogue import catalogues
from backend.ledger.schemas import EventIn
from backend.ledger.services import record_batch
from points_rules import RuleError
from points_rules.fieldwork import attendee_key, attendee_note, attendees_in_order

RECORDERS = (Role.TOWNSHIP_ADMIN, Role.GRID_WORKER)
READERS = (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN, Role.GRID_WORKER)
KEY_CONFLICT = Conflict("该幂等键已用于另一项不同的活动", "Idempotency key already used for a different activity",
                       code="FIELDWORK_IDEMPOTENCY_CONFLICT")
NOT_ACTIVITY_ITEM = InvalidInput("该事项不能作为党组织活动登记（须为针对个人的加分事项）",
                                 "This item cannot be recorded for an activity (a positive item for persons)",
                                 code="FIELDWORK_ITEM_NOT_ACTIVITY")
FUTURE = InvalidInput("活动日期不能晚于今天", "occurred_on may not be in the future", code="FIELDWORK_FUTURE_ACTIVITY")
PHOTO_UNKNOWN = InvalidInput("活动照片不存在、不是本人上传、已被使用或未通过检查",
                             "Activity photo unknown, not yours, already used, or rejected",
                             code="FIELDWORK_PHOTO_UNKNOWN")


async def _branch_where(actor: Actor, branch_id: int) -> scope.Location:
    """The branch's village, if it is in the actor's scope; otherwise 404, as for an unknown branch."""
    rows = await fetch("SELECT village FROM party_branch WHERE id = {}", branch_id)
    where = await scope.locate(scope.VILLAGE, rows[0]["village"]) if rows else None
    if where is None or actor.role not in READERS or not scope.covers_structure(actor, where):
        raise NotFound()
    return where


def _check_item(data: PartyActivityIn, county_id: int) -> None:
    try:
        item = catalogues(county_id).version_on(data.occurred_on).item(data.item_code)
    except RuleError:
        raise NOT_ACTIVITY_ITEM from None
    if "person" not in item.subject_kinds or item.direction != "positive":
        raise NOT_ACTIVITY_ITEM


async def _check_photo(actor: Actor, photo: int, key: str) -> None:
    """The recorder's own photo, unused — or already this key's activity photo (a concurrent post of it)."""
    rows = await fetch(
        """SELECT id FROM evidence WHERE id = {} AND uploaded_by = {} AND status <> 'rejected'
           AND (event IS NULL OR EXISTS (SELECT 1 FROM party_activity a WHERE a.photo = evidence.id
                                         AND a.recorded_by = {} AND a.idempotency_key = {}))""",
        photo, actor.id, actor.id, key,
    )
    if not rows:
        raise PHOTO_UNKNOWN


async def insert_once(sql: str, *args) -> None:
    """Insert a row whose key conflict is ``DO NOTHING``; a conflict on its photo index is not an
    error here: another key's row holds the photo — or a concurrent post of this very key is
    inserting it — and the caller's re-read of the key's row decides which."""
    try:
        await fetch(sql, *args)
    except UniqueViolationError:
        pass


async def _claim(actor: Actor, data: PartyActivityIn, township_id: int) -> dict:
    """The activity row for this key: inserted now, or the one an earlier (or concurrent) post made."""
    values = dict(branch=data.branch_id, kind=data.kind, item_code=data.item_code, level=data.level,
                  quantity=data.quantity, occurred_on=data.occurred_on, place=data.place,
                  description=data.description, photo=data.photo_evidence_id)
    existing = await _by_key(actor, data.idempotency_key)
    if existing is None:
        if data.photo_evidence_id is not None:
            await _check_photo(actor, data.photo_evidence_id, data.idempotency_key)
        await insert_once(
            """INSERT INTO party_activity (county_id, recorded_by, idempotency_key, branch, township_id, kind,
               item_code, level, quantity, occurred_on, place, description, photo, created_at)
               VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})
               ON CONFLICT (recorded_by, idempotency_key) DO NOTHING""",
            scope.county_of(actor), actor.id, data.idempotency_key, data.branch_id, township_id, data.kind, data.item_code, data.level,
            data.quantity, data.occurred_on, data.place, data.description, data.photo_evidence_id, clock.now(),
        )
        existing = await _by_key(actor, data.idempotency_key)
        if existing is None:
            raise PHOTO_UNKNOWN
    if any(existing[k] != v for k, v in values.items()):
        raise KEY_CONFLICT
    return existing


async def _by_key(actor: Actor, key: str) -> dict | None:
    rows = await fetch("SELECT * FROM party_activity WHERE recorded_by = {} AND idempotency_key = {}", actor.id, key)
    return rows[0] if rows else None


async def _event_ids(activity: dict) -> list[int]:
    rows = await fetch(
        "SELECT id FROM credit_event WHERE recorded_by = {} AND idempotency_key LIKE {} ORDER BY id",
        activity["recorded_by"], f"party-activity-{activity['id']}-person-%",
    )
    return [r["id"] for r in rows]


async def _out(activity: dict) -> PartyActivityOut:
    return PartyActivityOut(
        id=activity["id"], idempotency_key=activity["idempotency_key"], branch_id=activity["branch"],
        kind=activity["kind"], item_code=activity["item_code"], level=activity["level"],
        quantity=activity["quantity"], occurred_on=activity["occurred_on"], place=activity["place"],
        description=activity["description"], photo_evidence_id=activity["photo"],
        event_ids=await _event_ids(activity),
    )


async def record_activity(actor: Actor, data: PartyActivityIn) -> PartyActivityResult:
    """Record the activity once and one event per attendee (per-attendee results, as ``/events:batch``)."""
    where = await _branch_where(actor, data.branch_id)
    if actor.role not in RECORDERS:
        raise NotFound()
    if data.occurred_on > clock.today():
        raise FUTURE
    _check_item(data, where.county_id)
    activity = await _claim(actor, data, where.township_id)
    events = [
        EventIn(idempotency_key=attendee_key(activity["id"], person_id), item_code=activity["item_code"],
                subject_kind="person", subject_id=person_id, occurred_on=activity["occurred_on"],
                quantity=activity["quantity"], level=activity["level"],
                note=attendee_note(activity["kind"], activity["place"]),
                evidence_ids=[activity["photo"]] if activity["photo"] is not None else [])
        for person_id in attendees_in_order(data.attendee_person_ids)
    ]
    batch = await record_batch(actor, events)
    return PartyActivityResult(activity=await _out(activity), results=batch.results, created=batch.created,
                               replayed=batch.replayed, errors=batch.errors)


async def get_activity(actor: Actor, activity_id: int) -> PartyActivityOut:
    """The recorder sees their activity; admins whose scope covers the branch's village too."""
    rows = await fetch("SELECT * FROM party_activity WHERE id = {}", activity_id)
    if not rows:
        raise NotFound()
    activity = rows[0]
    if activity["recorded_by"] != actor.id:
        branch = await fetch("SELECT village FROM party_branch WHERE id = {}", activity["branch"])
        where = await scope.locate(scope.VILLAGE, branch[0]["village"])
        admin = actor.role in (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
        if not admin or where is None or not scope.covers(actor, where):
            raise NotFound()
    return await _out(activity)


async def shared_photos(actor: Actor, event_id: int, evidence_ids: list[int]) -> list[dict]:
    """The evidence's hook: of these photos (already attached to an event), those that are the photo of
    this recorder's activity whose attendee this event is — one photo serves the whole activity."""
    return await fetch(
        """SELECT e.id, e.reuse_of FROM evidence e
           JOIN party_activity a ON a.photo = e.id
           JOIN credit_event ce ON ce.id = {}
           WHERE e.id = ANY({}) AND a.recorded_by = {} AND e.uploaded_by = {} AND e.status <> 'rejected'
             AND ce.recorded_by = a.recorded_by
             AND ce.idempotency_key = 'party-activity-' || a.id || '-person-' || ce.subject_id""",
        event_id, evidence_ids, actor.id, actor.id,
    )
