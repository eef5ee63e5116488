"""Notices, written inside the transaction of the change they announce (the outbox pattern of
``backend.webhooks.outbox``). Nothing here talks to Redis or the network: a change commits with its
notices and their deliveries whether Redis is up or not, and the dispatcher
(``backend.notifications.dispatch``, a cron of the worker) sends the external deliveries later.

Every writer is set-based: the notices of a batch are one ``INSERT … SELECT FROM unnest(…)`` with
``ON CONFLICT DO NOTHING`` on ``(county_id, recipient_person_id, dedupe_key)`` — a replay, a second
run or a second batch writes nothing — and their deliveries one more statement.

Callers hold a transaction and call one of the ``notify_*`` functions inside it; a rollback takes
the notices with it. Bulk demo seeding may turn notices off with :func:`suppressed`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from piccolo.engine import engine_finder

from backend import clock
from backend.db import fetch
from backend.ledger.catalogue import catalogues, points_text
from backend.notifications import channels
from backend.registry.tables import HEAD
from points_rules import RuleError
from points_rules import notifications as rules

_suppressed: contextvars.ContextVar[bool] = contextvars.ContextVar("notices_suppressed", default=False)

PERSON, HOUSEHOLD = "person", "household"


@contextlib.contextmanager
def suppressed():
    """Bulk demo seeding: changes made inside the block announce nothing to villagers."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


@dataclass(frozen=True)
class Draft:
    """One notice to write: to whom, once per ``dedupe_key``, what it says and what it is about."""

    county_id: int
    recipient_person_id: int
    dedupe_key: str
    message: rules.Message
    subject_kind: str = ""
    subject_id: int | None = None
    ref_kind: str = ""
    ref_id: int | None = None


def _in_transaction() -> None:
    if engine_finder().current_transaction.get() is None:
        raise RuntimeError("notices are written inside the transaction of the change they announce")


async def write(drafts: Iterable[Draft], *, now: datetime | None = None) -> list[int]:
    """The notices (one statement) and one delivery per enabled external channel for each notice
    actually written (one more), due at once or at the end of quiet hours. Returns the new notices' ids."""
    _in_transaction()
    if _suppressed.get():
        return []
    unique: dict[tuple[int, int, str], Draft] = {}
    for d in drafts:
        unique.setdefault((d.county_id, d.recipient_person_id, d.dedupe_key), d)
    if not unique:
        return []
    now = now or clock.now()
    ds = list(unique.values())
    rows = await fetch(
        """INSERT INTO notice (county_id, recipient_person_id, kind, dedupe_key, title_zh, body_zh, link, subject_kind,
                               subject_id, ref_kind, ref_id, external_text, created_at)
           SELECT c, r, k, d, t, b, l, sk, si, rk, ri, x, {}
           FROM unnest({}::int[], {}::int[], {}::text[], {}::text[], {}::text[], {}::text[], {}::text[], {}::text[],
                       {}::int[], {}::text[], {}::bigint[], {}::text[]) AS u(c, r, k, d, t, b, l, sk, si, rk, ri, x)
           ON CONFLICT (county_id, recipient_person_id, dedupe_key) DO NOTHING
           RETURNING id, county_id, recipient_person_id""",
        now, [d.county_id for d in ds], [d.recipient_person_id for d in ds], [d.message.kind for d in ds],
        [d.dedupe_key for d in ds], [d.message.title_zh for d in ds], [d.message.body_zh for d in ds],
        [d.message.link for d in ds], [d.subject_kind for d in ds], [d.subject_id for d in ds],
        [d.ref_kind for d in ds], [d.ref_id for d in ds], [d.message.external_text for d in ds])
    names = channels.enabled_names()
    if rows and names:
        start, end = channels.quiet_hours()
        due = rules.next_send_time(now, start, end)
        await fetch(
            """INSERT INTO notice_delivery (county_id, notice, recipient_person_id, channel, status, due_at, attempts,
                                            claim_token, last_error, created_at)
               SELECT n.c, n.id, n.r, ch, 'pending', {}, 0, '', '', {}
               FROM unnest({}::bigint[], {}::int[], {}::int[]) AS n(id, c, r) CROSS JOIN unnest({}::text[]) AS ch""",
            due, now, [r["id"] for r in rows], [r["county_id"] for r in rows],
            [r["recipient_person_id"] for r in rows], list(names))
    return sorted(r["id"] for r in rows)


