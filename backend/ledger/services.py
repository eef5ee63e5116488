"""Recording credit events (idempotently), reviewing them, and appending their ledger entries.

A subject's entries are a function of the *set* of its counted events (``COUNTED_STATUSES``),
never of the order in which they arrived: every change to that set — an event recorded without
review, an approval, a reversal — re-scores the subject's whole history in one canonical order
(``points_rules.reconcile``) and appends only the difference: compensating pairs (a reversal of
the old entry plus the re-scored one, explained in Chinese) for the entries that changed.

Order of locks, always: the subject's advisory lock (serialises changes to one subject's set),
then the chain lock (inside ``chain.append``). Both are transaction-scoped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from asyncpg.exceptions import UniqueViolationError
from piccolo.engine import engine_finder
from pydantic import ValidationError

from backend import clock, jobs
from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.db import fetch, transaction_connection
from backend.errors import Conflict, CunxinError, InvalidInput, NotFound, PermissionDenied
from backend.ledger import bulk, chain
from backend.ledger.catalogue import catalogues, county_of, county_of_township, points_text
from backend.ledger.schemas import BatchItemResult, BatchOut, EntryOut, EventIn, EventOut
from backend.notifications import outbox as notices
from backend.ledger.tables import COUNTED, PENDING_REVIEW, REJECTED, REPAIRED, REVERSED, SKIPPED, CreditEvent
from backend.schemas import (CONTROL_CHARACTER_CODE, CONTROL_CHARACTER_EN, CONTROL_CHARACTER_ZH, ErrorBody,
                             has_nul)
from points_rules import ActiveEntry, Change, Event, RuleError, reconcile, score_event, score_history

# What a notice about an event needs of it (backend.notifications.outbox), its status as it ended up.
_NOTICE_EVENT_SQL = """SELECT e.id, e.county_id, e.item_code, e.subject_kind, e.subject_id, e.occurred_on, e.status
                       FROM credit_event e WHERE e.county_id = {} AND e.id = ANY({})"""

LOGGING_ROLES = (Role.GRID_WORKER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
REVIEW_ROLES = (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)


async def ledger_changed(subject_kind: str, subject_id: int) -> None:
    """After a commit that changed a subject's entries: queue the recompute of its standing.
    If Redis is down the nightly full recompute catches up (and reports the drift)."""
    await jobs.enqueue("recompute_standing", subject_kind, subject_id)


async def subjects_changed(subjects: list[tuple[str, int]]) -> None:
    """``ledger_changed`` for a batch's subjects: one job for all of them (a job per subject costs a
    Redis round trip each — most of a batch's time)."""
    unique = list(dict.fromkeys(subjects))
    if jobs.is_suppressed("recompute_standing"):  # bulk work that recomputes at its end
        return
    if len(unique) == 1:
        await ledger_changed(*unique[0])
    elif unique:
        await jobs.enqueue("recompute_standings", [list(s) for s in unique])


def payload_hash(event: EventIn) -> str:
    body = event.model_dump(mode="json", exclude={"idempotency_key"})
    if event.quantity is not None:  # "12", "12.0" and "12.00" are one quantity
        body["quantity"] = format(event.quantity.normalize(), "f")
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _rule_error(exc: RuleError) -> InvalidInput:
    return InvalidInput(exc.message_zh, exc.message_en, code=exc.code)


_subject_lock_key = bulk.subject_lock_key


async def _lock_subject(kind: str, subject_id: int) -> None:
    await transaction_connection().execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", chain.SUBJECT_LOCKS,
                                           _subject_lock_key(kind, subject_id))


COUNTED_STATUSES = (COUNTED, SKIPPED)
"""Events in the subject's counted set: approved (or not needing review), not rejected, not reversed."""


def engine_event(row: dict) -> Event:
    """A ``credit_event`` row as the engine sees it. The order key is made of what the recorder
    sent (who, and the phone's idempotency key), so it is the same whenever the event arrives."""
    return Event(event_id=row["id"], item_code=row["item_code"], subject_kind=row["subject_kind"],
                 occurred_on=row["occurred_on"], recorded_on=row["recorded_on"], quantity=row["quantity"],
                 level=row["level"], act_id=row["act_id"], order_key=f"{row['recorded_by']}:{row['idempotency_key']}")


async def counted_events(kind: str, subject_id: int) -> list[dict]:
    return await fetch(
        "SELECT * FROM credit_event WHERE subject_kind = {} AND subject_id = {} AND status = ANY({})",
        kind, subject_id, list(COUNTED_STATUSES))


