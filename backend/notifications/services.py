"""The villager's inbox (read/unread), what left the platform about them, the county's delivery
log (personal data: access-logged through the scope module), and the commitments-due run.

A villager's notices are theirs alone: every query filters by the caller's county and person (from
the token), so someone else's notice answers 404 — whether it exists or not.
"""

from __future__ import annotations

from datetime import date, timedelta

from piccolo.engine import engine_finder

from backend import clock
from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.db import fetch
from backend.errors import NotFound, PermissionDenied
from backend.notifications import outbox
from backend.notifications.schemas import DeliveryOut, InboxOut, MyDeliveryOut, NoticeOut
from backend.schemas import Page

LOG_READERS = (Role.COUNTY_ADMIN, Role.AUDITOR)
LOG_PURPOSE = "notice_delivery_log"
LOG_FIELDS = ["notice_delivery"]  # backend.audit.words: 通知发送记录

_NOTICE_COLUMNS = "n.id, n.kind, n.title_zh, n.body_zh, n.link, n.created_at, n.read_at"


def _me(actor: Actor) -> tuple[int, int]:
    """(county, person) of the villager calling."""
    if actor.role is not Role.VILLAGER or actor.person_id is None:
        raise PermissionDenied()
    return scope.county_of(actor), actor.person_id


def _notice_out(r: dict) -> NoticeOut:
    return NoticeOut(id=r["id"], kind=r["kind"], title_zh=r["title_zh"], body_zh=r["body_zh"], link=r["link"],
                     created_at=r["created_at"], read_at=r["read_at"])


async def inbox(actor: Actor, *, unread_only: bool, limit: int, offset: int) -> InboxOut:
    """My notices, newest first, with the number unread."""
    county_id, person_id = _me(actor)
    counts = (await fetch("""SELECT count(*) AS total, count(*) FILTER (WHERE n.read_at IS NULL) AS unread
                             FROM notice n WHERE n.county_id = {} AND n.recipient_person_id = {}""",
                          county_id, person_id))[0]
    unread_sql = " AND n.read_at IS NULL" if unread_only else ""
    rows = await fetch(f"""SELECT {_NOTICE_COLUMNS} FROM notice n
                           WHERE n.county_id = {{}} AND n.recipient_person_id = {{}}{unread_sql}
                           ORDER BY n.id DESC LIMIT {{}} OFFSET {{}}""", county_id, person_id, limit, offset)
    return InboxOut(items=[_notice_out(r) for r in rows], total=counts["unread"] if unread_only else counts["total"],
                    limit=limit, offset=offset, unread=counts["unread"])


async def mark_read(actor: Actor, notice_id: int) -> NoticeOut:
    """Read (idempotent: a read notice keeps the time it was first read)."""
    county_id, person_id = _me(actor)
    async with engine_finder().transaction():
        await fetch("""UPDATE notice n SET read_at = {} WHERE n.county_id = {} AND n.recipient_person_id = {}
                       AND n.id = {} AND n.read_at IS NULL""", clock.now(), county_id, person_id, notice_id)
        rows = await fetch(f"""SELECT {_NOTICE_COLUMNS} FROM notice n
                               WHERE n.county_id = {{}} AND n.recipient_person_id = {{}} AND n.id = {{}}""",
                           county_id, person_id, notice_id)
    if not rows:
        raise NotFound()
    return _notice_out(rows[0])


async def mark_all_read(actor: Actor) -> int:
    county_id, person_id = _me(actor)
    rows = await fetch("""UPDATE notice n SET read_at = {} WHERE n.county_id = {} AND n.recipient_person_id = {}
                          AND n.read_at IS NULL RETURNING n.id""", clock.now(), county_id, person_id)
    return len(rows)


async def my_deliveries(actor: Actor, *, limit: int, offset: int) -> Page[MyDeliveryOut]:
    """What left the platform about me (or would have): channel, masked address, text, outcome, time."""
    county_id, person_id = _me(actor)
    total = (await fetch("SELECT count(*) AS n FROM notice_attempt a WHERE a.county_id = {} "
                         "AND a.recipient_person_id = {}", county_id, person_id))[0]["n"]
    rows = await fetch("""SELECT a.id, a.notice, a.channel, a.address_masked, a.text, a.outcome, a.error, a.at
                          FROM notice_attempt a WHERE a.county_id = {} AND a.recipient_person_id = {}
                          ORDER BY a.id DESC LIMIT {} OFFSET {}""", county_id, person_id, limit, offset)
    return Page[MyDeliveryOut](items=[MyDeliveryOut(id=r["id"], notice_id=r["notice"], channel=r["channel"],
                                                    address_masked=r["address_masked"], text=r["text"],
                                                    status=r["outcome"], error=r["error"], at=r["at"])
                                      for r in rows], total=total, limit=limit, offset=offset)


async def county_deliveries(actor: Actor, *, status: str | None, channel: str | None, limit: int, offset: int,
                            request_id: str = "") -> Page[DeliveryOut]:
    """The county's delivery log, newest first (county admins, auditors): each row names a person, so
    the page is access-logged, one row per person shown."""
    if actor.role not in LOG_READERS:
        raise PermissionDenied()
    county_id = scope.county_of(actor)
    clauses, args = ["a.county_id = {}"], [county_id]
    if status is not None:
        clauses.append("a.outcome = {}")
        args.append(status)
    if channel is not None:
        clauses.append("a.channel = {}")
        args.append(channel)
    where = " AND ".join(clauses)
    total = (await fetch(f"SELECT count(*) AS n FROM notice_attempt a WHERE {where}", *args))[0]["n"]
    rows = await fetch(f"""SELECT a.id, a.notice, a.recipient_person_id, a.channel, a.address_masked, a.text,
                                  a.outcome, a.error, a.at, n.kind
                           FROM notice_attempt a JOIN notice n ON n.county_id = a.county_id AND n.id = a.notice
                           WHERE {where} ORDER BY a.id DESC LIMIT {{}} OFFSET {{}}""", *args, limit, offset)
    people = await scope.locate_many(scope.PERSON, [r["recipient_person_id"] for r in rows], county_id=county_id)
    await scope.log_reads(actor, list(people.values()), fields=LOG_FIELDS, purpose=LOG_PURPOSE, request_id=request_id)
    return Page[DeliveryOut](items=[DeliveryOut(id=r["id"], notice_id=r["notice"], kind=r["kind"],
                                                person_id=r["recipient_person_id"], channel=r["channel"],
                                                address_masked=r["address_masked"], text=r["text"],
                                                status=r["outcome"], error=r["error"], at=r["at"]) for r in rows],
                             total=total, limit=limit, offset=offset)


async def notify_commitments_due(*, days: int, today: date | None = None) -> list[int]:
    """Notices for signed commitments whose check date falls within ``days`` days (today included);
    each commitment once (``commitment:{id}:due_soon``), however often this runs."""
    today = today or clock.today()
    rows = await fetch("""SELECT c.id, c.county_id, c.subject_kind, c.subject_id, c.check_on, t.title
                          FROM credit_commitment c JOIN commitment_template t ON t.county_id = c.county_id
                               AND t.id = c.template_id
                          WHERE c.status = 'signed' AND c.check_on BETWEEN {} AND {}""",
                       today, today + timedelta(days=days))
    async with engine_finder().transaction():
        return await outbox.notify_commitments_due(rows)
