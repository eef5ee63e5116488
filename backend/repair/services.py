"""信用修复 (art. 45): ask what a repair needs, apply, supplement, decide — "谁认定、谁修复".

Who may do what:

- **ask** (``requirements``) — whoever may see the entry: every reason it cannot be repaired now and,
  per route the item allows, the documents needed and what replaces it — all at once (一次性告知).
- **apply** — the subject in the app (a villager for themself, or the head of household for the
  household and its members: ``consent.speaks_for``); a grid worker captures a signed paper
  application for a subject in their grids, with the photo of the form and the documents. A reason
  that no document can cure (not negative, not counting any more, expired, display period not over,
  a route the item does not allow) is a 422 naming *every* such reason; missing documents are not a
  refusal: the application is kept ``incomplete`` and names every missing document.
- **supplement** — the grid worker of the subject or the recording township adds documents (their
  own unused photos; villagers do not upload photos); the application that becomes complete is
  ``open`` and the decision deadline (the catalogue's working days, official calendar) counts from that day.
- **decide** — the recording township (the event's ``township_id``) or a county admin of its county;
  anyone else gets 404. Approved: through ``ledger.services.repair_event``, in one transaction, the
  event is marked repaired — its entries cancelled by reversals that say so, kept in the ledger — and
  the catalogue's replacement event (``repair.replaced_by``) is recorded under the decider with the
  key ``repair:{id}`` (a retried decision writes nothing twice); the serious-dishonesty restriction
  ends with the reversal (``measures``). Refused: written reasons the subject reads.
- **see** — whoever ``scope.covers`` the subject as recorded (the subject, the household, the
  recording township, the county), and the grid worker who filed or supplemented it; reads are logged.

A removal by the source list (the court's defaulter list) is a repair too, without an application:
:func:`repair_from_source`, which the feeds slice calls.
"""

from __future__ import annotations

import json
from datetime import date

from asyncpg.exceptions import UniqueViolationError
from piccolo.engine import engine_finder

from backend import clock
from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.commitments.services import usable_commitment
from backend.consent.services import head_of, speaks_for
from backend.db import fetch
from backend.errors import Conflict, CunxinError, InvalidInput, NotFound, PermissionDenied
from backend.evidence.uses import EVIDENCE_UNKNOWN, unusable
from backend.ledger import services as ledger
from backend.ledger.catalogue import catalogues, county_of_township, points_text
from backend.ledger.schemas import EventIn
from backend.notifications import outbox as notices
from backend.ratings.calendar import work_calendar
from backend.repair import tables as t
from backend.repair.schemas import (MissingDocument, PaperRepairIn, RefusalOut, RepairDecisionIn, RepairFileIn,
                                    RepairOut, ReplacementOut, RequirementsOut, RouteOut, SupplementIn)
from backend.schemas import Page
from backend.webhooks import outbox as webhook_outbox
from points_rules import RuleError
from points_rules import repair as rules
from points_rules import webhooks as webhook_rules
from points_rules.model import SOURCE_REMOVAL, FixedPoints, Item
from points_rules.objections import due_state

LOGGED_FIELDS = ("ledger", "repair_application")
PURPOSE = "credit_repair"
ROUTE_NAMES_ZH = {"commitment": "信用承诺", "rectification": "信用整改", "training": "专题培训",
                  "public_interest": "公益活动", SOURCE_REMOVAL: "来源名单移出"}

# --- errors ------------------------------------------------------------------------------------------

NOT_ACCEPTED = InvalidInput("该记录现在不能申请信用修复", "This entry cannot be repaired now", code="REPAIR_NOT_ACCEPTED")
NOT_SUBJECT = PermissionDenied("只有本人或户主可以申请信用修复", "Only the subject or the head of household may apply",
                               code="REPAIR_NOT_SUBJECT")
ALREADY_PENDING = Conflict("该记录已有未办结的信用修复申请", "A repair application for this entry is already pending",
                           code="REPAIR_ALREADY_PENDING")
