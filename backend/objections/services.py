"""异议 on ledger entries and credit events (art. 46): file, mark disputed at once, decide within
7 working days, warn and escalate, report on-time rates.

Who may do what:

- **file** — the subject: a villager for their own entries, the head of household for the
  household's entries and for a member's (the issue's "a subject (or their household head)"); a
  grid worker captures a signed paper objection for a subject in their grids, with their own photo
  of the form (and further evidence photos). Villagers cannot upload photos (the evidence slice
  refuses them, deliberately): evidence photos come with a paper objection. One open objection per
  disputed event (or per entry with no event), enforced by a unique index.
- **decide** — the recording township ("who recorded it decides": the event's ``township_id``)
  or a county admin of its county; everyone else gets 404. Upheld: the entry's event leaves the
  counted set through the ledger's own correction path (``ledger.services.reverse_entry``), so
  the correction is a reversing entry explained in Chinese and every later entry it changed is
  re-scored; refused: the written reasons are on the objection, which the subject reads.
- **see** — whoever ``scope.covers`` the objection's subject as recorded (the subject, their
  household, the recording township, the county), and the grid worker who captured it.

Disputed at once: the open row *is* the mark (``backend.objections.disputed``); live standing is
recomputed after filing and after the decision (the same job every ledger change queues).
A period closed while an entry is disputed rates without it, and its proposal's explanation says
how many entries were left out; a later decision does not reopen that period's proposal (the
township may return and re-propose it through the approval workflow while it is not yet
effective; otherwise the next period counts the decided state).
"""

from __future__ import annotations

import json
from datetime import date

from asyncpg.exceptions import UniqueViolationError
from piccolo.engine import engine_finder

from backend import clock
from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.consent.services import head_of as consent_head_of, speaks_for
from backend.db import fetch
from backend.errors import Conflict, CunxinError, InvalidInput, NotFound, PermissionDenied
from backend.evidence.uses import EVIDENCE_UNKNOWN, unusable
from backend.ledger.catalogue import points_text
from backend.ledger.services import ledger_changed, reverse_entry
from backend.notifications import outbox as notices
from backend.objections import tables as t
from backend.objections.schemas import DecisionIn, ObjectionFileIn, ObjectionOut, PaperObjectionIn
from backend.ratings.calendar import work_calendar
from backend.schemas import Page
from points_rules.objections import deadlines, due_state

LOGGED_FIELDS = ("ledger", "entry_objection")
PURPOSE = "entry_objection"
DUE_FILTERS = ("open", "due_soon", "overdue", "escalated")


# --- errors ------------------------------------------------------------------------------------------

ALREADY_OPEN = Conflict("该记录已有未处理的异议", "An objection on this entry is already open",
                        code="OBJECTION_ALREADY_OPEN")
NOT_COUNTING = Conflict("该记录当前不计分（未审核、已驳回、已更正或为冲正记录），无需提出异议",
                        "The entry does not count now (pending, rejected, corrected, or a reversal)",
                        code="OBJECTION_NOTHING_TO_DISPUTE")
NOT_SUBJECT = PermissionDenied("只有本人或户主可以对该记录提出异议",
                               "Only the subject or the head of household may object to this entry",
                               code="OBJECTION_NOT_SUBJECT")
DECIDED = Conflict("该异议已处理", "The objection has already been decided", code="OBJECTION_DECIDED")
SIGNED_ON_FUTURE = InvalidInput("签字日期不能晚于今天", "signed_on may not be in the future",
                                code="OBJECTION_SIGNED_ON_FUTURE")


# --- the bank pull's question ------------------------------------------------------------------------


async def household_has_disputed_entries(household_id: int) -> bool:
    """Whether an objection is open on an entry of the household or of any of its current members:
    the bank pull then answers "under objection", never the rating (art. 46, invariant 6)."""
    rows = await fetch(
        """SELECT EXISTS (
             SELECT 1 FROM entry_objection o
             WHERE o.status = 'open' AND (
               (o.subject_kind = 'household' AND o.subject_id = {})
               OR (o.subject_kind = 'person' AND o.subject_id IN (
                     SELECT m.person FROM household_membership m WHERE m.household = {} AND m.valid_to IS NULL)))
           ) AS disputed""", household_id, household_id)
    return bool(rows[0]["disputed"])