# --- recipients ------------------------------------------------------------------------------------------


async def heads_of(county_id: int, household_ids: Iterable[int]) -> dict[int, int]:
    """Household → the person heading it now (户主), for many households of one county in one query."""
    ids = sorted(set(household_ids))
    if not ids:
        return {}
    rows = await fetch("""SELECT m.household, m.person FROM household_membership m
                          WHERE m.county_id = {} AND m.household = ANY({}) AND m.valid_to IS NULL AND m.relation = {}""",
                       county_id, ids, HEAD)
    return {r["household"]: r["person"] for r in rows}


async def recipients(county_id: int, subjects: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """(subject kind, id) → the person told about it: a person themself; a household its head.
    Organisations (and a household without a head) have nobody to tell in the app."""
    subjects = list(subjects)
    heads = await heads_of(county_id, [i for k, i in subjects if k == HOUSEHOLD])
    out = {}
    for kind, subject_id in subjects:
        if kind == PERSON:
            out[(kind, subject_id)] = subject_id
        elif kind == HOUSEHOLD and subject_id in heads:
            out[(kind, subject_id)] = heads[subject_id]
    return out


def item_name(county_id: int, item_code: str, occurred_on: date) -> str:
    """The catalogue's name of an item on the day it applied (the code if it is unknown)."""
    try:
        return catalogues(county_id).version_on(occurred_on).item(item_code).name_zh
    except RuleError:
        return item_code


async def _points_of(county_id: int, event_ids: list[int]) -> dict[int, int]:
    """Each event's points now (the sum of its entries, tenths)."""
    if not event_ids:
        return {}
    rows = await fetch("""SELECT e.event, sum(e.points)::int AS points FROM ledger_entry e
                          WHERE e.county_id = {} AND e.event = ANY({}) GROUP BY e.event""",
                       county_id, sorted(set(event_ids)))
    return {r["event"]: r["points"] for r in rows}


# --- the changes of the other slices ----------------------------------------------------------------------

_NOTIFIED_ON_RECORD = {"counted": False, "skipped": False, "pending_review": True}  # status → pending review?


async def notify_events_recorded(events: list[dict], *, since: date | None = None) -> list[int]:
    """``event:{id}:recorded`` for newly recorded events (``credit_event`` rows: id, county_id,
    item_code, subject_kind, subject_id, occurred_on, status): counted or waiting for review.
    ``since``: events that happened before it are history, not news (imports) — no notice."""
    written: list[int] = []
    for county_id in sorted({e["county_id"] for e in events}):
        rows = [e for e in events if e["county_id"] == county_id and e["status"] in _NOTIFIED_ON_RECORD
                and (since is None or e["occurred_on"] >= since)]
        if not rows:
            continue
        to = await recipients(county_id, [(e["subject_kind"], e["subject_id"]) for e in rows])
        points = await _points_of(county_id, [e["id"] for e in rows if e["status"] != "pending_review"])
        drafts = []
        for e in rows:
            person = to.get((e["subject_kind"], e["subject_id"]))
            if person is None:
                continue
            pending = _NOTIFIED_ON_RECORD[e["status"]]
            message = rules.event_recorded(
                item_name_zh=item_name(county_id, e["item_code"], e["occurred_on"]), occurred_on=e["occurred_on"],
                points=None if pending else points_text(points.get(e["id"], 0)), pending_review=pending,
                household=e["subject_kind"] == HOUSEHOLD)
            drafts.append(Draft(county_id, person, f"event:{e['id']}:recorded", message, e["subject_kind"],
                                e["subject_id"], "event", e["id"]))
        written += await write(drafts)
    return written


async def notify_event_decided(event: dict, *, approved: bool, reason: str) -> list[int]:
    """``event:{id}:approved`` / ``event:{id}:rejected`` after the township's review."""
    county_id = event["county_id"]
    to = await recipients(county_id, [(event["subject_kind"], event["subject_id"])])
    person = to.get((event["subject_kind"], event["subject_id"]))
    if person is None:
        return []
    points = (await _points_of(county_id, [event["id"]])).get(event["id"]) if approved else None
    message = rules.event_decided(item_name_zh=item_name(county_id, event["item_code"], event["occurred_on"]),
                                  occurred_on=event["occurred_on"], approved=approved,
                                  points=None if points is None else points_text(points), reason=reason,
                                  household=event["subject_kind"] == HOUSEHOLD)
    return await write([Draft(county_id, person, f"event:{event['id']}:{'approved' if approved else 'rejected'}",
                              message, event["subject_kind"], event["subject_id"], "event", event["id"])])


async def notify_publicity(county_id: int, proposal_ids: list[int]) -> list[int]:
    """``publicity:{period}:{household}`` to the head of each household whose rating has just
    entered publicity: one notice per household and period, however many batches or approvals.
    (A rating publicised afresh after an upheld objection is announced by the objection's decision,
    which carries the new deadline: not by a second publicity notice.)"""
    if not proposal_ids:
        return []
    rows = await fetch("""SELECT p.id, p.county_id, p.period, p.subject_id, p.grade, p.publicity_ends_on,
                                 pe.name_zh AS period_name
                          FROM rating_proposal p JOIN rating_period pe ON pe.id = p.period
                          WHERE p.county_id = {} AND p.id = ANY({}) AND p.level = 'household'
                            AND p.status = 'publicised'""",
                       county_id, sorted(set(proposal_ids)))
    heads = await heads_of(county_id, [r["subject_id"] for r in rows])
    return await write([
        Draft(county_id, heads[r["subject_id"]], f"publicity:{r['period']}:{r['subject_id']}",
              rules.publicity(period_name_zh=r["period_name"], grade=r["grade"], publicity_ends_on=r["publicity_ends_on"]),
              HOUSEHOLD, r["subject_id"], "proposal", r["id"])
        for r in rows if r["subject_id"] in heads])


async def _to_subject_and(county_id: int, subject_kind: str, subject_id: int, also: Iterable[int | None]) -> list[int]:
    """The subject's recipient and the other persons named (the objector, the applicant), once each."""
    to = await recipients(county_id, [(subject_kind, subject_id)])
    people = [to.get((subject_kind, subject_id)), *also]
    return list(dict.fromkeys(p for p in people if p is not None))


async def notify_rating_objection_decided(county_id: int, objection_id: int) -> list[int]:
    """``rating_objection:{id}:decided`` to the objector and the rated household's head."""
    rows = await fetch("""SELECT o.id, o.county_id, o.status, o.resolution_reason, o.resolution_grade, a.person,
                                 p.subject_id, p.level, p.publicity_ends_on, p.status AS rating_status,
                                 pe.name_zh AS period_name
                          FROM rating_objection o JOIN rating_proposal p ON p.id = o.proposal AND p.county_id = o.county_id
                          JOIN rating_period pe ON pe.id = p.period LEFT JOIN account a ON a.id = o.raised_by
                          WHERE o.county_id = {} AND o.id = {}""", county_id, objection_id)
    if not rows or rows[0]["level"] != HOUSEHOLD:
        return []
    r = rows[0]
    upheld = r["status"] == "upheld"
    message = rules.rating_objection_decided(
        period_name_zh=r["period_name"], upheld=upheld, grade=r["resolution_grade"], reason=r["resolution_reason"],
        publicity_ends_on=r["publicity_ends_on"] if upheld and r["rating_status"] == "publicised" else None)
    people = await _to_subject_and(r["county_id"], HOUSEHOLD, r["subject_id"], [r["person"]])
    return await write([Draft(r["county_id"], p, f"rating_objection:{objection_id}:decided", message, HOUSEHOLD,
                              r["subject_id"], "rating_objection", objection_id) for p in people])


async def _entry_item(county_id: int, entry_id: int) -> str:
    rows = await fetch("SELECT e.item_code, e.valid_from FROM ledger_entry e WHERE e.county_id = {} AND e.id = {}",
                       county_id, entry_id)
    return item_name(county_id, rows[0]["item_code"], rows[0]["valid_from"]) if rows else ""


async def _case_decided(case: dict, kind: str, message: rules.Message, also: int | None) -> list[int]:
    """``{kind}:{id}:decided`` for a decided case row (entry objection, repair application) to the
    person who filed it and to its subject."""
    county_id = case["county_id"]
    people = await _to_subject_and(county_id, case["subject_kind"], case["subject_id"], [also])
    return await write([Draft(county_id, p, f"{kind}:{case['id']}:decided", message, case["subject_kind"],
                              case["subject_id"], kind, case["id"]) for p in people])


async def notify_entry_objection_decided(objection: dict, *, upheld: bool, reason: str) -> list[int]:
    """``objection:{id}:decided`` (an ``entry_objection`` row) to the objector and the subject."""
    item = await _entry_item(objection["county_id"], objection["entry_id"])
    return await _case_decided(objection, "objection", rules.objection_decided(
        objection_id=objection["id"], item_name_zh=item, upheld=upheld, reason=reason), objection["filed_for_person_id"])


async def notify_repair_decided(application: dict, *, approved: bool, reason: str) -> list[int]:
    """``repair:{id}:decided`` (a ``repair_application`` row) to the applicant and the subject."""
    item = await _entry_item(application["county_id"], application["entry_id"])
    return await _case_decided(application, "repair", rules.repair_decided(
        repair_id=application["id"], item_name_zh=item, approved=approved, reason=reason),
        application["applicant_person_id"])


async def notify_bank_pull(county_id: int, household_id: int, *, pull_id: int, recipient_id: int, consent_id: int,
                           product_code: str, at: datetime) -> list[int]:
    """``bank_pull:{id}`` to the household's head: which bank, when, under which consent."""
    heads = await heads_of(county_id, [household_id])
    if household_id not in heads:
        return []
    bank = await fetch("SELECT r.name_zh FROM consent_recipient r WHERE r.county = {} AND r.id = {}",
                       county_id, recipient_id)
    message = rules.bank_pull(bank_name_zh=bank[0]["name_zh"] if bank else "银行", at=at, consent_id=consent_id,
                              product_code=product_code)
    return await write([Draft(county_id, heads[household_id], f"bank_pull:{pull_id}", message, HOUSEHOLD,
                              household_id, "bank_pull", pull_id)])


async def notify_commitments_due(commitments: list[dict]) -> list[int]:
    """``commitment:{id}:due_soon`` (rows: id, county_id, subject_kind, subject_id, check_on, title)."""
    written: list[int] = []
    for county_id in sorted({c["county_id"] for c in commitments}):
        mine = [c for c in commitments if c["county_id"] == county_id]
        to = await recipients(county_id, [(c["subject_kind"], c["subject_id"]) for c in mine])
        written += await write([
            Draft(county_id, to[(c["subject_kind"], c["subject_id"])], f"commitment:{c['id']}:due_soon",
                  rules.commitment_due(title_zh=c["title"], check_on=c["check_on"]), c["subject_kind"],
                  c["subject_id"], "commitment", c["id"])
            for c in mine if (c["subject_kind"], c["subject_id"]) in to])
    return written
