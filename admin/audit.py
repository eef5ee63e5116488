"""What the back office leaves behind: a security event for every write, an access-log row
for every read of personal data, naming the township, person and household it concerns.

Done around the admin's ASGI app rather than in piccolo-admin's hooks: its hooks run *before*
a write (a refused delete would be logged as done) and its validators cannot see the rows a
list returned. Here the outcome is known: the response is held back until its row is written,
so a caller never sees a success that left no trace.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

import asyncpg
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.audit.tables import AccessLog, SecurityEvent
from backend.db import fetch

logger = logging.getLogger("cunxin.admin")

_TABLE_PATH = re.compile(r"/api/tables/(?P<table>[a-z_]+)/(?:(?P<row>\d+)/)?$")
_LOGIN_PATH = re.compile(r"/public/login/$")
MAX_BODY = 256 * 1024  # admin JSON bodies and pages are small; beyond this, columns are not parsed
WRITES = {"POST": "admin_insert", "PUT": "admin_update", "PATCH": "admin_update", "DELETE": "admin_delete"}

# The township, person and household one admin row concerns, by table: (row, subject_kind,
# subject_id, person_id, household_id, township_id). The household's township comes from its
# village; a person's household is their open membership.
_HOUSEHOLD_TOWNSHIP = "(SELECT v.township FROM household hh JOIN village v ON v.id = hh.village WHERE hh.id = {h})"
_OPEN_HOUSEHOLD = "(SELECT m.household FROM household_membership m WHERE m.person = {p} AND m.valid_to IS NULL)"
CONCERNS: dict[str, str] = {
    "person": f"""SELECT p.id AS row, 'person' AS kind, p.id AS subject, p.id AS person,
                  {_OPEN_HOUSEHOLD.format(p='p.id')} AS household,
                  {_HOUSEHOLD_TOWNSHIP.format(h=_OPEN_HOUSEHOLD.format(p='p.id'))} AS township
                  FROM person p WHERE p.id = ANY({{}})""",
    "household": f"""SELECT h.id AS row, 'household' AS kind, h.id AS subject, NULL::int AS person,
                     h.id AS household, {_HOUSEHOLD_TOWNSHIP.format(h='h.id')} AS township
                     FROM household h WHERE h.id = ANY({{}})""",
    "household_membership": f"""SELECT r.id AS row, 'person' AS kind, r.person AS subject, r.person AS person,
                                r.household AS household, {_HOUSEHOLD_TOWNSHIP.format(h='r.household')} AS township
                                FROM household_membership r WHERE r.id = ANY({{}})""",
    "household_residence": f"""SELECT r.id AS row, 'household' AS kind, r.household AS subject, NULL::int AS person,
                               r.household AS household, {_HOUSEHOLD_TOWNSHIP.format(h='r.household')} AS township
                               FROM household_residence r WHERE r.id = ANY({{}})""",
    "party_member_link": f"""SELECT r.id AS row, 'household' AS kind, r.household AS subject, r.member AS person,
                             r.household AS household, {_HOUSEHOLD_TOWNSHIP.format(h='r.household')} AS township
                             FROM party_member_link r WHERE r.id = ANY({{}})""",
    "credit_event": """SELECT e.id AS row, e.subject_kind AS kind, e.subject_id AS subject, e.person_id AS person,
                       e.household_id AS household, e.township_id AS township
                       FROM credit_event e WHERE e.id = ANY({})""",
    "ledger_entry": f"""SELECT l.id AS row, l.subject_kind AS kind, l.subject_id AS subject, l.person_id AS person,
                        l.household_id AS household,
                        COALESCE((SELECT e.township_id FROM credit_event e WHERE e.id = l.event),
                                 {_HOUSEHOLD_TOWNSHIP.format(h='l.household_id')}) AS township
                        FROM ledger_entry l WHERE l.id = ANY({{}})""",
    "evidence": """SELECT x.id AS row, COALESCE(e.subject_kind, 'evidence') AS kind, COALESCE(e.subject_id, x.id) AS subject,
                   e.person_id AS person, e.household_id AS household, e.township_id AS township
                   FROM evidence x LEFT JOIN credit_event e ON e.id = x.event WHERE x.id = ANY({})""",
    "rating_proposal": """SELECT r.id AS row, r.level AS kind, r.subject_id AS subject, NULL::int AS person,
                          CASE WHEN r.level = 'household' THEN r.subject_id END AS household, r.township_id AS township
                          FROM rating_proposal r WHERE r.id = ANY({})""",
    "rating_objection": """SELECT o.id AS row, r.level AS kind, r.subject_id AS subject, NULL::int AS person,
                           CASE WHEN r.level = 'household' THEN r.subject_id END AS household, r.township_id AS township
                           FROM rating_objection o JOIN rating_proposal r ON r.id = o.proposal WHERE o.id = ANY({})""",
    "consent_event": """SELECT c.id AS row, c.subject_kind AS kind, c.subject_id AS subject,
                        CASE WHEN c.subject_kind = 'person' THEN c.subject_id END AS person,
                        c.household_id AS household, c.township_id AS township
                        FROM consent_event c WHERE c.id = ANY({})""",
    "entry_objection": """SELECT o.id AS row, o.subject_kind AS kind, o.subject_id AS subject, o.person_id AS person,
                          o.household_id AS household, o.township_id AS township
                          FROM entry_objection o WHERE o.id = ANY({})""",
    "credit_commitment": """SELECT k.id AS row, k.subject_kind AS kind, k.subject_id AS subject,
                            k.person_id AS person, k.household_id AS household, k.township_id AS township
                            FROM credit_commitment k WHERE k.id = ANY({})""",
    "village_points_entry": """SELECT e.id AS row, e.subject_kind AS kind, e.subject_id AS subject,
                               e.person_id AS person, e.household_id AS household, e.township_id AS township
                               FROM village_points_entry e WHERE e.id = ANY({})""",
    "repair_application": """SELECT a.id AS row, a.subject_kind AS kind, a.subject_id AS subject,
                             a.person_id AS person, a.household_id AS household, a.township_id AS township
                             FROM repair_application a WHERE a.id = ANY({})""",
    "bank_rating_pull": """SELECT p.id AS row, 'household' AS kind, p.household_id AS subject, NULL::int AS person,
                           p.household_id AS household, p.township_id AS township
                           FROM bank_rating_pull p WHERE p.id = ANY({}) AND p.household_id IS NOT NULL""",
    "feed_record": """SELECT r.id AS row, COALESCE(NULLIF(r.subject_kind, ''), 'feed_record') AS kind,
                      COALESCE(r.subject_id, r.id::int) AS subject,
                      CASE WHEN r.subject_kind = 'person' THEN r.subject_id END AS person, NULL::int AS household,
                      r.township_id AS township
                      FROM feed_record r WHERE r.id = ANY({})""",
    "standing_household": """SELECT s.household_id AS row, 'household' AS kind, s.household_id AS subject,
                             NULL::int AS person, s.household_id AS household, s.township_id AS township
                             FROM standing_household s WHERE s.household_id = ANY({})""",
}
# Notices, their deliveries and the delivery log (backend.notifications): the person they were for.
_RECIPIENT = f"""SELECT x.id AS row, 'person' AS kind, x.recipient_person_id AS subject, x.recipient_person_id AS person,
                 {_OPEN_HOUSEHOLD.format(p='x.recipient_person_id')} AS household,
                 {_HOUSEHOLD_TOWNSHIP.format(h=_OPEN_HOUSEHOLD.format(p='x.recipient_person_id'))} AS township
                 FROM {{table}} x WHERE x.id = ANY({{{{}}}})"""
CONCERNS.update({table: _RECIPIENT.format(table=table) for table in ("notice", "notice_delivery", "notice_attempt")})
PERSONAL_TABLES = frozenset(CONCERNS)


@dataclass
class _Exchange:
    method: str
    path: str
    table: str | None
    row: int | None
    request_body: bytearray
    query: str = ""
    status: int = 0
    response_body: bytearray = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.response_body = bytearray()


def _json(data: bytes):
    if not data or len(data) > MAX_BODY:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def _username(scope: Scope) -> tuple[int, str]:
    user = getattr(scope.get("user"), "user", None)
    return getattr(user, "id", 0) or 0, (getattr(user, "username", "") or "")[:64]


def _ip(scope: Scope) -> str:
    client = scope.get("client")
    return (client[0] if client else "")[:64]


async def concerns(table: str, row_ids: list[int]) -> list[dict]:
    """One dict per row found: kind, subject, person, household, township."""
    sql = CONCERNS.get(table)
    if sql is None or not row_ids:
        return []
    return await fetch(sql, row_ids)


def _where(exchange: _Exchange, concern: dict) -> str:
    """``row:person:12`` or ``list:household_membership:12``; a list row naming nobody keeps its query."""
    view = "row" if exchange.row is not None else "list"
    if concern.get("row") is None:
        return f"{view}:{exchange.table}?{exchange.query}"[:55] if exchange.query else f"{view}:{exchange.table}"
    return f"{view}:{exchange.table}:{concern['row']}"[:55]


async def _log_reads(scope: Scope, exchange: _Exchange) -> None:
    if exchange.row is not None:
        row_ids = [exchange.row]
    else:
        page = _json(bytes(exchange.response_body))
        rows = page.get("rows") if isinstance(page, dict) else None
        row_ids = [r["id"] for r in rows or [] if isinstance(r, dict) and isinstance(r.get("id"), int)]
    actor_id, username = _username(scope)
    # A page without ids (filtered to other columns, or empty): the read is still recorded, but it
    # names nobody, so only the table and the query say what was seen.
    found = await concerns(exchange.table, row_ids) or [
        dict(kind=exchange.table[:16], subject=exchange.row or 0, person=None, household=None, township=None,
             row=exchange.row)]
    counties = await _counties([c["township"] for c in found], username)
    await AccessLog.insert(*[
        AccessLog(county_id=counties.get(c["township"], counties[None]), actor_kind="admin_user", actor_id=actor_id, actor_role="county_admin", actor_label=username,
                  subject_kind=str(c["kind"])[:16], subject_id=c["subject"] or 0, person_id=c["person"],
                  household_id=c["household"], township_id=c["township"], fields=["admin_ui"],
                  purpose=f"admin_ui:{_where(exchange, c)}")
        for c in found
    ])


async def _counties(townships: list[int | None], username: str) -> dict[int | None, int]:
    """The county of each township read (the access-log row's shard key), and under ``None`` the
    county of a read that names no township: the admin's own account's county, else (an admin with no
    API account) the database's first county — the back office is one county's (docs/scale-out.md)."""
    ids = sorted({t for t in townships if t is not None})
    out: dict[int | None, int] = {r["id"]: r["county"] for r in await fetch(
        "SELECT id, county FROM township WHERE id = ANY({})", ids)} if ids else {}
    own = await fetch("""SELECT COALESCE((SELECT a.county FROM account a WHERE a.username = {} AND a.county IS NOT NULL),
                                         (SELECT min(id) FROM county), 0) AS county""", username)
    out[None] = own[0]["county"]
    return out


async def _log_write(scope: Scope, exchange: _Exchange, *, error: str = "") -> None:
    _, username = _username(scope)
    body = _json(bytes(exchange.request_body))
    columns = sorted(body) if isinstance(body, dict) else []
    row = exchange.row
    if row is None and exchange.method == "POST":
        created = _json(bytes(exchange.response_body))
        if isinstance(created, list) and created and isinstance(created[0], dict):
            row = created[0].get("id")
    ok = 200 <= exchange.status < 300
    detail = {"table": exchange.table, "row": row, "method": exchange.method, "status": exchange.status,
              "columns": columns}  # column names only: the values may be personal data
    if exchange.row is None and exchange.method == "DELETE":
        detail["query"] = exchange.query[:200]
    if not ok and not error:
        answer = _json(bytes(exchange.response_body))
        error = str(answer.get("db_error") or answer.get("detail") or "") if isinstance(answer, dict) else ""
    if error:
        detail["error"] = error[:300]
    kind = WRITES[exchange.method] if ok else f"{WRITES[exchange.method]}_refused"
    await SecurityEvent.insert(SecurityEvent(kind=kind[:32], principal=username or "admin_user", ip=_ip(scope),
                                             detail=json.dumps(detail, ensure_ascii=False)))


async def _log_login(scope: Scope, exchange: _Exchange) -> None:
    body = _json(bytes(exchange.request_body))
    username = str(body.get("username", ""))[:64] if isinstance(body, dict) else ""
    ok = exchange.status in (200, 303)
    await SecurityEvent.insert(SecurityEvent(kind="admin_login" if ok else "admin_login_failed",
                                             principal=username, ip=_ip(scope),
                                             detail=json.dumps({"status": exchange.status})))


def _refused_body(exc: Exception) -> bytes:
    """Like piccolo-admin's own answer to a refused write (its page shows ``db_error``), plus our code."""
    return json.dumps({
        "db_error": getattr(exc, "message", str(exc)),
        "code": "ADMIN_WRITE_REFUSED",
        "message_zh": "数据库拒绝了该修改（仍有关联记录，或取值不允许），未做任何更改。",
        "message_en": "The database refused this change (rows still refer to it, or the value is not allowed); "
                      "nothing was changed.",
    }, ensure_ascii=False).encode()


class AdminAudit:
    """ASGI wrapper around the piccolo-admin app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"].upper()
        path = scope["path"]
        match = _TABLE_PATH.search(path)
        login = method == "POST" and _LOGIN_PATH.search(path) is not None
        write = match is not None and method in WRITES
        read = match is not None and method == "GET" and match["table"] in PERSONAL_TABLES
        if not (write or read or login):
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(method=method, path=path, table=match["table"] if match else None,
                             row=int(match["row"]) if match and match["row"] else None, request_body=bytearray(),
                             query=scope.get("query_string", b"").decode("latin-1"))
        held: list[Message] = []

        async def receive_and_keep() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(exchange.request_body) <= MAX_BODY:
                exchange.request_body.extend(message.get("body", b""))
            return message

        async def hold(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
            elif message["type"] == "http.response.body" and len(exchange.response_body) <= MAX_BODY:
                exchange.response_body.extend(message.get("body", b""))
            held.append(message)

        try:
            await self.app(scope, receive_and_keep, hold)
        except asyncpg.IntegrityConstraintViolationError as exc:
            # ON DELETE RESTRICT, a CHECK on a value: refused by the database. piccolo-admin answers
            # 422 for single-row writes itself; the bulk delete lets the exception through.
            exchange.status = 422
            if write:
                await _log_write(scope, exchange, error=f"{type(exc).__name__}: {exc}")
            body = _refused_body(exc)
            await send({"type": "http.response.start", "status": 422,
                        "headers": [(b"content-type", b"application/json; charset=utf-8"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        if write:
            await _log_write(scope, exchange)
        elif login:
            await _log_login(scope, exchange)
        elif exchange.status == 200:
            await _log_reads(scope, exchange)
        for message in held:
            await send(message)