async def active_entries(kind: str, subject_id: int) -> list[ActiveEntry]:
    """The subject's entries that count now: originals tied to an event that no reversal cancels."""
    rows = await fetch(
        """SELECT e.id, e.event, e.item_code, e.catalogue_version, e.points, e.valid_from, e.valid_until,
                  e.grade_override, e.quantity
           FROM ledger_entry e
           WHERE e.subject_kind = {} AND e.subject_id = {} AND e.reverses_entry IS NULL AND e.event IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.reverses_entry = e.id)
           ORDER BY e.id""",
        kind, subject_id,
    )
    return [ActiveEntry(entry_id=r["id"], event_id=r["event"], item_code=r["item_code"],
                        catalogue_version=r["catalogue_version"], points=r["points"], valid_from=r["valid_from"],
                        valid_until=r["valid_until"], grade_override=r["grade_override"], quantity=r["quantity"])
            for r in rows]


def _validate(data: dict, today: date, county_id: int | None = None) -> None:
    """Score the event alone (pure): a level, quantity or item the catalogue refuses is a 422 now,
    before anything is written (with the catalogue of the subject's county)."""
    try:
        score_event(catalogues(county_id), engine_event({**data, "id": 0, "recorded_on": today, "recorded_by": 0,
                                                "idempotency_key": ""}), [])
    except RuleError as exc:
        raise _rule_error(exc) from exc


async def rescore_subject(kind: str, subject_id: int, change: Change, actor_id: int) -> None:
    """Bring the subject's active entries to what its counted set scores to (caller holds the
    subject lock, inside its transaction): append the compensations, update event statuses.
    Scored with the catalogue of the subject's county."""
    events = await counted_events(kind, subject_id)
    cats = catalogues(await county_of(kind, subject_id))
    try:
        plan = reconcile(cats, [engine_event(e) for e in events], await active_entries(kind, subject_id), change)
    except RuleError as exc:
        raise _rule_error(exc) from exc
    by_id = {e["id"]: e for e in events}
    if plan.appends:
        missing = [a.event_id for a in plan.appends if a.event_id not in by_id]
        if missing:  # events that just left the set (reversed): their row still says where the subject was
            for r in await fetch("SELECT * FROM credit_event WHERE id = ANY({})", missing):
                by_id[r["id"]] = r
        now = clock.now()
        rows = []
        for a in plan.appends:
            e = by_id[a.event_id]
            d = a.draft
            rows.append({
                "event": a.event_id, "subject_kind": kind, "subject_id": subject_id,
                "person_id": e["person_id"], "household_id": e["household_id"],
                "item_code": d.item_code, "catalogue_version": d.catalogue_version, "points": d.points,
                "valid_from": d.valid_from, "valid_until": d.valid_until, "grade_override": d.grade_override,
                "quantity": d.quantity, "act_id": e["act_id"], "reverses_entry": d.reverses_entry_id,
                "reason": _reason(change, d.reverses_entry_id is not None, a.event_id),
                "explanation_zh": d.explanation_zh, "explanation": d.explanation,
                "created_by": actor_id, "created_at": now,
            })
        await chain.append(rows)
    for event_id, status in plan.status.items():
        if by_id[event_id]["status"] != status:
            await CreditEvent.update({CreditEvent.status: status}).where(CreditEvent.id == event_id)


def _reason(change: Change, is_reversal: bool, event_id: int) -> str:
    if change.kind in ("reversed", "repaired") and event_id == change.event_id and is_reversal:
        return change.reason_zh
    if event_id == change.event_id and not is_reversal:
        return ""
    return "重新计分"


async def preview_points(event_rows: list[dict]) -> dict[int, int | None]:
    """For pending events: the points each would get if approved now (tenths; None if it would
    score nothing), computed against its subject's counted set — nothing is written."""
    out: dict[int, int | None] = {}
    subjects: dict[tuple[str, int], list[dict]] = {}
    for row in event_rows:
        subjects.setdefault((row["subject_kind"], row["subject_id"]), []).append(row)
    for (kind, subject_id), rows in subjects.items():
        counted = [engine_event(e) for e in await counted_events(kind, subject_id)]
        cats = catalogues(await county_of(kind, subject_id))
        for row in rows:
            try:
                scored = score_history(cats, counted + [engine_event(row)])
            except RuleError:
                out[row["id"]] = None
                continue
            own = next(s for s in scored if s.event.event_id == row["id"])
            out[row["id"]] = own.draft.points if own.draft is not None else None
    return out