DECIDED = Conflict("该信用修复申请已办结", "The application has already been decided or withdrawn",
                   code="REPAIR_DECIDED")
ALREADY_COMPLETE = Conflict("申请材料已齐全，无需补正", "The application is complete already",
                            code="REPAIR_ALREADY_COMPLETE")
INCOMPLETE = Conflict("申请材料不齐，补齐后方可作出决定", "Documents are missing: supplement them before deciding",
                      code="REPAIR_INCOMPLETE")
COMMITMENT_UNUSABLE = InvalidInput("信用承诺不存在、不是本人（本户）为信用修复签署的，或已被认定违背",
                                   "The commitment is unknown, not the subject's repair commitment, or broken",
                                   code="REPAIR_COMMITMENT_UNUSABLE")
CORRECTED_ON_INVALID = InvalidInput("纠正日期不能早于失信行为发生日，也不能晚于今天",
                                    "corrected_on must lie between the event's date and today",
                                    code="REPAIR_CORRECTED_ON_INVALID")
SIGNED_ON_FUTURE = InvalidInput("签字日期不能晚于今天", "signed_on may not be in the future", code="REPAIR_SIGNED_ON_FUTURE")

REFUSAL_TEXTS = {
    "repair_not_negative": ("只有扣分（负面）记录才需要信用修复", "Only negative entries are repaired"),
    "repair_already_ended": ("该记录已不再计分（已更正、已修复或为冲正记录）",
                             "The entry no longer counts (corrected, repaired, or a reversal)"),
    "repair_entry_expired": ("该记录有效期已满，不再计分，无需修复", "The entry's validity is over; it counts no more"),
    "repair_display_not_over": ("公示期未满，期满后方可申请信用修复", "The public display period is not over yet"),
    "repair_route_unknown": ("修复方式无效", "Unknown repair route"),
    "repair_route_not_allowed": ("该事项不能通过此方式修复", "The item cannot be repaired by this route"),
    "repair_no_event": ("该记录没有对应的信用事件，不能修复", "The entry has no credit event behind it"),
}


def _refusal_out(refusal: rules.Refusal) -> RefusalOut:
    zh, en = REFUSAL_TEXTS[refusal.code]
    return RefusalOut(code=refusal.code.upper(), field=refusal.field, message_zh=zh, message_en=en)


def _missing_out(names: list[str]) -> list[MissingDocument]:
    return [MissingDocument(name=n, name_zh=rules.DOCUMENT_NAMES_ZH[n]) for n in names]


# --- the entry applied for ---------------------------------------------------------------------------


async def _entry(entry_id: int) -> tuple[dict, dict | None]:
    rows = await fetch("SELECT * FROM ledger_entry WHERE id = {}", entry_id)
    if not rows:
        raise NotFound()
    entry = rows[0]
    event = None
    if entry["event"] is not None:
        event = (await fetch("SELECT * FROM credit_event WHERE id = {}", entry["event"]))[0]
        entry["county_id"] = await county_of_township(event["township_id"])  # whose catalogue scored it
    return entry, event


def _item(entry: dict) -> Item:
    return catalogues(entry.get("county_id")).version(entry["catalogue_version"]).item(entry["item_code"])


def _repair_rules(entry: dict):
    return catalogues(entry.get("county_id")).version(entry["catalogue_version"]).scoring.repair


async def _entry_refusals(entry: dict, event: dict | None, today: date) -> list[rules.Refusal]:
    """Why this entry cannot be repaired today, whatever the route."""
    if event is None:
        return [rules.Refusal("repair_no_event")]
    reversed_ = entry["reverses_entry"] is not None or bool(
        await fetch("SELECT 1 FROM ledger_entry WHERE reverses_entry = {}", entry["id"]))
    ended = reversed_ or event["status"] not in ledger.COUNTED_STATUSES
    return rules.entry_refusals(item=_item(entry), rules=_repair_rules(entry), occurred_on=event["occurred_on"],
                                today=today, ended=ended, expired=entry["valid_until"] <= today)


