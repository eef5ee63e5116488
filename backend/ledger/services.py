"""Recording credit events (idempotently), reviewing them, and appending their ledger entries.

Order of locks, always: the subject's advisory lock (serialises scoring of one subject, so
cumulative tiers and repeat-doubling see a consistent history), then the chain lock (inside
``chain.append``). Both are transaction-scoped.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone

from asyncpg.exceptions import UniqueViolationError
from piccolo.engine import engine_finder

from backend import jobs
from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.db import fetch, transaction_connection
from backend.errors import Conflict, CunxinError, InvalidInput, NotFound, PermissionDenied
from backend.ledger import chain
from backend.ledger.catalogue import catalogues, points_text
from backend.ledger.schemas import BatchItemResult, BatchOut, EntryOut, EventIn, EventOut
from backend.ledger.tables import COUNTED, PENDING_REVIEW, REJECTED, SKIPPED, CreditEvent
from backend.schemas import ErrorBody
from points_rules import Event, PriorEntry, RuleError, score_event

LOGGING_ROLES = (Role.GRID_WORKER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
REVIEW_ROLES = (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)


async def ledger_changed(subject_kind: str, subject_id: int) -> None:
    """After a commit that changed a subject's entries: queue the recompute of its standing.
    If Redis is down the nightly full recompute catches up (and reports the drift)."""
    await jobs.enqueue("recompute_standing", subject_kind, subject_id)


def payload_hash(event: EventIn) -> str:
    body = event.model_dump(mode="json", exclude={"idempotency_key"})
    if event.quantity is not None:  # "12", "12.0" and "12.00" are one quantity
        body["quantity"] = format(event.quantity.normalize(), "f")
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _rule_error(exc: RuleError) -> InvalidInput:
    return InvalidInput(exc.message_zh, exc.message_en, code=exc.code)


def _subject_lock_key(kind: str, subject_id: int) -> str:
    return f"subject:{kind}:{subject_id}"


async def _lock_subject(kind: str, subject_id: int) -> None:
    await transaction_connection().execute("SELECT pg_advisory_xact_lock(hashtext($1))",
                                           _subject_lock_key(kind, subject_id))


async def subject_history(kind: str, subject_id: int) -> list[PriorEntry]:
    rows = await fetch(
        """SELECT e.id, e.event, e.item_code, e.act_id, e.points, e.valid_from, e.valid_until, e.quantity,
                  e.grade_override, e.reverses_entry,
                  EXISTS (SELECT 1 FROM ledger_entry r WHERE r.reverses_entry = e.id) AS reversed
           FROM ledger_entry e WHERE e.subject_kind = {} AND e.subject_id = {} ORDER BY e.id""",
        kind, subject_id,
    )
    return [
        PriorEntry(entry_id=r["id"], event_id=r["event"] or 0, item_code=r["item_code"], act_id=r["act_id"],
                   points=r["points"], valid_from=r["valid_from"], valid_until=r["valid_until"],
                   quantity=r["quantity"], grade_override=r["grade_override"], reversed=r["reversed"],
                   is_reversal=r["reverses_entry"] is not None)
        for r in rows
    ]


def _engine_event(event_id: int, data: EventIn | dict, recorded_on: date) -> Event:
    get = data.get if isinstance(data, dict) else lambda k: getattr(data, k)
    return Event(event_id=event_id, item_code=get("item_code"), subject_kind=get("subject_kind"),
                 occurred_on=get("occurred_on"), recorded_on=recorded_on, quantity=get("quantity"),
                 level=get("level"), act_id=get("act_id"))


def _score(event_row: dict, history: list[PriorEntry]):
    try:
        return score_event(catalogues(), _engine_event(event_row["id"], event_row, event_row["recorded_on"]), history)
    except RuleError as exc:
        raise _rule_error(exc) from exc


async def _append_drafts(event_row: dict, drafts, actor_id: int) -> str:
    """Append an event's scored entries to the chain; returns the event's resulting status."""
    now = datetime.now(timezone.utc)
    rows = [
        {
            "event": event_row["id"],
            "subject_kind": event_row["subject_kind"],
            "subject_id": event_row["subject_id"],
            "person_id": event_row["person_id"],
            "household_id": event_row["household_id"],
            "item_code": d.item_code,
            "catalogue_version": d.catalogue_version,
            "points": d.points,
            "valid_from": d.valid_from,
            "valid_until": d.valid_until,
            "grade_override": d.grade_override,
            "quantity": d.quantity,
            "act_id": event_row["act_id"],
            "reverses_entry": d.reverses_entry_id,
            "reason": "同一行为按最高分项计分" if d.reverses_entry_id else "",
            "explanation_zh": d.explanation_zh,
            "explanation": d.explanation,
            "created_by": actor_id,
            "created_at": now,
        }
        for d in drafts
    ]
    await chain.append(rows)
    return COUNTED if rows else SKIPPED


def _require_logger(actor: Actor, item_code: str) -> None:
    if actor.role not in LOGGING_ROLES:
        raise PermissionDenied("该角色不能登记信用事件", "This role may not record credit events")
    try:
        item = catalogues().version_on(date.today()).item(item_code)
    except RuleError:
        return  # unknown today: scoring by the event date's version reports it precisely
    if actor.role.value not in item.logged_by:
        raise PermissionDenied(f"该角色不能登记「{item.name_zh}」", f"This role may not record {item_code}",
                               code="LEDGER_ITEM_NOT_ALLOWED")


async def events_out(event_ids: list[int]) -> list[EventOut]:
    """Events with their entries, in the order given (two queries however many)."""
    if not event_ids:
        return []
    events = {e["id"]: e for e in await fetch("SELECT * FROM credit_event WHERE id = ANY({})", event_ids)}
    entries: dict[int, list[EntryOut]] = {}
    for r in await fetch("SELECT * FROM ledger_entry WHERE event = ANY({}) ORDER BY id", event_ids):
        entries.setdefault(r["event"], []).append(entry_out(r))
    out = []
    for event_id in event_ids:
        e = events[event_id]
        evidence = e["evidence_ids"]
        if isinstance(evidence, str):
            evidence = json.loads(evidence)
        out.append(EventOut(
            id=e["id"], idempotency_key=e["idempotency_key"], status=e["status"], late=e["late"],
            item_code=e["item_code"], subject_kind=e["subject_kind"], subject_id=e["subject_id"],
            occurred_on=e["occurred_on"], recorded_on=e["recorded_on"], catalogue_version=e["catalogue_version"],
            review_reason=e["review_reason"], flag_reason=e["flag_reason"], evidence_ids=evidence,
            entries=entries.get(event_id, []),
        ))
    return out


async def _event_out(event_id: int) -> EventOut:
    found = await events_out([event_id])
    if not found:
        raise NotFound()
    return found[0]


def entry_out(r: dict) -> EntryOut:
    return EntryOut(id=r["id"], item_code=r["item_code"], catalogue_version=r["catalogue_version"],
                    points=points_text(r["points"]), valid_from=r["valid_from"], valid_until=r["valid_until"],
                    grade_override=r["grade_override"], reverses_entry=r["reverses_entry"],
                    explanation_zh=r["explanation_zh"])


async def record_event(actor: Actor, data: EventIn, *, today: date | None = None) -> tuple[EventOut, bool]:
    """Record one event exactly once per idempotency key; returns (event, created)."""
    event_id, created = await _record(actor, data, today or date.today())
    if created:
        await ledger_changed(data.subject_kind, data.subject_id)
    return await _event_out(event_id), created


async def _record(actor: Actor, data: EventIn, today: date) -> tuple[int, bool]:
    """The once-per-key write: (event id, whether this call created it)."""
    if data.occurred_on > today:
        raise InvalidInput("事件日期不能晚于今天", "occurred_on may not be in the future", code="LEDGER_FUTURE_EVENT")
    _require_logger(actor, data.item_code)
    digest = payload_hash(data)
    where = await scope.authorize_write(actor, data.subject_kind, data.subject_id)
    try:
        async with engine_finder().transaction():
            await _lock_subject(data.subject_kind, data.subject_id)
            existing = await fetch(
                "SELECT id, payload_hash FROM credit_event WHERE recorded_by = {} AND idempotency_key = {}",
                actor.id, data.idempotency_key,
            )
            if existing:
                return _check_replay(existing[0], digest), False
            return await _insert_event(actor, data, digest, where, today), True
    except UniqueViolationError:
        # A concurrent request with the same key (but another subject, so another lock) won.
        existing = await fetch("SELECT id, payload_hash FROM credit_event WHERE recorded_by = {} AND idempotency_key = {}",
                               actor.id, data.idempotency_key)
        return _check_replay(existing[0], digest), False


def _check_replay(existing: dict, digest: str) -> int:
    if existing["payload_hash"] != digest:
        raise Conflict("该幂等键已用于另一条不同的事件", "Idempotency key already used with a different payload",
                       code="LEDGER_IDEMPOTENCY_CONFLICT")
    return existing["id"]


async def _insert_event(actor: Actor, data: EventIn, digest: str, where: scope.Location, today: date) -> int:
    """Score the event once (this validates it against the catalogue), insert it, and append its
    entries now unless its item needs review first."""
    try:
        version = catalogues().version_on(data.occurred_on)
        item = version.item(data.item_code)
    except RuleError as exc:
        raise _rule_error(exc) from exc
    if item.evidence == "required" and not data.evidence_ids:
        raise InvalidInput("该事项必须附证据照片", "This item requires photo evidence", code="LEDGER_EVIDENCE_REQUIRED")
    event_id = (await fetch("SELECT nextval(pg_get_serial_sequence('credit_event', 'id')) AS id"))[0]["id"]
    event_row = {"id": event_id, **data.model_dump(), "recorded_on": today, "person_id": where.person_id,
                 "household_id": where.household_id}
    result = _score(event_row, await subject_history(data.subject_kind, data.subject_id))
    await CreditEvent.insert(CreditEvent(
        id=event_id, idempotency_key=data.idempotency_key, recorded_by=actor.id, payload_hash=digest,
        item_code=data.item_code, subject_kind=data.subject_kind, subject_id=data.subject_id,
        person_id=where.person_id, household_id=where.household_id, township_id=where.township_id,
        grid_id=where.grid_id, occurred_on=data.occurred_on, recorded_on=today, quantity=data.quantity,
        level=data.level, act_id=data.act_id, note=data.note, evidence_ids=data.evidence_ids,
        catalogue_version=version.version,
        status=PENDING_REVIEW if item.needs_review else COUNTED, late=result.late,
    ))
    if data.evidence_ids:
        from backend.evidence.services import link_evidence

        await link_evidence(actor, event_id, data.evidence_ids)
    if not item.needs_review:
        status = await _append_drafts(event_row, result.entries, actor.id)
        if status != COUNTED:
            await CreditEvent.update({CreditEvent.status: status}).where(CreditEvent.id == event_id)
    return event_id


async def record_batch(actor: Actor, events: list[EventIn], *, today: date | None = None) -> BatchOut:
    """A phone's offline backlog: each event on its own (one failing item never blocks the rest),
    one result per event, in order; recomputes are queued once per subject and the answers rendered
    in one go."""
    today = today or date.today()
    outcomes: list[tuple[EventIn, int | None, str, CunxinError | None]] = []
    for data in events:
        try:
            event_id, created = await _record(actor, data, today)
            outcomes.append((data, event_id, "created" if created else "replayed", None))
        except CunxinError as exc:
            outcomes.append((data, None, "error", exc))
    for kind, subject_id in dict.fromkeys((d.subject_kind, d.subject_id) for d, _, o, _ in outcomes if o == "created"):
        await ledger_changed(kind, subject_id)
    rendered = dict(zip((i for _, i, _, _ in outcomes if i is not None),
                        await events_out([i for _, i, _, _ in outcomes if i is not None])))
    results = [
        BatchItemResult(idempotency_key=data.idempotency_key, outcome=outcome,
                        event=rendered.get(event_id) if event_id is not None else None,
                        error=ErrorBody(**exc.to_body()) if exc is not None else None)
        for data, event_id, outcome, exc in outcomes
    ]
    counts = {k: sum(r.outcome == k for r in results) for k in ("created", "replayed", "error")}
    return BatchOut(results=results, created=counts["created"], replayed=counts["replayed"], errors=counts["error"])


async def get_event(actor: Actor, event_id: int) -> EventOut:
    """Recorders see their own events; admins those in their jurisdiction."""
    rows = await fetch("SELECT recorded_by, subject_kind, subject_id FROM credit_event WHERE id = {}", event_id)
    if not rows:
        raise NotFound()
    row = rows[0]
    if not (actor.kind == "account" and row["recorded_by"] == actor.id):
        if actor.role not in REVIEW_ROLES:
            raise NotFound()
        await scope.authorize_read(actor, row["subject_kind"], row["subject_id"], fields=["credit_event"],
                                   purpose="event_view")
    return await _event_out(event_id)


async def my_events(actor: Actor, *, status: str | None, limit: int, offset: int) -> list[EventOut]:
    clauses = ["recorded_by = {}"]
    args: list = [actor.id]
    if status:
        clauses.append("status = {}")
        args.append(status)
    rows = await fetch(f"SELECT id FROM credit_event WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT {{}} OFFSET {{}}",
                       *args, limit, offset)
    return await events_out([r["id"] for r in rows])


async def decide(actor: Actor, event_id: int, *, approve: bool, reason: str) -> EventOut:
    """A township admin's review decision on a pending event (reasons required for rejections)."""
    if actor.role not in REVIEW_ROLES:
        raise PermissionDenied()
    rows = await fetch("SELECT subject_kind, subject_id FROM credit_event WHERE id = {}", event_id)
    if not rows:
        raise NotFound()
    await scope.authorize_read(actor, rows[0]["subject_kind"], rows[0]["subject_id"], fields=["credit_event"],
                               purpose="event_review")
    async with engine_finder().transaction():
        await _lock_subject(rows[0]["subject_kind"], rows[0]["subject_id"])
        event_row = (await fetch("SELECT * FROM credit_event WHERE id = {} FOR UPDATE", event_id))[0]
        if event_row["status"] != PENDING_REVIEW:
            raise Conflict("该事件已审核", "This event has already been decided", code="LEDGER_ALREADY_DECIDED",
                           details={"status": event_row["status"]})
        if approve:
            result = _score(event_row, await subject_history(event_row["subject_kind"], event_row["subject_id"]))
            status = await _append_drafts(event_row, result.entries, actor.id)
        else:
            status = REJECTED
        await CreditEvent.update({
            CreditEvent.status: status, CreditEvent.review_reason: reason, CreditEvent.reviewed_by: actor.id,
            CreditEvent.reviewed_at: datetime.now(timezone.utc),
        }).where(CreditEvent.id == event_id)
    if approve:
        await ledger_changed(rows[0]["subject_kind"], rows[0]["subject_id"])
    return await _event_out(event_id)