def _require_logger(actor: Actor, item_code: str) -> None:
    if actor.role not in LOGGING_ROLES:
        raise PermissionDenied("该角色不能登记信用事件", "This role may not record credit events")
    try:
        item = catalogues(actor.county_id).version_on(clock.today()).item(item_code)
    except RuleError:
        return  # unknown today: scoring by the event date's version reports it precisely
    if actor.role.value not in item.logged_by:
        raise PermissionDenied(f"该角色不能登记「{item.name_zh}」", f"This role may not record {item_code}",
                               code="LEDGER_ITEM_NOT_ALLOWED")


async def events_out(event_ids: list[int], county_id: int | None) -> list[EventOut]:
    """Events of one county with their entries, in the order given (two queries however many);
    ``county_id`` ``None`` only for a caller placed in no county."""
    if not event_ids:
        return []
    where, args = scope.in_county_sql(county_id)
    events = {e["id"]: e for e in await fetch("SELECT * FROM credit_event WHERE id = ANY({})" + where,
                                              event_ids, *args)}
    entries: dict[int, list[EntryOut]] = {}
    for r in await fetch("SELECT * FROM ledger_entry WHERE event = ANY({})" + where + " ORDER BY id",
                         event_ids, *args):
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


async def _event_out(event_id: int, county_id: int | None) -> EventOut:
    found = await events_out([event_id], county_id)
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
    event_id, created = await _record(actor, data, today or clock.today())
    if created:
        await ledger_changed(data.subject_kind, data.subject_id)
    return await _event_out(event_id, scope.shard_key(actor)), created


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
                "SELECT id, payload_hash FROM credit_event WHERE county_id = {} AND recorded_by = {} "
                "AND idempotency_key = {}", where.county_id, actor.id, data.idempotency_key,
            )
            if existing:
                return _check_replay(existing[0], digest), False
            return await _insert_event(actor, data, digest, where, today), True
    except UniqueViolationError:
        # A concurrent request with the same key (but another subject, so another lock) won.
        existing = await fetch("SELECT id, payload_hash FROM credit_event WHERE county_id = {} AND recorded_by = {} "
                               "AND idempotency_key = {}", where.county_id, actor.id, data.idempotency_key)
        return _check_replay(existing[0], digest), False


def _check_replay(existing: dict, digest: str) -> int:
    if existing["payload_hash"] != digest:
        raise Conflict("该幂等键已用于另一条不同的事件", "Idempotency key already used with a different payload",
                       code="LEDGER_IDEMPOTENCY_CONFLICT")
    return existing["id"]


async def _insert_event(actor: Actor, data: EventIn, digest: str, where: scope.Location, today: date) -> int:
    """Validate the event against the catalogue, insert it, and — unless its item needs review
    first — add it to the subject's counted set (re-scoring whatever it changes)."""
    _validate(data.model_dump(), today, where.county_id)
    version = catalogues(where.county_id).version_on(data.occurred_on)   # known to exist once the event validated
    item = version.item(data.item_code)
    if item.evidence == "required" and not data.evidence_ids:
        raise InvalidInput("该事项必须附证据照片", "This item requires photo evidence", code="LEDGER_EVIDENCE_REQUIRED")
    late = today > version.scoring.recording_window.deadline(data.occurred_on)
    row = (await CreditEvent.insert(CreditEvent(
        county_id=where.county_id, idempotency_key=data.idempotency_key, recorded_by=actor.id, payload_hash=digest,
        item_code=data.item_code, subject_kind=data.subject_kind, subject_id=data.subject_id,
        person_id=where.person_id, household_id=where.household_id, township_id=where.township_id,
        grid_id=where.grid_id, occurred_on=data.occurred_on, recorded_on=today, quantity=data.quantity,
        level=data.level, act_id=data.act_id, note=data.note, evidence_ids=data.evidence_ids,
        catalogue_version=version.version,
        status=PENDING_REVIEW if item.needs_review else COUNTED, late=late,
    )).returning(CreditEvent.id))[0]
    event_id = row["id"]
    if data.evidence_ids:
        from backend.evidence.services import link_evidence

        await link_evidence(actor, event_id, data.evidence_ids)
    if not item.needs_review:
        await rescore_subject(data.subject_kind, data.subject_id,
                              Change("recorded", event_id, data.item_code, data.occurred_on), actor.id)
    await notices.notify_events_recorded(await fetch(_NOTICE_EVENT_SQL, where.county_id, [event_id]))
    return event_id


