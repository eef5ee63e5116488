"""Set-based recording: a whole batch of events in a few statements (issue 14 item 1).

Used by the batch endpoint (``POST /api/v1/events:batch``), the feeds and the history import. Inside
the caller's transaction, with the subjects' locks held (:func:`lock_subjects`, one statement, keys in
one order):

1. the events are inserted in one multi-row statement;
2. each subject's counted events and active entries are loaded once for the batch (one query per
   subject kind, not per event);
3. per subject, the new counted events' entries come from one reconcile
   (``points_rules.history.record_in_order``) when that provably equals recording them live one by one
   in canonical order — every new event after all the subject's counted ones, nothing already in force
   changing; otherwise the subject is re-scored event by event through
   ``ledger.services.rescore_subject``, exactly as live recording does;
4. the set-based entries of the whole batch go to ``chain.append`` at once: one lock per county,
   hashes computed in one pass, one insert.

A batch is therefore recorded as if its events had arrived in canonical order (event date, then
recorder and idempotency key) — the order the ledger's scores never depend on anyway.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from backend import clock
from backend.auth import scope
from backend.auth.roles import Actor
from backend.db import fetch, transaction_connection
from backend.errors import InvalidInput
from backend.ledger import chain
from backend.ledger.catalogue import catalogues
from backend.ledger.schemas import EventIn
from backend.ledger.tables import COUNTED, PENDING_REVIEW, CreditEvent
from points_rules import Change, RuleError
from points_rules.engine import EntryDraft
from points_rules.history import canonical_key, record_in_order

ENGINE_COLUMNS = (CreditEvent.id, CreditEvent.idempotency_key, CreditEvent.recorded_by, CreditEvent.item_code,
                  CreditEvent.subject_kind, CreditEvent.subject_id, CreditEvent.occurred_on, CreditEvent.recorded_on,
                  CreditEvent.quantity, CreditEvent.level, CreditEvent.act_id, CreditEvent.person_id,
                  CreditEvent.household_id, CreditEvent.status)


@dataclass
class NewEvent:
    """One validated event to write: what was sent, where its subject sits, and how it is stored."""

    data: EventIn
    where: scope.Location
    digest: str
    evidence_ids: list[int] = field(default_factory=list)
    status: str | None = None           # None: PENDING_REVIEW if the item needs review, else COUNTED
    review_reason: str = ""
    late: bool | None = None            # None: by the catalogue's recording window (history: never late)


def subject_lock_key(kind: str, subject_id: int) -> str:
    return f"subject:{kind}:{subject_id}"


async def lock_subjects(subjects: list[tuple[str, int]]) -> None:
    """The ledger's subject locks for several subjects, taken in one statement in one order (sorted
    keys), so two batches never wait for each other crosswise."""
    keys = sorted({subject_lock_key(kind, subject_id) for kind, subject_id in subjects})
    if keys:
        await transaction_connection().execute(
            "SELECT pg_advisory_xact_lock($1, hashtext(k)) FROM (SELECT unnest($2::text[]) AS k ORDER BY 1) AS keys",
            chain.SUBJECT_LOCKS, keys)


# The columns a new event is inserted with, and their types for the one-statement insert (unnest).
EVENT_COLUMNS = (
    ("county_id", "int"), ("idempotency_key", "text"), ("recorded_by", "int"), ("payload_hash", "text"), ("item_code", "text"),
    ("subject_kind", "text"), ("subject_id", "int"), ("person_id", "int"), ("household_id", "int"),
    ("township_id", "int"), ("grid_id", "int"), ("occurred_on", "date"), ("recorded_on", "date"),
    ("quantity", "numeric"), ("level", "text"), ("act_id", "text"), ("note", "text"), ("evidence_ids", "jsonb"),
    ("catalogue_version", "text"), ("status", "text"), ("late", "bool"), ("review_reason", "text"),
)
RETURNED = ", ".join(c._meta.db_column_name for c in ENGINE_COLUMNS)


def event_row(actor: Actor, item: NewEvent, today: date) -> dict:
    """The ``credit_event`` row of a new event, as ``ledger.services._insert_event`` stores it."""
    data, where = item.data, item.where
    version = catalogues(where.county_id).version_on(data.occurred_on)
    status = item.status or (PENDING_REVIEW if version.item(data.item_code).needs_review else COUNTED)
    return {
        "county_id": where.county_id, "idempotency_key": data.idempotency_key, "recorded_by": actor.id, "payload_hash": item.digest,
        "item_code": data.item_code, "subject_kind": data.subject_kind, "subject_id": data.subject_id,
        "person_id": where.person_id, "household_id": where.household_id, "township_id": where.township_id,
        "grid_id": where.grid_id, "occurred_on": data.occurred_on, "recorded_on": today, "quantity": data.quantity,
        "level": data.level, "act_id": data.act_id, "note": data.note, "evidence_ids": json.dumps(item.evidence_ids),
        "catalogue_version": version.version, "status": status,
        "late": today > version.scoring.recording_window.deadline(data.occurred_on) if item.late is None else item.late,
        "review_reason": item.review_reason,
    }


async def insert_events(rows: list[dict]) -> list[dict]:
    """The events in one statement (arrays unnested), returned as ``ENGINE_COLUMNS`` in the order given."""
    if not rows:
        return []
    names = ", ".join(name for name, _ in EVENT_COLUMNS)
    arrays = ", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(EVENT_COLUMNS, 1))
    inserted = await transaction_connection().fetch(
        f"INSERT INTO credit_event ({names}) SELECT * FROM unnest({arrays}) RETURNING {RETURNED}",
        *[[row[name] for row in rows] for name, _ in EVENT_COLUMNS])
    by_key = {r["idempotency_key"]: dict(r) for r in inserted}
    return [by_key[row["idempotency_key"]] for row in rows]


def entry_row(kind: str, subject_id: int, event: dict, draft: EntryDraft, actor_id: int, now: datetime) -> dict:
    """One ``ledger_entry`` row for ``chain.append``: an event's own first entry, as
    ``ledger.services.rescore_subject`` makes it (reason empty)."""
    return {
        "event": event["id"], "subject_kind": kind, "subject_id": subject_id,
        "person_id": event["person_id"], "household_id": event["household_id"],
        "item_code": draft.item_code, "catalogue_version": draft.catalogue_version, "points": draft.points,
        "valid_from": draft.valid_from, "valid_until": draft.valid_until, "grade_override": draft.grade_override,
        "quantity": draft.quantity, "act_id": event["act_id"], "reverses_entry": draft.reverses_entry_id,
        "reason": "", "explanation_zh": draft.explanation_zh, "explanation": draft.explanation,
        "created_by": actor_id, "created_at": now,
    }


async def counted_by_subject(subjects: list[tuple[str, int]]) -> dict[tuple[str, int], list[dict]]:
    """``ledger.services.counted_events`` for many subjects, one query per subject kind."""
    from backend.ledger.services import COUNTED_STATUSES

    out: dict[tuple[str, int], list[dict]] = {}
    for kind in sorted({k for k, _ in subjects}):
        for r in await fetch("SELECT * FROM credit_event WHERE subject_kind = {} AND subject_id = ANY({}) "
                             "AND status = ANY({})", kind, sorted({i for k, i in subjects if k == kind}),
                             list(COUNTED_STATUSES)):
            out.setdefault((kind, r["subject_id"]), []).append(r)
    return out


async def active_by_subject(subjects: list[tuple[str, int]]) -> dict[tuple[str, int], list]:
    """``ledger.services.active_entries`` for many subjects, one query per subject kind."""
    from points_rules import ActiveEntry

    out: dict[tuple[str, int], list] = defaultdict(list)
    for kind in sorted({k for k, _ in subjects}):
        rows = await fetch(
            """SELECT e.id, e.subject_id, e.event, e.item_code, e.catalogue_version, e.points, e.valid_from,
                      e.valid_until, e.grade_override, e.quantity
               FROM ledger_entry e
               WHERE e.subject_kind = {} AND e.subject_id = ANY({}) AND e.reverses_entry IS NULL
                 AND e.event IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.reverses_entry = e.id)
               ORDER BY e.id""", kind, sorted({i for k, i in subjects if k == kind}))
        for r in rows:
            out[(kind, r["subject_id"])].append(ActiveEntry(
                entry_id=r["id"], event_id=r["event"], item_code=r["item_code"], catalogue_version=r["catalogue_version"],
                points=r["points"], valid_from=r["valid_from"], valid_until=r["valid_until"],
                grade_override=r["grade_override"], quantity=r["quantity"]))
    return out


def _draft_event(actor: Actor, item: NewEvent, today: date, placeholder_id: int):
    """The engine's view of an event not yet inserted (a negative placeholder id: ids only break ties
    that recorder and idempotency key never leave)."""
    from backend.ledger.services import engine_event

    d = item.data
    return engine_event({"id": placeholder_id, "item_code": d.item_code, "subject_kind": d.subject_kind,
                         "occurred_on": d.occurred_on, "recorded_on": today, "quantity": d.quantity, "level": d.level,
                         "act_id": d.act_id, "recorded_by": actor.id, "idempotency_key": d.idempotency_key})


async def write_events(actor: Actor, items: list[NewEvent], today: date) -> list[dict]:
    """Insert the (validated, not yet recorded) events and append the entries of those that count now
    (see the module docstring). The caller holds the subjects' locks in its transaction. Returns the
    inserted rows (``ENGINE_COLUMNS``, the status as it ends up), in the order given.

    Subjects whose new events provably append only their own entries get them set-based; any other
    subject's events are inserted and re-scored one at a time in canonical order, exactly the live path."""
    from backend.ledger.services import engine_event, rescore_subject

    if not items:
        return []
    rows_by_key: dict[str, dict] = {}
    event_rows = [event_row(actor, item, today) for item in items]
    counting: dict[tuple[str, int], list[int]] = defaultdict(list)  # subject → positions of its counted events
    for position, (item, row) in enumerate(zip(items, event_rows)):
        if row["status"] == COUNTED:
            counting[(item.data.subject_kind, item.data.subject_id)].append(position)
    subjects = sorted(counting)
    old_by_subject = await counted_by_subject(subjects) if subjects else {}
    active_by = await active_by_subject(subjects) if subjects else {}
    plans: dict[tuple[str, int], list] = {}
    for subject in subjects:
        positions = counting[subject]
        county_id = items[positions[0]].where.county_id
        drafts = {-(p + 1): p for p in positions}
        try:
            appends = record_in_order(catalogues(county_id), [engine_event(e) for e in old_by_subject.get(subject, [])],
                                      active_by.get(subject, []),
                                      [_draft_event(actor, items[p], today, pid) for pid, p in drafts.items()])
        except RuleError as exc:
            raise InvalidInput(exc.message_zh, exc.message_en, code=exc.code) from exc
        if appends is not None:
            plans[subject] = [(drafts[a.event_id], a.draft) for a in appends]
    one_by_one = {s for s in subjects if s not in plans}
    at_once = [row for item, row in zip(items, event_rows)
               if (item.data.subject_kind, item.data.subject_id) not in one_by_one or row["status"] != COUNTED]
    rows_by_key.update({r["idempotency_key"]: r for r in await insert_events(at_once)})
    now = clock.now()
    entry_rows = []
    for subject, planned in plans.items():
        for position, draft in planned:
            event = rows_by_key[items[position].data.idempotency_key]
            entry_rows.append(entry_row(subject[0], subject[1], event, draft, actor.id, now))
    await chain.append(entry_rows)
    for subject in sorted(one_by_one):  # each event as live recording writes it: insert, then re-score
        ordered = sorted(counting[subject], key=lambda p: canonical_key(_draft_event(actor, items[p], today, 0)))
        for position in ordered:
            item = items[position]
            row = (await insert_events([event_rows[position]]))[0]
            await rescore_subject(subject[0], subject[1],
                                  Change("recorded", row["id"], item.data.item_code, item.data.occurred_on), actor.id)
            rows_by_key[item.data.idempotency_key] = row
    rows = [rows_by_key[item.data.idempotency_key] for item in items]
    if one_by_one:  # re-scoring may have changed statuses (an act's smaller item is skipped)
        current = {r["id"]: r["status"] for r in await fetch("SELECT id, status FROM credit_event WHERE id = ANY({})",
                                                              [r["id"] for r in rows])}
        rows = [{**r, "status": current[r["id"]]} for r in rows]
    return rows