async def requirements(actor: Actor, entry_id: int, *, request_id: str = "") -> RequirementsOut:
    """What repairing this entry needs, all at once: the reasons it cannot be asked now, and per route
    the documents and the replacement."""
    entry, event = await _entry(entry_id)
    await scope.authorize_read(actor, entry["subject_kind"], entry["subject_id"], fields=LOGGED_FIELDS,
                               purpose=PURPOSE, request_id=request_id)
    item = _item(entry)
    repair_rules = _repair_rules(entry)
    refused = await _entry_refusals(entry, event, clock.today())
    negative = item.direction == "negative"
    routes = [RouteOut(route=route, name_zh=ROUTE_NAMES_ZH[route],
                       documents=_missing_out(list(rules.ROUTE_DOCUMENTS[route])),
                       replaced_by=_replacement_out(entry, item, route))
              for route in (rules.applicant_routes(item) if negative else ())]
    display = rules.display_ends_on(repair_rules, item, event["occurred_on"]) if event is not None and negative else None
    return RequirementsOut(entry_id=entry["id"], event_id=entry["event"], item_code=item.code, item_name_zh=item.name_zh,
                           severity=rules.severity(item) if negative else "none", display_ends_on=display,
                           decision_working_days=repair_rules.decision_working_days,
                           can_apply=not refused and bool(routes), refusals=[_refusal_out(r) for r in refused],
                           routes=routes)


def _replacement_out(entry: dict, item: Item, route: str) -> ReplacementOut | None:
    code = rules.replacement_code(item, route)
    if code is None:
        return None
    target = catalogues(entry.get("county_id")).version(entry["catalogue_version"]).item(code)
    points = target.points.points if isinstance(target.points, FixedPoints) else 0
    return ReplacementOut(item_code=code, name_zh=target.name_zh, points=points_text(points),
                          validity_years=target.validity_years)


# --- applying ----------------------------------------------------------------------------------------


async def file_repair(actor: Actor, data: RepairFileIn, *, request_id: str = "") -> RepairOut:
    """A villager applies in the app (for themself, or as head of household)."""
    if actor.role is not Role.VILLAGER or actor.person_id is None:
        raise PermissionDenied()
    entry, event = await _entry(data.entry_id)
    where = await scope.authorize_read(actor, entry["subject_kind"], entry["subject_id"], fields=LOGGED_FIELDS,
                                       purpose=PURPOSE, request_id=request_id)
    person_id = await speaks_for(actor, where)
    if person_id is None:
        raise NOT_SUBJECT.fresh()
    return await _file(actor, entry, event, where, data, channel=t.APP, person_id=person_id, photos={})


async def file_paper(actor: Actor, data: PaperRepairIn) -> RepairOut:
    """A grid worker captures a signed paper application for a subject in their grids."""
    if actor.role is not Role.GRID_WORKER:
        raise PermissionDenied()
    entry, event = await _entry(data.entry_id)
    where = await scope.authorize_write(actor, entry["subject_kind"], entry["subject_id"])
    if data.signed_on > clock.today():
        raise SIGNED_ON_FUTURE.fresh()
    person_id = where.person_id if where.kind == scope.PERSON else await head_of(where.household_id) \
        if where.household_id is not None else None
    photos = data.documents.given()
    every = [data.form_evidence_id, *data.documents.photo_ids()]
    if len(set(every)) != len(every):
        raise EVIDENCE_UNKNOWN.fresh(evidence_ids=sorted(every))
    return await _file(actor, entry, event, where, data, channel=t.PAPER, person_id=person_id, photos=photos,
                       form_evidence_id=data.form_evidence_id, signed_on=data.signed_on)


