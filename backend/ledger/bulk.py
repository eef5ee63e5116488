"""Set-based recording: a whole batch of events in a few statements (issue 14 item 1).

Used by the batch endpoint (``POST /api/v1/events:batch``), the feeds and the history import. Inside
the caller's transaction, with the subjects' locks held (:func:`lock_subjects`, one statement, keys in
one order):

1. the events are inserted in one multi-row statement;
2. per subject, the new counted events' entries are computed once for the batch, in the cheapest way
   that provably equals recording them live one by one in canonical order:
   a. the common case — every new event after all of the subject's counted ones, no act shared, no
      catalogue re-score pending in the county: each new event appends its own entry, scored
      (``points_rules.history.append_after``) against only the entries it can see (same item, in
      force from its date or begun in its year), read in one query per subject kind;
   b. otherwise one reconcile of the subject's whole history (``record_in_order``), which answers
      only if nothing already in force changes;
   c. otherwise the subject is re-scored event by event through ``ledger.services.rescore_subject``,
      exactly as live recording does;
3. ids are taken from the event sequence first, so every entry names its event's real id;
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
from backend.notifications import outbox as notices
from points_rules import Change, RuleError
from points_rules.engine import EntryDraft, Event, PriorEntry
from points_rules.history import append_after, canonical_key, record_in_order, sees_entries, year_total

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
    ("id", "int"), ("county_id", "int"), ("idempotency_key", "text"), ("recorded_by", "int"), ("payload_hash", "text"),
    ("item_code", "text"),
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
    by_id = {r["id"]: dict(r) for r in inserted}
    return [by_id[row["id"]] for row in rows]


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


async def counted_by_subject(county_id: int, subjects: list[tuple[str, int]]) -> dict[tuple[str, int], list[dict]]:
    """``ledger.services.counted_events`` for many subjects of one county, one query per subject kind."""
    from backend.ledger.services import COUNTED_STATUSES

    out: dict[tuple[str, int], list[dict]] = {}
    for kind in sorted({k for k, _ in subjects}):
        for r in await fetch("SELECT * FROM credit_event WHERE county_id = {} AND subject_kind = {} "
                             "AND subject_id = ANY({}) AND status = ANY({})", county_id, kind,
                             sorted({i for k, i in subjects if k == kind}), list(COUNTED_STATUSES)):
            out.setdefault((kind, r["subject_id"]), []).append(r)
    return out


async def active_by_subject(county_id: int, subjects: list[tuple[str, int]]) -> dict[tuple[str, int], list]:
    """``ledger.services.active_entries`` for many subjects of one county, one query per subject kind."""
    from points_rules import ActiveEntry

    out: dict[tuple[str, int], list] = defaultdict(list)
    for kind in sorted({k for k, _ in subjects}):
        rows = await fetch(
            """SELECT e.id, e.subject_id, e.event, e.item_code, e.catalogue_version, e.points, e.valid_from,
                      e.valid_until, e.grade_override, e.quantity
               FROM ledger_entry e
               WHERE e.county_id = {} AND e.subject_kind = {} AND e.subject_id = ANY({}) AND e.reverses_entry IS NULL
                 AND e.event IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.county_id = e.county_id AND r.reverses_entry = e.id)
               ORDER BY e.id""", county_id, kind, sorted({i for k, i in subjects if k == kind}))
        for r in rows:
            out[(kind, r["subject_id"])].append(ActiveEntry(
                entry_id=r["id"], event_id=r["event"], item_code=r["item_code"], catalogue_version=r["catalogue_version"],
                points=r["points"], valid_from=r["valid_from"], valid_until=r["valid_until"],
                grade_override=r["grade_override"], quantity=r["quantity"]))
    return out


async def reserve_event_ids(n: int) -> list[int]:
    """``n`` ids from ``credit_event``'s own sequence, taken before the rows are written, so that every
    event is scored under the id it is stored with (explanations name it)."""
    rows = await transaction_connection().fetch(
        "SELECT nextval(pg_get_serial_sequence('credit_event', 'id')) AS id FROM generate_series(1, $1) ORDER BY 1", n)
    return [r["id"] for r in rows]


async def counties_rescoring(county_ids: set[int]) -> set[int]:
    """Counties with a catalogue re-score not yet done: until it is, an entry in force may differ from
    what the catalogue now says, so new events there go the reconciling way (it repairs them too)."""
    from backend.catalogue.tables import RESCORE_FAILED, RESCORE_QUEUED, RESCORE_RUNNING

    rows = await fetch("SELECT DISTINCT county FROM county_catalogue_version WHERE county = ANY({}) "
                       "AND rescore_status = ANY({})", sorted(county_ids),
                       [RESCORE_QUEUED, RESCORE_RUNNING, RESCORE_FAILED])
    return {r["county"] for r in rows}


async def subjects_with_later(county_id: int, kind: str, firsts: dict[int, Event]) -> set[int]:
    """The subjects (of ``kind``, in the county) with a counted event at or after the canonical key of the given first
    new event: only events on or after its date are read, compared in Python (the canonical order's
    string comparison is Python's, not the database collation's)."""
    from backend.ledger.services import COUNTED_STATUSES, engine_event

    ids = sorted(firsts)
    rows = await fetch(
        """SELECT e.* FROM credit_event e JOIN unnest({}::int[], {}::date[]) AS f(subject_id, first_on)
                  ON e.subject_id = f.subject_id AND e.occurred_on >= f.first_on
           WHERE e.county_id = {} AND e.subject_kind = {} AND e.status = ANY({})""",
        ids, [firsts[i].occurred_on for i in ids], county_id, kind, list(COUNTED_STATUSES))
    return {r["subject_id"] for r in rows if canonical_key(engine_event(r)) >= canonical_key(firsts[r["subject_id"]])}


async def visible_entries(county_id: int, kind: str, firsts: dict[int, date], seen: list[str], summed: list[str]
                          ) -> dict[int, list[PriorEntry]]:
    """Per subject (of ``kind``, in the county): what ``points_rules.history.append_after`` needs of its
    history for new events dated on or after its first new date — of the items in ``seen``, the active entries such an
    event can see (``points_rules.history.visible_to``, the same test in SQL), in the canonical order of
    their events; of the items in ``summed`` (whose new events do not ``sees_entries``), one
    ``year_total`` per year from the first new date's on. Two queries at most, whatever the batch."""
    ids = sorted(firsts)
    pairs = [ids, [firsts[i] for i in ids]]
    conn = transaction_connection()
    out: dict[int, list[tuple]] = defaultdict(list)
    if seen:
        rows = await conn.fetch(
            """SELECT e.id AS entry_id, e.subject_id, e.item_code, e.points, e.valid_from, e.valid_until,
                      e.grade_override, e.quantity, ev.id, ev.occurred_on, ev.recorded_by, ev.idempotency_key, ev.act_id
               FROM ledger_entry e JOIN unnest($1::int[], $2::date[]) AS f(subject_id, first_on)
                    ON e.subject_id = f.subject_id
                    JOIN credit_event ev ON ev.id = e.event AND ev.county_id = e.county_id
               WHERE e.county_id = $5 AND e.subject_kind = $3 AND e.item_code = ANY($4::text[]) AND e.reverses_entry IS NULL
                 AND (e.valid_until > f.first_on OR e.valid_from >= make_date(extract(year FROM f.first_on)::int, 1, 1))
                 AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.county_id = e.county_id AND r.reverses_entry = e.id)""",
            *pairs, kind, sorted(set(seen)), county_id)
        for r in rows:   # the canonical key as services.engine_event makes it
            key = (r["occurred_on"], f"{r['recorded_by']}:{r['idempotency_key']}", r["id"])
            out[r["subject_id"]].append((key, PriorEntry(
                entry_id=r["entry_id"], event_id=r["id"], item_code=r["item_code"], act_id=r["act_id"],
                points=r["points"], valid_from=r["valid_from"], valid_until=r["valid_until"], quantity=r["quantity"],
                grade_override=r["grade_override"], reversed=False, is_reversal=False)))
    ordered = {subject: [entry for _, entry in sorted(keyed, key=lambda k: k[0])] for subject, keyed in out.items()}
    if summed:
        rows = await conn.fetch(
            """SELECT e.subject_id, e.item_code, extract(year FROM e.valid_from)::int AS year, sum(e.points)::int AS points
               FROM ledger_entry e JOIN unnest($1::int[], $2::date[]) AS f(subject_id, first_on)
                    ON e.subject_id = f.subject_id
               WHERE e.county_id = $5 AND e.subject_kind = $3 AND e.item_code = ANY($4::text[])
                 AND e.reverses_entry IS NULL AND e.event IS NOT NULL AND e.valid_from >= make_date(extract(year FROM f.first_on)::int, 1, 1)
                 AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.county_id = e.county_id AND r.reverses_entry = e.id)
               GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",
            *pairs, kind, sorted(set(summed)), county_id)
        for r in rows:
            ordered.setdefault(r["subject_id"], []).append(year_total(r["item_code"], r["year"], r["points"]))
    return ordered


async def _appended_at_once(items: list[NewEvent], rows: list[dict], counting: dict[tuple[str, int], list[int]]
                            ) -> dict[tuple[str, int], list]:
    """The subjects whose new events append only their own entries, with those entries (see the module
    docstring, step 2): first the fast form (``append_after``) where it applies, then one reconcile of
    the subject's whole history (``record_in_order``). A subject missing from the answer goes one by one."""
    from backend.ledger.services import engine_event

    new = {s: [engine_event(rows[p]) for p in positions] for s, positions in counting.items()}
    county = {s: items[positions[0]].where.county_id for s, positions in counting.items()}
    rescoring = await counties_rescoring(set(county.values()))
    plans: dict[tuple[str, int], list] = {}
    fast = [s for s in counting if county[s] not in rescoring and all(e.act_id is None for e in new[s])]
    for county_id, kind in sorted({(county[s], s[0]) for s in fast}):
        firsts = {i: min(new[(k, i)], key=canonical_key) for k, i in fast if k == kind and county[(k, i)] == county_id}
        later = await subjects_with_later(county_id, kind, firsts)
        firsts = {i: e for i, e in firsts.items() if i not in later}
        if not firsts:
            continue
        codes = {e.item_code for i in firsts for e in new[(kind, i)]}
        seen = {e.item_code for i in firsts for e in new[(kind, i)] if sees_entries(catalogues(county[(kind, i)]), e)}
        prior = await visible_entries(county_id, kind, {i: e.occurred_on for i, e in firsts.items()}, sorted(seen),
                                      sorted(codes - seen))
        for i in firsts:
            try:
                appends = append_after(catalogues(county[(kind, i)]), prior.get(i, []), new[(kind, i)])
            except RuleError as exc:
                raise InvalidInput(exc.message_zh, exc.message_en, code=exc.code) from exc
            if appends is not None:
                plans[(kind, i)] = appends
    rest = sorted(s for s in counting if s not in plans)
    if rest:
        old_by_subject: dict = {}
        active_by: dict = {}
        for county_id in sorted({county[s] for s in rest}):
            in_county = [s for s in rest if county[s] == county_id]
            old_by_subject.update(await counted_by_subject(county_id, in_county))
            active_by.update(await active_by_subject(county_id, in_county))
        for subject in rest:
            try:
                appends = record_in_order(catalogues(county[subject]),
                                          [engine_event(e) for e in old_by_subject.get(subject, [])],
                                          active_by.get(subject, []), new[subject])
            except RuleError as exc:
                raise InvalidInput(exc.message_zh, exc.message_en, code=exc.code) from exc
            if appends is not None:
                plans[subject] = appends
    return plans


async def write_events(actor: Actor, items: list[NewEvent], today: date, *, notify_since: date | None = None
                       ) -> list[dict]:
    """Insert the (validated, not yet recorded) events and append the entries of those that count now
    (see the module docstring). The caller holds the subjects' locks in its transaction. Returns the
    inserted rows (``ENGINE_COLUMNS``, the status as it ends up), in the order given.

    Subjects whose new events provably append only their own entries get them set-based; any other
    subject's events are inserted and re-scored one at a time in canonical order, exactly the live path.

    Each new event's notice (``backend.notifications``) is written set-based at the end, as live
    recording writes one; ``notify_since``: events that happened before it announce nothing (a
    history import is not news)."""
    from backend.ledger.services import engine_event, rescore_subject

    if not items:
        return []
    ids = await reserve_event_ids(len(items))
    event_rows = [{**event_row(actor, item, today), "id": event_id} for item, event_id in zip(items, ids)]
    counting: dict[tuple[str, int], list[int]] = defaultdict(list)  # subject → positions of its counted events
    for position, (item, row) in enumerate(zip(items, event_rows)):
        if row["status"] == COUNTED:
            counting[(item.data.subject_kind, item.data.subject_id)].append(position)
    plans = await _appended_at_once(items, event_rows, counting)
    one_by_one = {s for s in counting if s not in plans}
    at_once = [row for item, row in zip(items, event_rows)
               if (item.data.subject_kind, item.data.subject_id) not in one_by_one or row["status"] != COUNTED]
    rows_by_id = {r["id"]: r for r in await insert_events(at_once)}
    now = clock.now()
    entry_rows = [entry_row(subject[0], subject[1], rows_by_id[a.event_id], a.draft, actor.id, now)
                  for subject, appends in plans.items() for a in appends]
    await chain.append(entry_rows)
    for subject in sorted(one_by_one):  # each event as live recording writes it: insert, then re-score
        ordered = sorted(counting[subject], key=lambda p: canonical_key(engine_event(event_rows[p])))
        for position in ordered:
            item = items[position]
            row = (await insert_events([event_rows[position]]))[0]
            await rescore_subject(subject[0], subject[1],
                                  Change("recorded", row["id"], item.data.item_code, item.data.occurred_on), actor.id)
            rows_by_id[row["id"]] = row
    rows = [rows_by_id[row["id"]] for row in event_rows]
    if one_by_one:  # re-scoring may have changed statuses (an act's smaller item is skipped)
        current = {r["id"]: r["status"] for r in await fetch(
            "SELECT id, status FROM credit_event WHERE county_id = ANY({}) AND id = ANY({})",
            sorted({row["county_id"] for row in event_rows}), [r["id"] for r in rows])}
        rows = [{**r, "status": current[r["id"]]} for r in rows]
    await notices.notify_events_recorded([{**r, "county_id": row["county_id"]} for r, row in zip(rows, event_rows)],
                                         since=notify_since)
    return rows

