"""A feed record's credit event, written with the ledger's own functions.

Why not ``ledger.services.record_event``: the catalogue requires a photo for the items feeds
bring (JUDGMENT-DEFAULTER, WAGE-ARREARS, VOL-HOURS: ``evidence: required``), and a court list has
no photos — the signed source record (``feed_record``, kept for ever) is the evidence. Everything
else is the ledger's: the event is validated by scoring it alone (``ledger.services._validate``),
its idempotency key is the ledger's (recorder + key, unique in the database), it waits for the
township's review when its item says so, and otherwise it joins the subject's counted set through
``rescore_subject`` (compensating entries, hash chain) under the subject's advisory lock.
The one difference from ``ledger.services._insert_event`` is that no photo is linked or required.
Folding this into the ledger as ``record_event(..., evidence_source="feed_record:<id>")`` would
make it one code path (asked of the integrator).
"""

from __future__ import annotations

from datetime import date

from backend.auth import scope
from backend.db import transaction_connection
from backend.ledger import chain
from backend.auth.roles import Actor
from backend.ledger import services as ledger
from backend.ledger.catalogue import catalogues
from backend.ledger.schemas import EventIn
from backend.ledger.tables import COUNTED, PENDING_REVIEW, CreditEvent
from backend.errors import InvalidInput
from points_rules import Change


def validate(data: EventIn, today: date) -> None:
    """What the ledger refuses before writing (a future date, an unknown item or level): a 422 now."""
    if data.occurred_on > today:
        raise InvalidInput("事件日期不能晚于今天", "occurred_on may not be in the future", code="LEDGER_FUTURE_EVENT")
    ledger._validate(data.model_dump(), today)


async def lock_subjects(subjects: list[tuple[str, int]]) -> None:
    """The ledger's subject locks (``ledger.services._lock_subject``) for several subjects, taken in
    one statement in one order (sorted keys), so two chunks never wait for each other crosswise."""
    keys = sorted({ledger._subject_lock_key(kind, subject_id) for kind, subject_id in subjects})
    if keys:
        await transaction_connection().execute(
            "SELECT pg_advisory_xact_lock($1, hashtext(k)) FROM (SELECT unnest($2::text[]) AS k ORDER BY 1) AS keys",
            chain.SUBJECT_LOCKS, keys)


def _row(actor: Actor, data: EventIn, where: scope.Location, today: date) -> tuple[CreditEvent, bool]:
    version = catalogues(where.county_id).version_on(data.occurred_on)
    item = version.item(data.item_code)
    late = today > version.scoring.recording_window.deadline(data.occurred_on)
    return CreditEvent(
        idempotency_key=data.idempotency_key, recorded_by=actor.id, payload_hash=ledger.payload_hash(data),
        item_code=data.item_code, subject_kind=data.subject_kind, subject_id=data.subject_id,
        person_id=where.person_id, household_id=where.household_id, township_id=where.township_id,
        grid_id=where.grid_id, occurred_on=data.occurred_on, recorded_on=today, quantity=data.quantity,
        level=data.level, act_id=data.act_id, note=data.note, evidence_ids=[],
        catalogue_version=version.version, status=PENDING_REVIEW if item.needs_review else COUNTED, late=late,
    ), not item.needs_review


async def insert_events(actor: Actor, items: list[tuple[EventIn, scope.Location]], today: date) -> list[tuple[int, bool]]:
    """Insert the (validated) events in one statement inside the caller's transaction, holding
    their subjects' locks; then those that need no review join their subject's counted set, one
    by one in the order given. Returns (event id, counted now) per item."""
    if not items:
        return []
    rows = [_row(actor, data, where, today) for data, where in items]
    inserted = await CreditEvent.insert(*[r for r, _ in rows]).returning(CreditEvent.id, CreditEvent.idempotency_key)
    ids = {r["idempotency_key"]: r["id"] for r in inserted}
    out = []
    for (data, _), (_, counted) in zip(items, rows):
        event_id = ids[data.idempotency_key]
        if counted:
            await ledger.rescore_subject(data.subject_kind, data.subject_id,
                                         Change("recorded", event_id, data.item_code, data.occurred_on), actor.id)
        out.append((event_id, counted))
    return out


async def insert_event(actor: Actor, data: EventIn, where: scope.Location, today: date) -> tuple[int, bool]:
    """One event (see :func:`insert_events`)."""
    return (await insert_events(actor, [(data, where)], today))[0]