async def _commitment(data_commitment_id: int | None, entry: dict) -> int | None:
    if data_commitment_id is None:
        return None
    found = await usable_commitment(data_commitment_id, subject_kind=entry["subject_kind"],
                                    subject_id=entry["subject_id"])  # purpose: repair (the default)
    if found is None:
        raise COMMITMENT_UNUSABLE.fresh(commitment_id=data_commitment_id)
    return data_commitment_id


def _documents(photos: dict[str, list[int]], commitment_id: int | None) -> dict:
    out: dict = {name: sorted(set(ids)) for name, ids in photos.items() if ids}
    if commitment_id is not None:
        out["commitment_id"] = commitment_id
    return out


def _photo_ids(documents: dict) -> list[int]:
    return sorted({i for name, ids in documents.items() if name != "commitment_id" for i in ids})


async def _file(actor: Actor, entry: dict, event: dict | None, where: scope.Location, data: RepairFileIn | PaperRepairIn,
                *, channel: str, person_id: int | None, photos: dict[str, list[int]],
                form_evidence_id: int | None = None, signed_on: date | None = None) -> RepairOut:
    now = clock.now()
    today = clock.local_date(now)
    commitment_id = await _commitment(data.commitment_id, entry)
    documents = _documents(photos, commitment_id)
    item = _item(entry)
    refused = await _entry_refusals(entry, event, today)
    route_problems = rules.route_refusals(item, data.route, documents)
    hard = refused + [r for r in route_problems if r.code != "repair_document_missing"]
    if hard:
        raise NOT_ACCEPTED.fresh(refusals=[_refusal_out(r).model_dump() for r in hard])
    if not event["occurred_on"] <= data.corrected_on <= today:
        raise CORRECTED_ON_INVALID.fresh(occurred_on=event["occurred_on"].isoformat())
    missing = [r.field for r in route_problems]
    repair_rules = _repair_rules(entry)
    calendar = await work_calendar()
    complete = not missing
    county = (await fetch("SELECT county FROM township WHERE id = {}", event["township_id"]))[0]["county"]
    try:
        async with engine_finder().transaction():
            taken = await unusable(actor.id, [*([form_evidence_id] if form_evidence_id else []), *_photo_ids(documents)])
            if taken:
                raise EVIDENCE_UNKNOWN.fresh(evidence_ids=taken)
            row = (await t.RepairApplication.insert(t.RepairApplication(
                county_id=county, township_id=event["township_id"], subject_kind=entry["subject_kind"],
                subject_id=entry["subject_id"], person_id=where.person_id if where.kind == scope.PERSON else None,
                household_id=where.household_id, entry_id=entry["id"], event_id=event["id"], item_code=item.code,
                severity=rules.severity(item), display_ends_on=rules.display_ends_on(repair_rules, item,
                                                                                      event["occurred_on"]),
                route=data.route, documents=documents, photo_ids=_photo_ids(documents), commitment_id=commitment_id,
                missing=[m.model_dump() for m in _missing_out(missing)], corrected_on=data.corrected_on,
                statement=data.statement, filed_by=actor.id, filed_by_role=actor.role.value,
                applicant_person_id=person_id, channel=channel, form_evidence_id=form_evidence_id,
                signed_on=signed_on, status=t.OPEN if complete else t.INCOMPLETE, filed_at=now, filed_on=today,
                complete_on=today if complete else None,
                decide_by=rules.decide_by(calendar, repair_rules, today) if complete else None,
                warn_on=rules.warn_on(calendar, repair_rules, today) if complete else None,
            )).returning(t.RepairApplication.id))[0]
    except UniqueViolationError:  # a concurrent application on the same event (or the same photo) won
        raise ALREADY_PENDING.fresh() from None
    return await _out(row["id"])


# --- supplementing -----------------------------------------------------------------------------------


def _may_supplement(actor: Actor, row: dict) -> bool:
    if actor.role is Role.GRID_WORKER:
        return row["filed_by"] == actor.id
    return actor.role in (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN) and scope.covers(actor, scope.case_location(row))