# --- the entry objected to ---------------------------------------------------------------------------


_ACTIVE = "e.reverses_entry IS NULL AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.reverses_entry = e.id)"


async def _target(entry_id: int | None, event_id: int | None) -> tuple[dict, dict | None]:
    """(entry, its event) — the entry named, or the entry the event has in force now; NotFound if
    neither exists. Whether it still counts is checked after the scope check."""
    if entry_id is not None:
        rows = await fetch("SELECT * FROM ledger_entry WHERE id = {}", entry_id)
        if not rows:
            raise NotFound()
        entry = rows[0]
        event_id = entry["event"]
    else:
        events = await fetch("SELECT id FROM credit_event WHERE id = {}", event_id)
        if not events:
            raise NotFound()
        rows = await fetch(f"SELECT * FROM ledger_entry e WHERE e.event = {{}} AND {_ACTIVE} ORDER BY e.id DESC "
                           "LIMIT 1", event_id)
        # An event with no entry in force: report on the event's subject (scope first), then refuse.
        entry = rows[0] if rows else None
    event = None
    if event_id is not None:
        event = (await fetch("SELECT * FROM credit_event WHERE id = {}", event_id))[0]
    if entry is None:
        entry = {"id": None, "event": event_id, "subject_kind": event["subject_kind"],
                 "subject_id": event["subject_id"], "reverses_entry": None}
    return entry, event


async def _counts_now(entry: dict) -> bool:
    if entry["id"] is None or entry["reverses_entry"] is not None:
        return False
    return not await fetch("SELECT 1 FROM ledger_entry WHERE reverses_entry = {}", entry["id"])


async def _head_of(household_id: int | None) -> int | None:
    """The head of household now (the consent slice's one query for it, not a copy)."""
    return None if household_id is None else await consent_head_of(household_id)


async def _objector(actor: Actor, where: scope.Location) -> int:
    """The person objecting in the app: the subject themself, or the head of their household."""
    person_id = await speaks_for(actor, where)
    if person_id is None:
        raise NOT_SUBJECT.fresh()
    return person_id


async def _recording_township(entry: dict, event: dict | None, where: scope.Location) -> tuple[int, int]:
    """(township, county) that decides: the event's township as recorded; for an entry with no
    event, the subject's township."""
    township_id = event["township_id"] if event is not None else where.township_id
    county = (await fetch("SELECT county FROM township WHERE id = {}", township_id))[0]["county"]
    return township_id, county


async def _photos_free(actor: Actor, ids: list[int]) -> None:
    """The filer's own photos, not rejected and not used for anything else (``evidence.uses``)."""
    taken = await unusable(actor.id, ids)
    if taken:
        raise EVIDENCE_UNKNOWN.fresh(evidence_ids=taken)


# --- filing ------------------------------------------------------------------------------------------


async def file_objection(actor: Actor, data: ObjectionFileIn, *, request_id: str = "") -> ObjectionOut:
    """A villager objects in the app (for themself, or as head of household)."""
    if actor.role is not Role.VILLAGER or actor.person_id is None:
        raise PermissionDenied()
    entry, event = await _target(data.entry_id, data.event_id)
    where = await scope.authorize_read(actor, entry["subject_kind"], entry["subject_id"], fields=LOGGED_FIELDS,
                                       purpose=PURPOSE, request_id=request_id)
    person_id = await _objector(actor, where)
    return await _file(actor, entry, event, where, reason=data.reason, channel=t.APP, person_id=person_id)


async def file_paper(actor: Actor, data: PaperObjectionIn) -> ObjectionOut:
    """A grid worker captures a signed paper objection for a subject in their grids."""
    if actor.role is not Role.GRID_WORKER:
        raise PermissionDenied()
    entry, event = await _target(data.entry_id, data.event_id)
    where = await scope.authorize_write(actor, entry["subject_kind"], entry["subject_id"])
    if data.signed_on > clock.today():
        raise SIGNED_ON_FUTURE.fresh()
    person_id = where.person_id if where.kind == scope.PERSON else await _head_of(where.household_id)
    photos = [data.form_evidence_id, *data.evidence_ids]
    if len(set(photos)) != len(photos):
        raise EVIDENCE_UNKNOWN.fresh(evidence_ids=photos)
    return await _file(actor, entry, event, where, reason=data.reason, channel=t.PAPER, person_id=person_id,
                       form_evidence_id=data.form_evidence_id, evidence_ids=list(data.evidence_ids),
                       signed_on=data.signed_on)


