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


async def lock_subject(kind: str, subject_id: int) -> None:
    await ledger._lock_subject(kind, subject_id)


async def insert_event(actor: Actor, data: EventIn, where: scope.Location, today: date) -> tuple[int, bool]:
    """Insert the (validated) event inside the caller's transaction, holding the subject's lock;
    returns (event id, whether it joined the counted set now — then the standing must be recomputed)."""
    version = catalogues().version_on(data.occurred_on)
    item = version.item(data.item_code)
    late = today > version.scoring.recording_window.deadline(data.occurred_on)
    row = (await CreditEvent.insert(CreditEvent(
        idempotency_key=data.idempotency_key, recorded_by=actor.id, payload_hash=ledger.payload_hash(data),
        item_code=data.item_code, subject_kind=data.subject_kind, subject_id=data.subject_id,
        person_id=where.person_id, household_id=where.household_id, township_id=where.township_id,
        grid_id=where.grid_id, occurred_on=data.occurred_on, recorded_on=today, quantity=data.quantity,
        level=data.level, act_id=data.act_id, note=data.note, evidence_ids=[],
        catalogue_version=version.version, status=PENDING_REVIEW if item.needs_review else COUNTED, late=late,
    )).returning(CreditEvent.id))[0]
    event_id = row["id"]
    if not item.needs_review:
        await ledger.rescore_subject(data.subject_kind, data.subject_id,
                                     Change("recorded", event_id, data.item_code, data.occurred_on), actor.id)
    return event_id, not item.needs_review