async def supplement(actor: Actor, application_id: int, data: SupplementIn, *, request_id: str = "") -> RepairOut:
    """补正: add documents to an incomplete application; complete, it opens and its deadline starts."""
    row = await _visible_row(actor, application_id)
    if actor.role is Role.GRID_WORKER and row["filed_by"] != actor.id:
        # the subject's grid worker may supplement an app application too
        await scope.authorize_write(actor, row["subject_kind"], row["subject_id"])
    elif not _may_supplement(actor, row):
        raise NotFound()
    await scope.log_reads(actor, [scope.case_location(row)],
                          fields=LOGGED_FIELDS, purpose=PURPOSE, request_id=request_id)
    if row["status"] != t.INCOMPLETE:
        raise (DECIDED if row["status"] not in t.PENDING else ALREADY_COMPLETE).fresh()
    entry, _ = await _entry(row["entry_id"])
    commitment_id = await _commitment(data.commitment_id, entry) if data.commitment_id is not None else None
    now = clock.now()
    today = clock.local_date(now)
    calendar = await work_calendar()
    repair_rules = _repair_rules(entry)
    try:
        async with engine_finder().transaction():
            locked = (await fetch("SELECT * FROM repair_application WHERE id = {} FOR UPDATE", application_id))[0]
            if locked["status"] != t.INCOMPLETE:
                raise (DECIDED if locked["status"] not in t.PENDING else ALREADY_COMPLETE).fresh()
            taken = await unusable(actor.id, data.documents.photo_ids())
            if taken:
                raise EVIDENCE_UNKNOWN.fresh(evidence_ids=taken)
            documents = _loads(locked["documents"])
            for name, ids in data.documents.given().items():
                documents[name] = sorted(set(documents.get(name, [])) | set(ids))
            if commitment_id is not None:
                documents["commitment_id"] = commitment_id
            missing = rules.missing_documents(locked["route"], documents)
            complete = not missing
            await t.RepairApplication.update({
                t.RepairApplication.documents: documents, t.RepairApplication.photo_ids: _photo_ids(documents),
                t.RepairApplication.commitment_id: documents.get("commitment_id"),
                t.RepairApplication.missing: [m.model_dump() for m in _missing_out(missing)],
                t.RepairApplication.status: t.OPEN if complete else t.INCOMPLETE,
                t.RepairApplication.complete_on: today if complete else None,
                t.RepairApplication.decide_by: rules.decide_by(calendar, repair_rules, today) if complete else None,
                t.RepairApplication.warn_on: rules.warn_on(calendar, repair_rules, today) if complete else None,
            }).where(t.RepairApplication.id == application_id)
    except UniqueViolationError:
        raise EVIDENCE_UNKNOWN.fresh() from None
    return await _out(application_id)


def _loads(value) -> dict | list:
    return json.loads(value) if isinstance(value, str) else value


# --- seeing ------------------------------------------------------------------------------------------


def _visible(actor: Actor, row: dict) -> bool:
    if actor.role is Role.GRID_WORKER:
        return row["filed_by"] == actor.id
    if actor.role in (Role.VILLAGER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN):
        return scope.covers(actor, scope.case_location(row))
    return False


async def _visible_row(actor: Actor, application_id: int) -> dict:
    rows = await fetch("SELECT * FROM repair_application WHERE id = {}", application_id)
    if not rows:
        raise NotFound()
    row = rows[0]
    if _visible(actor, row):
        return row
    if actor.role is Role.GRID_WORKER:  # the subject's grid worker sees what they may supplement
        where = await scope.locate(row["subject_kind"], row["subject_id"])
        if where is not None and scope.covers(actor, where):
            return row
    raise NotFound()