def _batch_item(raw: Any) -> EventIn:
    """One batch item validated on its own: a malformed item (a NUL, a wrong type) becomes that
    item's error, with the same codes a single ``POST /events`` would give."""
    try:
        return EventIn.model_validate(raw)
    except ValidationError as exc:
        errors = [{"message": e["msg"], "key": ".".join(str(p) for p in e["loc"])}
                  for e in exc.errors(include_url=False, include_input=False)]
        if any(e["type"] == "input_control_character" for e in exc.errors()):
            raise InvalidInput(CONTROL_CHARACTER_ZH, CONTROL_CHARACTER_EN, code=CONTROL_CHARACTER_CODE,
                               details=errors) from None
        raise InvalidInput("事件数据不合法", "Event is invalid", code="REQUEST_INVALID", details=errors) from None


def _item_key(data: EventIn | Any) -> str:
    """The idempotency key a result is reported under (a malformed item's own, if it is usable)."""
    if isinstance(data, EventIn):
        return data.idempotency_key
    key = data.get("idempotency_key") if isinstance(data, dict) else None
    return key if isinstance(key, str) and not has_nul(key) and len(key) <= 64 else ""


async def record_batch(actor: Actor, events: list[EventIn], *, today: date | None = None) -> BatchOut:
    """A phone's offline backlog, or a neighbouring system's list: one result per event, in order;
    one failing item never blocks the rest. The batch is written set-based (``ledger.bulk``: one
    transaction, subjects locked in one statement, events in one insert, each subject's history loaded
    once, the entries in one chain append); if that transaction meets anything only the one-by-one path
    can answer item by item (a photo used meanwhile, a concurrent replay of a key), it is rolled back
    whole and every item goes one by one, as before. Recomputes are queued once per subject and the
    answers rendered in one go."""
    today = today or clock.today()
    slots: list[_Slot] = []
    for raw in events:
        try:
            slots.append(_Slot(raw, raw if isinstance(raw, EventIn) else _batch_item(raw)))
        except CunxinError as exc:
            slots.append(_Slot(raw, None, error=exc))
    try:
        await _record_at_once(actor, slots, today)
    except (CunxinError, UniqueViolationError, _OneByOne):
        for slot in slots:
            if slot.data is None:
                continue
            slot.error, slot.event_id, slot.outcome = None, None, "error"
            try:
                slot.event_id, created = await _record(actor, slot.data, today)
                slot.outcome = "created" if created else "replayed"
            except CunxinError as exc:
                slot.error = exc
    await subjects_changed([(s.data.subject_kind, s.data.subject_id) for s in slots if s.outcome == "created"])
    ids = [s.event_id for s in slots if s.event_id is not None]
    rendered = dict(zip(ids, await events_out(ids, scope.shard_key(actor))))
    results = [
        BatchItemResult(idempotency_key=_item_key(s.data if s.data is not None else s.raw), outcome=s.outcome,
                        event=rendered.get(s.event_id) if s.event_id is not None else None,
                        error=ErrorBody(**s.error.to_body()) if s.error is not None else None)
        for s in slots
    ]
    counts = {k: sum(r.outcome == k for r in results) for k in ("created", "replayed", "error")}
    return BatchOut(results=results, created=counts["created"], replayed=counts["replayed"], errors=counts["error"])


@dataclass
class _Slot:
    raw: Any
    data: EventIn | None
    error: CunxinError | None = None
    event_id: int | None = None
    outcome: str = "error"


class _OneByOne(Exception):
    """The set-based write cannot answer this batch item by item: roll back, go one by one."""