async def _file(actor: Actor, entry: dict, event: dict | None, where: scope.Location, *, reason: str, channel: str,
                person_id: int | None, form_evidence_id: int | None = None, evidence_ids: list[int] | None = None,
                signed_on: date | None = None) -> ObjectionOut:
    if not await _counts_now(entry):
        raise NOT_COUNTING.fresh()
    township_id, county_id = await _recording_township(entry, event, where)
    now = clock.now()
    today = clock.local_date(now)
    due = deadlines(await work_calendar(), today)
    try:
        async with engine_finder().transaction():
            await _photos_free(actor, [p for p in [form_evidence_id, *(evidence_ids or [])] if p is not None])
            if await _open_on(entry):
                raise ALREADY_OPEN.fresh()
            row = (await t.EntryObjection.insert(t.EntryObjection(
                county_id=county_id, township_id=township_id, subject_kind=entry["subject_kind"],
                subject_id=entry["subject_id"], person_id=where.person_id if where.kind == scope.PERSON else None,
                household_id=where.household_id, entry_id=entry["id"], event_id=entry["event"],
                filed_by=actor.id, filed_by_role=actor.role.value, filed_for_person_id=person_id, channel=channel,
                form_evidence_id=form_evidence_id, signed_on=signed_on, evidence_ids=evidence_ids or [],
                reason=reason, status=t.OPEN, filed_at=now, filed_on=today, mark_by=due.mark_by,
                disputed_marked_on=today, respond_by=due.respond_by, warn_on=due.warn_on,
            )).returning(t.EntryObjection.id))[0]
    except UniqueViolationError:  # a concurrent filing on the same entry (or the same form photo) won
        raise ALREADY_OPEN.fresh() from None
    await ledger_changed(entry["subject_kind"], entry["subject_id"])  # disputed at once: recompute without it
    return await _out(row["id"])


async def _open_on(entry: dict) -> bool:
    if entry["event"] is not None:
        return bool(await fetch("SELECT 1 FROM entry_objection WHERE status = 'open' AND event_id = {}",
                                entry["event"]))
    return bool(await fetch("SELECT 1 FROM entry_objection WHERE status = 'open' AND entry_id = {}", entry["id"]))


# --- seeing ------------------------------------------------------------------------------------------


def _visible(actor: Actor, row: dict) -> bool:
    if actor.role is Role.GRID_WORKER:
        return row["filed_by"] == actor.id  # the paper objections they captured
    if actor.role in (Role.VILLAGER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN):
        return scope.covers(actor, scope.case_location(row))
    return False


_SELECT = """
SELECT o.*, e.item_code, e.points AS entry_points, e.explanation_zh AS entry_explanation_zh,
       c.explanation_zh AS correction_explanation_zh
FROM entry_objection o JOIN ledger_entry e ON e.id = o.entry_id
LEFT JOIN ledger_entry c ON c.id = o.correction_entry_id
"""


def _objection_out(row: dict, today: date) -> ObjectionOut:
    evidence = row["evidence_ids"]
    if isinstance(evidence, str):
        evidence = json.loads(evidence)
    return ObjectionOut(
        id=row["id"], status=row["status"], entry_id=row["entry_id"], event_id=row["event_id"],
        subject_kind=row["subject_kind"], subject_id=row["subject_id"], township_id=row["township_id"],
        item_code=row["item_code"], entry_points=points_text(row["entry_points"]),
        entry_explanation_zh=row["entry_explanation_zh"], channel=row["channel"], reason=row["reason"],
        signed_on=row["signed_on"], evidence_ids=evidence, form_evidence_id=row["form_evidence_id"],
        filed_at=row["filed_at"], filed_on=row["filed_on"], mark_by=row["mark_by"],
        disputed_marked_on=row["disputed_marked_on"], marked_on_time=row["disputed_marked_on"] <= row["mark_by"],
        respond_by=row["respond_by"], warn_on=row["warn_on"],
        due=due_state(today, status=row["status"], warn_on=row["warn_on"], respond_by=row["respond_by"]),
        warned_at=row["warned_at"], escalated_at=row["escalated_at"], decided_at=row["decided_at"],
        decided_on=row["decided_on"],
        decided_on_time=None if row["decided_on"] is None else row["decided_on"] <= row["respond_by"],
        decision_reason=row["decision_reason"], correction_entry_id=row["correction_entry_id"],
        correction_explanation_zh=row["correction_explanation_zh"])