def _repair_out(row: dict, today: date) -> RepairOut:
    status = row["status"]
    due = status if status == t.INCOMPLETE else "decided" if row["decide_by"] is None else due_state(
        today, status=status, warn_on=row["warn_on"], respond_by=row["decide_by"])
    return RepairOut(
        id=row["id"], status=status, entry_id=row["entry_id"], event_id=row["event_id"],
        subject_kind=row["subject_kind"], subject_id=row["subject_id"], township_id=row["township_id"],
        item_code=row["item_code"], severity=row["severity"], display_ends_on=row["display_ends_on"],
        route=row["route"], channel=row["channel"], documents=_loads(row["documents"]),
        commitment_id=row["commitment_id"], missing=[MissingDocument(**m) for m in _loads(row["missing"])],
        corrected_on=row["corrected_on"], statement=row["statement"], signed_on=row["signed_on"],
        form_evidence_id=row["form_evidence_id"], filed_at=row["filed_at"], complete_on=row["complete_on"],
        decide_by=row["decide_by"], warn_on=row["warn_on"], due=due, escalated_at=row["escalated_at"],
        decided_at=row["decided_at"],
        decided_on_time=None if row["decided_on"] is None or row["decide_by"] is None
        else row["decided_on"] <= row["decide_by"],
        decision_reason=row["decision_reason"], replacement_event_id=row["replacement_event_id"])


async def _out(application_id: int) -> RepairOut:
    return _repair_out((await fetch("SELECT * FROM repair_application WHERE id = {}", application_id))[0],
                       clock.today())


async def get_repair(actor: Actor, application_id: int, *, request_id: str = "") -> RepairOut:
    """One application, if I may see it (404 otherwise, as for one that does not exist); the read is logged."""
    row = await _visible_row(actor, application_id)
    await scope.log_reads(actor, [scope.case_location(row)],
                          fields=LOGGED_FIELDS, purpose=PURPOSE, request_id=request_id)
    return _repair_out(row, clock.today())


def _candidates_sql(actor: Actor) -> tuple[str, list]:
    """A coarse pre-filter (``scope.case_prefilter_sql``); ``scope.covers`` decides on each row."""
    found = scope.case_prefilter_sql(actor, "", grid_worker_sql="filed_by = {}", grid_worker_args=[actor.id])
    if found is None:
        raise PermissionDenied()
    return found


async def list_repairs(actor: Actor, *, status: str | None, due: str | None, limit: int, offset: int,
                       request_id: str = "") -> Page[RepairOut]:
    """Applications I may see, the soonest deadline first. ``due``: ``due_soon`` (the township's
    queue, from two working days before the deadline), ``overdue``, ``escalated`` (the county's)."""
    where, args = _candidates_sql(actor)
    clauses = [where]
    today = clock.today()
    if status is not None:
        clauses.append("status = {}")
        args = [*args, status]
    if due == "escalated":
        clauses.append("status = 'open' AND escalated_at IS NOT NULL")
    elif due == "overdue":
        clauses.append("status = 'open' AND decide_by < {}")
        args = [*args, today]
    elif due == "due_soon":
        clauses.append("status = 'open' AND warn_on <= {} AND decide_by >= {}")
        args = [*args, today, today]
    rows = await fetch(f"SELECT * FROM repair_application WHERE {' AND '.join(clauses)} "
                       "ORDER BY status NOT IN ('open', 'incomplete'), decide_by NULLS LAST, id", *args)
    rows = [r for r in rows if _visible(actor, r)]
    page = rows[offset:offset + limit]
    await scope.log_reads(actor, [scope.case_location(r) for r in page], fields=LOGGED_FIELDS, purpose=PURPOSE,
                          request_id=request_id)
    return Page[RepairOut](items=[_repair_out(r, today) for r in page], total=len(rows), limit=limit, offset=offset)