async def _record_at_once(actor: Actor, slots: list[_Slot], today: date) -> None:
    """The set-based path: every check a single ``POST /events`` makes, per item and before anything is
    written; then one transaction for all new events (``ledger.bulk.write_events``)."""
    live = [s for s in slots if s.data is not None]
    for s in live:
        try:
            if s.data.occurred_on > today:
                raise InvalidInput("事件日期不能晚于今天", "occurred_on may not be in the future", code="LEDGER_FUTURE_EVENT")
            _require_logger(actor, s.data.item_code)
        except CunxinError as exc:
            s.error = exc
    live = [s for s in live if s.error is None]
    places = await scope.authorize_writes(actor, [(s.data.subject_kind, s.data.subject_id) for s in live])
    for s in live:
        if places[(s.data.subject_kind, s.data.subject_id)] is None:
            s.error = NotFound()
    live = [s for s in live if s.error is None]
    digests = {id(s): payload_hash(s.data) for s in live}
    first: dict[str, _Slot] = {}
    new: list[tuple[_Slot, bulk.NewEvent]] = []
    known = await _known_keys(actor, [s.data.idempotency_key for s in live])
    for s in live:
        key = s.data.idempotency_key
        try:
            if key in known:
                s.event_id, s.outcome = _check_replay(known[key], digests[id(s)]), "replayed"
                continue
            if key in first:  # the same key twice in one batch: the later one replays the first (or conflicts)
                _check_replay({"id": None, "payload_hash": digests[id(first[key])]}, digests[id(s)])
                s.outcome = "replayed"
                continue
            where = places[(s.data.subject_kind, s.data.subject_id)]
            _validate(s.data.model_dump(), today, where.county_id)
            item = catalogues(where.county_id).version_on(s.data.occurred_on).item(s.data.item_code)
            if item.evidence == "required" and not s.data.evidence_ids:
                raise InvalidInput("该事项必须附证据照片", "This item requires photo evidence", code="LEDGER_EVIDENCE_REQUIRED")
        except CunxinError as exc:
            s.error = exc
            continue
        first[key] = s
        new.append((s, bulk.NewEvent(s.data, where, digests[id(s)], evidence_ids=list(s.data.evidence_ids))))
    if new:
        async with engine_finder().transaction():
            await bulk.lock_subjects([(e.data.subject_kind, e.data.subject_id) for _, e in new])
            if await _known_keys(actor, [e.data.idempotency_key for _, e in new]):
                raise _OneByOne()  # a concurrent request recorded one of them meanwhile
            rows = await bulk.write_events(actor, [e for _, e in new], today)
            for (s, e), row in zip(new, rows):
                s.event_id, s.outcome = row["id"], "created"
                if e.evidence_ids:
                    from backend.evidence.services import link_evidence

                    await link_evidence(actor, row["id"], e.evidence_ids)
    for s in live:  # in-batch replays point at the event their first occurrence created
        if s.outcome == "replayed" and s.event_id is None:
            s.event_id = first[s.data.idempotency_key].event_id


async def _known_keys(actor: Actor, keys: list[str]) -> dict[str, dict]:
    if not keys:
        return {}
    in_county, args = scope.in_county_sql(scope.shard_key(actor))
    rows = await fetch("SELECT id, idempotency_key, payload_hash FROM credit_event WHERE recorded_by = {} "
                       "AND idempotency_key = ANY({})" + in_county, actor.id, sorted(set(keys)), *args)
    return {r["idempotency_key"]: r for r in rows}


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
    return await _event_out(event_id, scope.shard_key(actor))


async def my_events(actor: Actor, *, status: str | None, limit: int, offset: int) -> list[EventOut]:
    clauses = ["recorded_by = {}"]
    args: list = [actor.id]
    if status:
        clauses.append("status = {}")
        args.append(status)
    rows = await fetch(f"SELECT id FROM credit_event WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT {{}} OFFSET {{}}",
                       *args, limit, offset)
    return await events_out([r["id"] for r in rows], scope.shard_key(actor))


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
        await CreditEvent.update({
            CreditEvent.status: COUNTED if approve else REJECTED, CreditEvent.review_reason: reason,
            CreditEvent.reviewed_by: actor.id, CreditEvent.reviewed_at: clock.now(),
        }).where(CreditEvent.id == event_id)
        if approve:  # joins the counted set; a rejected event never was in it, so nothing to re-score
            await rescore_subject(event_row["subject_kind"], event_row["subject_id"],
                                  Change("approved", event_id, event_row["item_code"], event_row["occurred_on"]),
                                  actor.id)
        await notices.notify_event_decided(event_row, approved=approve, reason=reason)
    if approve:
        await ledger_changed(rows[0]["subject_kind"], rows[0]["subject_id"])
    return await _event_out(event_id, scope.shard_key(actor))