async def _out(objection_id: int) -> ObjectionOut:
    return _objection_out((await fetch(f"{_SELECT} WHERE o.id = {{}}", objection_id))[0], clock.today())


async def _visible_row(actor: Actor, objection_id: int) -> dict:
    rows = await fetch("SELECT * FROM entry_objection WHERE id = {}", objection_id)
    if not rows or not _visible(actor, rows[0]):
        raise NotFound()
    return rows[0]


async def get_objection(actor: Actor, objection_id: int, *, request_id: str = "") -> ObjectionOut:
    """One objection, if I may see it (404 otherwise, as for one that does not exist); the read is logged."""
    row = await _visible_row(actor, objection_id)
    await scope.log_reads(actor, [scope.case_location(row)],
                          fields=LOGGED_FIELDS, purpose=PURPOSE, request_id=request_id)
    return await _out(objection_id)


async def _candidates_sql(actor: Actor) -> tuple[str, list]:
    """A coarse pre-filter (``scope.case_prefilter_sql``); ``scope.covers`` decides on each row."""
    found = scope.case_prefilter_sql(actor, "o", grid_worker_sql="o.filed_by = {}", grid_worker_args=[actor.id])
    if found is None:
        raise PermissionDenied()
    return found


async def list_objections(actor: Actor, *, status: str | None, due: str | None, limit: int, offset: int,
                          request_id: str = "") -> Page[ObjectionOut]:
    """Objections I may see, the soonest due first. ``due``: ``due_soon`` (the township's warning
    queue: open, from two working days before the deadline), ``overdue``, ``escalated`` (the
    county's queue: sent up by the escalation cron), ``open``."""
    where, args = await _candidates_sql(actor)
    clauses = [where]
    if status is not None:
        clauses.append("o.status = {}")
        args = [*args, status]
    today = clock.today()
    if due == "escalated":
        clauses.append("o.status = 'open' AND o.escalated_at IS NOT NULL")
    elif due == "overdue":
        clauses.append("o.status = 'open' AND o.respond_by < {}")
        args = [*args, today]
    elif due == "due_soon":
        clauses.append("o.status = 'open' AND o.warn_on <= {} AND o.respond_by >= {}")
        args = [*args, today, today]
    elif due == "open":
        clauses.append("o.status = 'open'")
    rows = await fetch(f"{_SELECT} WHERE {' AND '.join(clauses)} ORDER BY o.status <> 'open', o.respond_by, o.id",
                       *args)
    rows = [r for r in rows if _visible(actor, r)]
    page = rows[offset:offset + limit]
    await scope.log_reads(actor, [scope.case_location(r) for r in page],
                          fields=LOGGED_FIELDS, purpose=PURPOSE, request_id=request_id)
    return Page[ObjectionOut](items=[_objection_out(r, today) for r in page], total=len(rows), limit=limit,
                              offset=offset)


async def photo_visible(actor: Actor, evidence_id: int, *, purpose: str = "evidence_view", request_id: str = "") -> bool:
    """Whether ``actor`` may see this photo because it belongs to an objection they may see (the
    paper form, or evidence filed with it) — the read is then logged. For the evidence slice's
    ``_authorize``, whose photos are otherwise only those of events: the township deciding an
    objection must see what was filed with it."""
    rows = await fetch("""SELECT * FROM entry_objection WHERE form_evidence_id = {} OR evidence_ids @> to_jsonb({}::bigint)""",
                       evidence_id, evidence_id)
    seen = [r for r in rows if _visible(actor, r)]
    if not seen:
        return False
    await scope.log_reads(actor, [scope.case_location(seen[0])],
                          fields=["evidence_photo", "entry_objection"], purpose=purpose,
                          request_id=request_id)
    return True