async def photo_visible(actor: Actor, evidence_id: int, *, purpose: str = "evidence_view", request_id: str = "") -> bool:
    """Whether ``actor`` may see this photo because it was filed with an application they may see
    (the paper form or a document) — the read is then logged. For the evidence slice."""
    rows = await fetch("SELECT * FROM repair_application WHERE form_evidence_id = {} OR photo_ids @> to_jsonb({}::bigint)",
                       evidence_id, evidence_id)
    seen = [r for r in rows if _visible(actor, r)]
    if not seen:
        return False
    await scope.log_reads(actor, [scope.case_location(seen[0])], fields=["evidence_photo", "repair_application"],
                          purpose=purpose, request_id=request_id)
    return True


# --- withdrawing and deciding ------------------------------------------------------------------------


async def withdraw(actor: Actor, application_id: int, *, request_id: str = "") -> RepairOut:
    """The applicant (the villager who filed it or for whom it was filed) withdraws an application not decided."""
    row = await _visible_row(actor, application_id)
    if not (actor.role is Role.VILLAGER and actor.person_id is not None
            and actor.person_id in (row["applicant_person_id"], row["person_id"])):
        raise NotFound()
    async with engine_finder().transaction():
        locked = (await fetch("SELECT * FROM repair_application WHERE id = {} FOR UPDATE", application_id))[0]
        if locked["status"] not in t.PENDING:
            raise DECIDED.fresh()
        now = clock.now()
        await t.RepairApplication.update({
            t.RepairApplication.status: t.WITHDRAWN, t.RepairApplication.decided_by: actor.id,
            t.RepairApplication.decided_at: now, t.RepairApplication.decided_on: clock.local_date(now),
            t.RepairApplication.decision_reason: "申请人撤回申请",
        }).where(t.RepairApplication.id == application_id)
    return await _out(application_id)


def _decider(actor: Actor, row: dict) -> bool:
    """The recording township's admins, and the county's (``scope.covers`` on the recording township)."""
    return actor.role in (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN) and scope.covers(actor, scope.case_location(row))


async def decide(actor: Actor, application_id: int, data: RepairDecisionIn, *, request_id: str = "") -> RepairOut:
    """Approve (the entry is repaired through the ledger, the replacement recorded) or refuse — with
    written reasons either way."""
    if actor.role not in (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN):
        raise PermissionDenied()
    row = await _visible_row(actor, application_id)
    if not _decider(actor, row):
        raise NotFound()
    await scope.log_reads(actor, [scope.case_location(row)],
                          fields=LOGGED_FIELDS, purpose=PURPOSE, request_id=request_id)
    _check_decidable(row)
    now = clock.now()
    async with engine_finder().transaction():
        locked = (await fetch("SELECT * FROM repair_application WHERE id = {} FOR UPDATE", application_id))[0]
        _check_decidable(locked)
        replacement_id = None
        if data.decision == "approve":
            replacement_id = await _approve(actor, locked, data.reason)
        await t.RepairApplication.update({
            t.RepairApplication.status: t.APPROVED if data.decision == "approve" else t.REFUSED,
            t.RepairApplication.decision_reason: data.reason, t.RepairApplication.decided_by: actor.id,
            t.RepairApplication.decided_at: now, t.RepairApplication.decided_on: clock.local_date(now),
            t.RepairApplication.replacement_event_id: replacement_id,
        }).where(t.RepairApplication.id == application_id)
        await webhook_outbox.emit(locked["county_id"], webhook_rules.REPAIR_DECIDED, {
            "repair_id": application_id, "subject_kind": locked["subject_kind"], "subject_id": locked["subject_id"],
            "event_id": locked["event_id"], "decision": t.APPROVED if data.decision == "approve" else t.REFUSED,
            "replacement_event_id": replacement_id})
        await notices.notify_repair_decided(locked, approved=data.decision == "approve", reason=data.reason)
    if data.decision == "approve":
        await ledger.ledger_changed(row["subject_kind"], row["subject_id"])
    return await _out(application_id)


def _check_decidable(row: dict) -> None:
    if row["status"] == t.INCOMPLETE:
        raise INCOMPLETE.fresh(missing=_loads(row["missing"]))
    if row["status"] != t.OPEN:
        raise DECIDED.fresh()