async def reverse_entry(actor: Actor, entry_id: int, reason: str) -> EntryOut:
    """A correction (更正): the entry's event leaves the counted set — its entry is cancelled by a
    reversal carrying the reason, and every later entry it changed (repeats, tiers, caps, acts)
    is re-scored. The old entries stay (art. 35)."""
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
    kind, subject_id = original["subject_kind"], original["subject_id"]
    async with engine_finder().transaction():
        await _lock_subject(kind, subject_id)
        if await fetch("SELECT 1 FROM ledger_entry WHERE reverses_entry = {}", entry_id):
            raise Conflict("该记录已被冲正", "This entry was already reversed", code="LEDGER_ALREADY_REVERSED")
        if original["event"] is None:  # an entry with no event behind it: cancelled on its own
            done = await chain.append([_plain_reversal(original, reason, actor.id)])
            reversal = done[0]
        else:
            event = (await fetch("SELECT * FROM credit_event WHERE id = {} FOR UPDATE", original["event"]))[0]
            await CreditEvent.update({CreditEvent.status: REVERSED}).where(CreditEvent.id == event["id"])
            await rescore_subject(kind, subject_id,
                                  Change("reversed", event["id"], event["item_code"], event["occurred_on"], reason),
                                  actor.id)
            reversal = (await fetch("SELECT * FROM ledger_entry WHERE reverses_entry = {}", entry_id))[0]
    await ledger_changed(kind, subject_id)
    return entry_out(reversal)


def _plain_reversal(original: dict, reason: str, actor_id: int) -> dict:
    row = {k: original[k] for k in chain.COLUMNS if k != "id"}
    row.update({
        "points": -original["points"], "quantity": None, "grade_override": None, "reverses_entry": original["id"],
        "reason": reason,
        "explanation_zh": f"更正撤销{points_text(original['points'])}分的记录：{reason}",
        "explanation": {"rule": "correction", "reverses_entry_id": original["id"], "reason": reason},
        "created_by": actor_id, "created_at": clock.now(),
    })
    return row


async def repair_event(event_id: int, *, reason_zh: str, actor_id: int, replacement: EventIn | None = None) -> int | None:
    """信用修复 (art. 45), inside the caller's transaction: the event leaves the counted set as
    ``repaired`` — its entries are cancelled by reversals that say so, the event and its entries stay —
    and the catalogue's replacement event (if any) joins the set in the same re-scoring, recorded under
    ``actor_id`` with ``replacement.idempotency_key`` (a retried decision finds it and writes nothing
    twice). Returns the replacement event's id. The caller has authorised the decision."""
    event = (await fetch("SELECT * FROM credit_event WHERE id = {}", event_id))[0]
    kind, subject_id = event["subject_kind"], event["subject_id"]
    await _lock_subject(kind, subject_id)
    event = (await fetch("SELECT * FROM credit_event WHERE id = {} FOR UPDATE", event_id))[0]
    if event["status"] not in COUNTED_STATUSES:
        raise Conflict("该记录已不再计分，无需修复", "This event no longer counts", code="REPAIR_NOT_COUNTING",
                       details={"status": event["status"]})
    replacement_id = None
    if replacement is not None:
        replacement_id = await _replacement(event, replacement, actor_id)
    await CreditEvent.update({CreditEvent.status: REPAIRED}).where(CreditEvent.id == event_id)
    await rescore_subject(kind, subject_id,
                          Change("repaired", event_id, event["item_code"], event["occurred_on"], reason_zh), actor_id)
    return replacement_id


async def _replacement(original: dict, data: EventIn, actor_id: int) -> int:
    """The replacement event, counted at once (the repair decision is its review), where the
    original was recorded (its township decided)."""
    existing = await fetch("SELECT id, payload_hash FROM credit_event WHERE recorded_by = {} AND idempotency_key = {}",
                           actor_id, data.idempotency_key)
    digest = payload_hash(data)
    if existing:
        return _check_replay(existing[0], digest)
    today = clock.today()
    county_id = await county_of_township(original["township_id"])
    _validate(data.model_dump(), today, county_id)
    version = catalogues(county_id).version_on(data.occurred_on)
    row = (await CreditEvent.insert(CreditEvent(
        county_id=county_id, idempotency_key=data.idempotency_key, recorded_by=actor_id, payload_hash=digest,
        item_code=data.item_code,
        subject_kind=original["subject_kind"], subject_id=original["subject_id"], person_id=original["person_id"],
        household_id=original["household_id"], township_id=original["township_id"], grid_id=original["grid_id"],
        occurred_on=data.occurred_on, recorded_on=today, quantity=None, level=None, act_id=None, note=data.note,
        evidence_ids=data.evidence_ids, catalogue_version=version.version, status=COUNTED, late=False,
    )).returning(CreditEvent.id))[0]
    return row["id"]
