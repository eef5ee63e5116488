"""A feed record's credit event, written with the ledger's own functions.

Why not ``ledger.services.record_event``: the catalogue requires a photo for the items feeds
bring (JUDGMENT-DEFAULTER, WAGE-ARREARS, VOL-HOURS: ``evidence: required``), and a court list has
no photos — the signed source record (``feed_record``, kept for ever) is the evidence. Everything
else is the ledger's: the event is validated by scoring it alone (``ledger.services._validate``),
its idempotency key is the ledger's (recorder + key, unique in the database), it waits for the
township's review when its item says so, and otherwise it joins the subject's counted set through
``rescore_subject`` (compensating entries, hash chain) under the subject's advisory lock.
The one difference from ``ledger.services._insert_event`` is that no photo is linked or required;
the writing itself is the ledger's set-based path (``ledger.bulk``).
Folding this into the ledger as ``record_event(..., evidence_source="feed_record:<id>")`` would
make it one code path (asked of the integrator).
"""

from __future__ import annotations

from datetime import date

from backend.auth import scope
from backend.auth.roles import Actor
from backend.errors import InvalidInput
from backend.ledger import bulk
from backend.ledger import services as ledger
from backend.ledger.schemas import EventIn
from backend.ledger.tables import PENDING_REVIEW


def validate(data: EventIn, today: date) -> None:
    """What the ledger refuses before writing (a future date, an unknown item or level): a 422 now."""
    if data.occurred_on > today:
        raise InvalidInput("事件日期不能晚于今天", "occurred_on may not be in the future", code="LEDGER_FUTURE_EVENT")
    ledger._validate(data.model_dump(), today)


lock_subjects = bulk.lock_subjects


async def insert_events(actor: Actor, items: list[tuple[EventIn, scope.Location]], today: date) -> list[tuple[int, bool]]:
    """Insert the (validated) events inside the caller's transaction, holding their subjects' locks,
    set-based (``ledger.bulk.write_events``: one insert, each subject's history loaded once, the entries
    in one chain append). Returns (event id, counted now) per item."""
    rows = await bulk.write_events(actor, [bulk.NewEvent(data, where, ledger.payload_hash(data))
                                          for data, where in items], today)
    return [(r["id"], r["status"] != PENDING_REVIEW) for r in rows]


async def insert_event(actor: Actor, data: EventIn, where: scope.Location, today: date) -> tuple[int, bool]:
    """One event (see :func:`insert_events`)."""
    return (await insert_events(actor, [(data, where)], today))[0]