async def _approve(actor: Actor, application: dict, reason: str) -> int | None:
    """Repair the event through the ledger (inside the caller's transaction); the replacement event's id."""
    entry, event = await _entry(application["entry_id"])
    item = _item(entry)
    why = f"第{application['id']}号信用修复申请（{ROUTE_NAMES_ZH[application['route']]}）经批准：{reason}"
    code = rules.replacement_code(item, application["route"])
    replacement = None if code is None else _replacement_event(
        event, code, key=f"repair:{application['id']}", occurred_on=application["corrected_on"],
        note=f"信用修复改记（第{application['id']}号申请）")
    return await _repair(event, why, actor.id, replacement)


def _replacement_event(event: dict, code: str, *, key: str, occurred_on: date, note: str) -> EventIn:
    return EventIn(idempotency_key=key, item_code=code, subject_kind=event["subject_kind"],
                   subject_id=event["subject_id"], occurred_on=occurred_on, note=note)


async def _repair(event: dict, why: str, actor_id: int, replacement: EventIn | None) -> int | None:
    try:
        return await ledger.repair_event(event["id"], reason_zh=why, actor_id=actor_id, replacement=replacement)
    except RuleError as exc:  # the replacement item is not in the catalogue on that day
        raise InvalidInput(exc.message_zh, exc.message_en, code=exc.code) from exc


# --- the source list's removal -----------------------------------------------------------------------


async def repair_from_source(actor: Actor, event_id: int, *, reason_zh: str, removal_key: str,
                             occurred_on: date | None) -> int | None | bool:
    """A removal on the source list (the court removes a defaulter after performance) repairs the
    event when its item is repaired by ``source_removal`` — the replacement, if the catalogue names
    one, runs from the removal's date. Returns the replacement event id (or None), or False when the
    item is not repaired that way (the caller reverses the entry instead). Idempotent by ``removal_key``."""
    event = (await fetch("SELECT * FROM credit_event WHERE id = {}", event_id))[0]
    entry_rows = await fetch("SELECT * FROM ledger_entry WHERE event = {} AND reverses_entry IS NULL ORDER BY id LIMIT 1",
                             event_id)
    if not entry_rows:
        return False
    entry_rows[0]["county_id"] = await county_of_township(event["township_id"])
    item = _item(entry_rows[0])
    if SOURCE_REMOVAL not in item.repair.routes:
        return False
    day = min(occurred_on or clock.today(), clock.today())
    day = max(day, event["occurred_on"])
    code = rules.replacement_code(item, SOURCE_REMOVAL)
    replacement = None if code is None else _replacement_event(event, code, key=removal_key[:64], occurred_on=day,
                                                               note=reason_zh[:500])
    async with engine_finder().transaction():
        replacement_id = await _repair(event, reason_zh, actor.id, replacement)
    await ledger.ledger_changed(event["subject_kind"], event["subject_id"])
    return replacement_id


# --- deadlines: the crons' work ----------------------------------------------------------------------


async def warn_due(today: date | None = None) -> list[int]:
    """Open applications whose warning day has come: stamped ``warned_at`` once (the township's
    due-soon queue, ``GET /api/v1/repairs?due=due_soon``, lists them)."""
    today = today or clock.today()
    rows = await fetch("""UPDATE repair_application SET warned_at = {} WHERE status = 'open' AND warned_at IS NULL
                          AND warn_on <= {} RETURNING id""", clock.now(), today)
    return sorted(r["id"] for r in rows)


async def escalate_overdue(today: date | None = None) -> list[int]:
    """Open applications past their deadline: stamped ``escalated_at`` once, for the county's queue."""
    today = today or clock.today()
    rows = await fetch("""UPDATE repair_application SET escalated_at = {} WHERE status = 'open' AND escalated_at IS NULL
                          AND decide_by < {} RETURNING id""", clock.now(), today)
    return sorted(r["id"] for r in rows)