# --- deciding ----------------------------------------------------------------------------------------


def _deciders(actor: Actor, row: dict) -> bool:
    """The recording township's admins, and the county's (``scope.covers`` on the recording township)."""
    return actor.role in (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN) and scope.covers(actor, scope.case_location(row))


async def decide(actor: Actor, objection_id: int, data: DecisionIn, *, request_id: str = "") -> ObjectionOut:
    """Uphold (a correction through the ledger, explained in Chinese) or refuse (the entry counts
    again) — with written reasons either way."""
    if actor.role not in (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN):
        raise PermissionDenied()
    row = await _visible_row(actor, objection_id)
    if not _deciders(actor, row):
        raise NotFound()
    await scope.log_reads(actor, [scope.case_location(row)],
                          fields=LOGGED_FIELDS, purpose=PURPOSE, request_id=request_id)
    if row["status"] != t.OPEN:
        raise DECIDED.fresh()
    now = clock.now()
    async with engine_finder().transaction():
        locked = (await fetch("SELECT * FROM entry_objection WHERE id = {} FOR UPDATE", objection_id))[0]
        if locked["status"] != t.OPEN:  # decided meanwhile
            raise DECIDED.fresh()
        correction = None
        if data.decision == "uphold":
            correction = await _correct(actor, locked, data.reason)
        await t.EntryObjection.update({
            t.EntryObjection.status: t.UPHELD if data.decision == "uphold" else t.REFUSED,
            t.EntryObjection.decision_reason: data.reason, t.EntryObjection.decided_by: actor.id,
            t.EntryObjection.decided_at: now, t.EntryObjection.decided_on: clock.local_date(now),
            t.EntryObjection.correction_entry_id: correction,
        }).where(t.EntryObjection.id == objection_id)
        await notices.notify_entry_objection_decided(locked, upheld=data.decision == "uphold", reason=data.reason)
    await ledger_changed(row["subject_kind"], row["subject_id"])  # counts again (refused) or corrected (upheld)
    return await _out(objection_id)


async def _correct(actor: Actor, objection: dict, reason: str) -> int | None:
    """The entry in force now (the one named, or its event's current one — a re-scoring may have
    replaced it) is reversed through the ledger's correction path, inside the caller's transaction;
    ``None`` if nothing is in force any more (corrected meanwhile by other means)."""
    if objection["event_id"] is not None:
        rows = await fetch(f"SELECT e.id FROM ledger_entry e WHERE e.event = {{}} AND {_ACTIVE} ORDER BY e.id DESC "
                           "LIMIT 1", objection["event_id"])
    else:
        rows = await fetch(f"SELECT e.id FROM ledger_entry e WHERE e.id = {{}} AND {_ACTIVE}", objection["entry_id"])
    if not rows:
        return None
    reversal = await reverse_entry(actor, rows[0]["id"], f"异议成立（第{objection['id']}号异议）：{reason}")
    return reversal.id


# --- deadlines: the crons' work ----------------------------------------------------------------------


async def warn_due(today: date | None = None) -> list[int]:
    """Open objections whose warning day has come (two working days before the deadline) and that
    were not warned yet: stamped ``warned_at``, so the township's due-soon queue lists them.
    (There is no notification system yet: the stamp and ``GET …?due=due_soon`` are the warning.)
    Idempotent: each objection is warned once."""
    today = today or clock.today()
    rows = await fetch("""UPDATE entry_objection SET warned_at = {} WHERE status = 'open' AND warned_at IS NULL
                          AND warn_on <= {} RETURNING id""", clock.now(), today)
    return sorted(r["id"] for r in rows)


async def escalate_overdue(today: date | None = None) -> list[int]:
    """Open objections past their deadline: stamped ``escalated_at`` once, so the county admin's
    ``GET …?due=escalated`` queue lists them (the county may decide them itself)."""
    today = today or clock.today()
    rows = await fetch("""UPDATE entry_objection SET escalated_at = {} WHERE status = 'open' AND escalated_at IS NULL
                          AND respond_by < {} RETURNING id""", clock.now(), today)
    return sorted(r["id"] for r in rows)