async def reverse_entry(actor: Actor, entry_id: int, reason: str) -> EntryOut:
    """A correction: a new entry that cancels an old one (the old one stays, art. 35)."""
    if actor.role not in REVIEW_ROLES:
        raise PermissionDenied()
    rows = await fetch("SELECT * FROM ledger_entry WHERE id = {}", entry_id)
    if not rows:
        raise NotFound()
    original = rows[0]
    await scope.authorize_read(actor, original["subject_kind"], original["subject_id"], fields=["ledger"],
                               purpose="ledger_correction")
    if original["reverses_entry"] is not None:
        raise Conflict("冲正记录不能再被冲正", "A reversal cannot itself be reversed", code="LEDGER_REVERSAL_OF_REVERSAL")
    async with engine_finder().transaction():
        await _lock_subject(original["subject_kind"], original["subject_id"])
        if await fetch("SELECT 1 FROM ledger_entry WHERE reverses_entry = {}", entry_id):
            raise Conflict("该记录已被冲正", "This entry was already reversed", code="LEDGER_ALREADY_REVERSED")
        row = {k: original[k] for k in chain.COLUMNS if k not in ("id",)}
        row.update({
            "points": -original["points"],
            "quantity": None,  # the original is marked reversed; its hours leave the cumulative total with it
            "grade_override": None,
            "reverses_entry": entry_id,
            "reason": reason,
            "explanation_zh": f"冲正第 {entry_id} 号记录（{points_text(original['points'])} 分）：{reason}",
            "explanation": {"reverses": entry_id, "reason": reason},
            "created_by": actor.id,
            "created_at": datetime.now(timezone.utc),
        })
        done = await chain.append([row])
    await ledger_changed(original["subject_kind"], original["subject_id"])
    return entry_out(done[0])
