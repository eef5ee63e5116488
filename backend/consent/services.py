"""Consent: recipients and notices (county admins), grants and withdrawals (villagers in the app,
grid workers from signed paper), listings and signed receipts — and :func:`active_consent`, which
any use of a subject's data beyond the law's own (a bank pull, a subsidy list, the honour roll)
must ask first.

Every grant and withdrawal leaves a ``security_event`` row in its own transaction (a write, not a
read: the access log is for reads, which are logged through ``backend.auth.scope`` as everywhere).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from datetime import date, datetime, time, timedelta

from piccolo.engine import engine_finder

from backend import clock
from backend.audit.tables import SecurityEvent
from backend.auth import scope, tokens
from backend.auth.roles import Actor, Role
from backend.consent import keys
from backend.consent.schemas import (
    ConsentOut,
    GrantIn,
    NoticeIn,
    NoticeOut,
    NoticeRef,
    PaperGrantIn,
    ReceiptOut,
    RecipientIn,
    RecipientOut,
)
from backend.consent.tables import APP, GRANT, PAPER, SELF, WITHDRAW, ConsentEvent
from backend.db import fetch
from backend.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.evidence.uses import EVIDENCE_UNKNOWN, unusable
from backend.registry.tables import HEAD
from backend.settings import get_settings
from backend.webhooks import outbox as webhook_outbox
from points_rules import consent as rules
from points_rules.consent import DataScope, Purpose, RecipientKind

RECEIPT_TYP = "consent-receipt+jwt"
READ_FIELDS = ["consents"]


# --- errors -------------------------------------------------------------------------------------


def _stale(current: int | None) -> Conflict:
    return Conflict("告知书已更新，请阅读最新版本后重新确认", "This notice version is no longer current; "
                    "read the current one and consent again", code="CONSENT_NOTICE_STALE",
                    details={"current_notice_id": current})


def _not_head() -> PermissionDenied:
    return PermissionDenied("家庭授权须由户主本人作出", "Only the head of household consents for the household",
                            code="CONSENT_NOT_HEAD")


# --- time ---------------------------------------------------------------------------------------


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=clock.zone())


def _expires_at(expires_on: date) -> datetime:
    """A grant counts through its ``expires_on``: it stops at the next local midnight."""
    return _day_start(expires_on + timedelta(days=1))


def _window(on: date | datetime) -> tuple[datetime, datetime]:
    """An instant, or a whole local day (a consent must cover all of it)."""
    if isinstance(on, datetime):
        if on.tzinfo is None:
            raise ValueError("active_consent needs an aware datetime")
        return on, on
    return _day_start(on), _day_start(on + timedelta(days=1)) - timedelta(microseconds=1)


# --- where the actor is ---------------------------------------------------------------------------


async def _county_of(actor: Actor) -> int:
    """The county an actor works or lives in (structure, not personal data)."""
    if actor.county_id is not None:
        return actor.county_id
    townships = sorted(actor.township_ids | ({actor.township_id} if actor.township_id else set()))
    rows = await fetch("SELECT DISTINCT county FROM township WHERE id = ANY({})", townships) if townships else []
    if len(rows) != 1:
        raise PermissionDenied()
    return rows[0]["county"]


async def head_of(household_id: int) -> int | None:
    """The person who heads the household now (gives its consents, files its objections), or ``None``."""
    rows = await fetch("SELECT person FROM household_membership WHERE household = {} AND valid_to IS NULL "
                       "AND relation = {}", household_id, HEAD)
    return rows[0]["person"] if rows else None


async def speaks_for(actor: Actor, where: scope.Location) -> int | None:
    """The villager's person id when they may act in the app for this subject — the subject
    themself, or the head of the subject's household (for the household or one of its members) —
    else ``None``. One rule for objections, repair applications and commitments."""
    if actor.person_id is None:
        return None
    if where.kind == scope.PERSON and where.person_id == actor.person_id:
        return actor.person_id
    if where.kind in (scope.PERSON, scope.HOUSEHOLD) and where.household_id is not None \
            and await head_of(where.household_id) == actor.person_id:
        return actor.person_id
    return None


# --- recipients and notices -------------------------------------------------------------------------


async def _current_notices(county_id: int) -> dict[tuple[str, str], dict]:
    rows = await fetch("""SELECT DISTINCT ON (recipient_kind, purpose) id, recipient_kind, purpose, version
                          FROM consent_notice WHERE county = {} ORDER BY recipient_kind, purpose, version DESC""",
                       county_id)
    return {(r["recipient_kind"], r["purpose"]): r for r in rows}


async def list_recipients(actor: Actor) -> list[RecipientOut]:
    """Recipients in my county, each with the notice a new consent must be given under."""
    county_id = await _county_of(actor)
    current = await _current_notices(county_id)
    rows = await fetch("SELECT * FROM consent_recipient WHERE county = {} ORDER BY kind, id", county_id)
    out = []
    for r in rows:
        refs = [NoticeRef(notice_id=current[(r["kind"], p.value)]["id"], version=current[(r["kind"], p.value)]["version"],
                          purpose=p)
                for p in sorted(rules.PURPOSES_BY_KIND[RecipientKind(r["kind"])], key=lambda p: p.value)
                if (r["kind"], p.value) in current]
        out.append(RecipientOut(id=r["id"], kind=r["kind"], code=r["code"], name_zh=r["name_zh"],
                                bank_client_id=r["bank_client"], active=r["active"], current_notices=refs))
    return out


async def create_recipient(actor: Actor, data: RecipientIn) -> RecipientOut:
    county_id = await _county_of(actor)
    if data.bank_client_id is not None:
        if data.kind is not RecipientKind.BANK or not await fetch(
                "SELECT 1 FROM bank_client WHERE id = {} AND county = {}", data.bank_client_id, county_id):
            raise InvalidInput("银行客户端不存在或不是银行", "Unknown bank client (or the recipient is not a bank)",
                               code="CONSENT_BANK_CLIENT_UNKNOWN")
    if await fetch("SELECT 1 FROM consent_recipient WHERE county = {} AND kind = {} AND code = {}",
                   county_id, data.kind.value, data.code):
        raise Conflict("该接收方已登记", "This recipient is already registered", code="CONSENT_RECIPIENT_EXISTS")
    rows = await fetch("""INSERT INTO consent_recipient (county, kind, code, name_zh, bank_client, active, created_at)
                          VALUES ({}, {}, {}, {}, {}, true, {}) RETURNING id""",
                       county_id, data.kind.value, data.code, data.name_zh, data.bank_client_id, clock.now())
    return next(r for r in await list_recipients(actor) if r.id == rows[0]["id"])


def _notice_out(row: dict, current_version: int, recipient_name: str | None = None) -> NoticeOut:
    out = NoticeOut(id=row["id"], recipient_kind=row["recipient_kind"], purpose=row["purpose"],
                    version=row["version"], title_zh=row["title_zh"], text_zh=row["text_zh"],
                    text_sha256=row["text_sha256"], consent_days=row["consent_days"], created_at=row["created_at"],
                    current=row["version"] == current_version)
    if recipient_name is not None:
        rendered = rules.render_notice(row["text_zh"], recipient_name_zh=recipient_name)
        out.rendered_zh, out.rendered_sha256 = rendered, sha256_text(rendered)
    return out


def sha256_text(text: str) -> str:
    """SHA-256 of the exact UTF-8 text (hex)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def create_notice(actor: Actor, data: NoticeIn) -> NoticeOut:
    """A new version for (recipient kind, purpose) in my county; it takes effect at once."""
    if data.purpose not in rules.PURPOSES_BY_KIND[data.recipient_kind]:
        raise InvalidInput("该用途不适用于此类接收方", "This purpose does not apply to this kind of recipient",
                           code="CONSENT_PURPOSE_MISMATCH")
    if rules.RECIPIENT_PLACEHOLDER not in data.text_zh:
        raise InvalidInput("告知书须以 {recipient} 写明接收方名称", "The notice must name the recipient as {recipient}",
                           code="CONSENT_NOTICE_NO_RECIPIENT")
    county_id = await _county_of(actor)
    rows = await fetch("""INSERT INTO consent_notice (county, recipient_kind, purpose, version, title_zh, text_zh,
                          text_sha256, consent_days, created_by, created_at)
                          VALUES ({}, {}, {}, 0, {}, {}, '', {}, {}, {}) RETURNING *""",
                       county_id, data.recipient_kind.value, data.purpose.value, data.title_zh, data.text_zh,
                       data.consent_days, actor.label[:64], clock.now())
    return _notice_out(rows[0], rows[0]["version"])


async def get_notice(actor: Actor, notice_id: int, recipient_id: int | None) -> NoticeOut:
    county_id = await _county_of(actor)
    rows = await fetch("SELECT * FROM consent_notice WHERE id = {} AND county = {}", notice_id, county_id)
    if not rows:
        raise NotFound()
    name = None
    if recipient_id is not None:
        recipient = await _recipient(county_id, recipient_id)
        if recipient["kind"] != rows[0]["recipient_kind"]:
            raise NotFound()
        name = recipient["name_zh"]
    current = (await _current_notices(county_id))[(rows[0]["recipient_kind"], rows[0]["purpose"])]
    return _notice_out(rows[0], current["version"], name)


async def list_notices(actor: Actor) -> list[NoticeOut]:
    county_id = await _county_of(actor)
    current = await _current_notices(county_id)
    rows = await fetch("SELECT * FROM consent_notice WHERE county = {} ORDER BY recipient_kind, purpose, version DESC",
                       county_id)
    return [_notice_out(r, current[(r["recipient_kind"], r["purpose"])]["version"]) for r in rows]


async def _recipient(county_id: int, recipient_id: int) -> dict:
    rows = await fetch("SELECT * FROM consent_recipient WHERE id = {} AND county = {} AND active", recipient_id,
                       county_id)
    if not rows:
        raise NotFound("接收方不存在", "Unknown recipient", code="CONSENT_RECIPIENT_UNKNOWN")
    return rows[0]


# --- the decision ---------------------------------------------------------------------------------


def grant_of(row: dict) -> rules.Grant:
    """A stored grant as the pure decision (:mod:`points_rules.consent`) sees it."""
    return rules.Grant(id=row["id"], subject_kind=row["subject_kind"], subject_id=row["subject_id"],
                       recipient_id=row["recipient"], purpose=Purpose(row["purpose"]),
                       scope=DataScope(row["data_scope"]), notice_id=row["notice"],
                       effective_from=row["recorded_at"], expires_at=_expires_at(row["expires_on"]))


async def notices_for(county_id: int, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], list[rules.Notice]]:
    """The county's notice versions per (recipient kind, purpose): a newer one supersedes earlier consents."""
    rows = await fetch("SELECT id, recipient_kind, purpose, version, created_at FROM consent_notice WHERE county = {}",
                       county_id)
    out: dict[tuple[str, str], list[rules.Notice]] = {pair: [] for pair in pairs}
    for r in rows:
        key = (r["recipient_kind"], r["purpose"])
        if key in out:
            out[key].append(rules.Notice(id=r["id"], version=r["version"], published_at=r["created_at"]))
    return out


async def active_consent(subject: tuple[str, int], recipient_id: int, purpose: Purpose | str,
                         scope_needed: DataScope | str, on: date | datetime) -> ConsentEvent | None:
    """The grant under which ``recipient_id`` may use ``subject``'s data for ``purpose`` within
    ``scope_needed`` at ``on`` — or ``None``: then nothing may be shared.

    ``subject`` is ``("household", id)`` (consent given by its head) or ``("person", id)``;
    ``recipient_id`` a ``consent_recipient`` row (a bank's: ``recipients_of_bank_client``). ``on``
    is an aware instant (a pull: ``clock.now()``) or a local date, which the grant must cover
    whole. The grant counts from its ``recorded_at`` until its withdrawal (at once, never
    retroactively), the end of its ``expires_on`` day, or the publication of a newer notice
    version for its recipient kind and purpose, whichever comes first; a wider scope covers a
    narrower one. The decision is :func:`points_rules.consent.active_grant`. No access-log row is
    written here: the caller logs the read it then makes (``scope.log_reads``)."""
    purpose, scope_needed = Purpose(purpose), DataScope(scope_needed)
    start, end = _window(on)
    rows = await fetch("""SELECT * FROM consent_event WHERE subject_kind = {} AND subject_id = {} AND recipient = {}
                          AND purpose = {} AND action = 'grant'""", subject[0], subject[1], recipient_id, purpose.value)
    if not rows:
        return None
    withdrawals = {r["withdraws"]: r["recorded_at"] for r in await fetch(
        "SELECT withdraws, recorded_at FROM consent_event WHERE withdraws = ANY({})", [r["id"] for r in rows])}
    pair = (rows[0]["recipient_kind"], purpose.value)
    notices = (await notices_for(rows[0]["county_id"], {pair}))[pair]
    chosen = rules.active_grant([grant_of(r) for r in rows], notices, withdrawals, subject_kind=subject[0],
                                subject_id=subject[1], recipient_id=recipient_id, purpose=purpose,
                                scope=scope_needed, start=start, end=end)
    if chosen is None:
        return None
    return await ConsentEvent.objects().where(ConsentEvent.id == chosen.id).first()


async def recipients_of_bank_client(bank_client_id: int) -> list[int]:
    """The recipient rows a bank's API client speaks for (its consents are given to these)."""
    rows = await fetch("SELECT id FROM consent_recipient WHERE bank_client = {} AND active ORDER BY id", bank_client_id)
    return [r["id"] for r in rows]


# --- listing --------------------------------------------------------------------------------------


async def _outs(rows: list[dict], at: datetime) -> list[ConsentOut]:
    """Grants with their status at ``at`` and withdrawals, newest first."""
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    withdrawn = {r["withdraws"]: r for r in await fetch(
        "SELECT id, withdraws, recorded_at FROM consent_event WHERE withdraws = ANY({})", ids)}
    by_county: dict[int, set] = {}
    for r in rows:
        by_county.setdefault(r["county_id"], set()).add((r["recipient_kind"], r["purpose"]))
    notices = {c: await notices_for(c, pairs) for c, pairs in by_county.items()}
    out = []
    for r in sorted(rows, key=lambda r: r["id"], reverse=True):
        w = withdrawn.get(r["id"])
        status = None
        if r["action"] == GRANT:
            status = rules.status(grant_of(r), notices[r["county_id"]][(r["recipient_kind"], r["purpose"])],
                                  w["recorded_at"] if w else None, at)
        out.append(ConsentOut(
            id=r["id"], action=r["action"], withdraws=r["withdraws"], status=status, subject_kind=r["subject_kind"],
            subject_id=r["subject_id"], person_id=r["person_id"], recipient_id=r["recipient"],
            recipient_kind=r["recipient_kind"], recipient_name_zh=r["recipient_name_zh"], purpose=r["purpose"],
            data_scope=r["data_scope"], notice_id=r["notice"], notice_version=r["notice_version"],
            notice_sha256=r["notice_sha256"], signed_on=r["signed_on"], recorded_at=r["recorded_at"],
            expires_on=r["expires_on"], channel=r["channel"], capacity=r["capacity"],
            delegate_name=r["delegate_name"], recorded_by_role=r["recorded_by_role"], evidence_id=r["evidence_id"],
            withdrawn_by=w["id"] if w else None, withdrawn_at=w["recorded_at"] if w else None))
    return out


async def list_for_subject(actor: Actor, kind: str, subject_id: int, *, request_id: str = "") -> list[ConsentOut]:
    """Consents about one person or household (scoped and logged)."""
    await scope.authorize_read(actor, kind, subject_id, fields=READ_FIELDS, purpose="consent_view",
                               request_id=request_id)
    rows = await fetch("SELECT * FROM consent_event WHERE subject_kind = {} AND subject_id = {}", kind, subject_id)
    return await _outs(rows, clock.now())


async def my_consents(actor: Actor, *, request_id: str = "") -> list[ConsentOut]:
    """A villager's own consents and their household's."""
    if actor.role is not Role.VILLAGER or actor.person_id is None:
        raise PermissionDenied()
    out = await list_for_subject(actor, scope.PERSON, actor.person_id, request_id=request_id)
    if actor.household_id is not None:
        out += await list_for_subject(actor, scope.HOUSEHOLD, actor.household_id, request_id=request_id)
    return sorted(out, key=lambda c: c.id, reverse=True)


async def list_in_jurisdiction(actor: Actor, *, limit: int, offset: int, request_id: str = "") -> list[ConsentOut]:
    """Consent events about households (and their members) in my jurisdiction, newest first."""
    condition = scope.household_filter_sql(actor)
    if condition is None:
        raise PermissionDenied()
    sql, args = condition
    rows = await fetch(f"""SELECT e.* FROM consent_event e JOIN household h ON h.id = e.household_id
                           JOIN village v ON v.id = h.village JOIN township t ON t.id = v.township
                           WHERE {sql} ORDER BY e.id DESC LIMIT {{}} OFFSET {{}}""", *args, limit, offset)
    await scope.log_reads(actor, [scope.Location(kind=r["subject_kind"], id=r["subject_id"], county_id=r["county_id"],
                                                 township_id=r["township_id"], household_id=r["household_id"],
                                                 person_id=r["person_id"] if r["subject_kind"] == scope.PERSON
                                                 else None) for r in rows],
                          fields=READ_FIELDS, purpose="consent_view", request_id=request_id)
    return await _outs(rows, clock.now())


# --- grant and withdraw ---------------------------------------------------------------------------


async def _audit(kind: str, actor: Actor, event: dict) -> None:
    detail = {k: event[k] for k in ("id", "subject_kind", "subject_id", "recipient", "purpose", "data_scope",
                                     "channel", "capacity", "withdraws", "notice")}
    await SecurityEvent.insert(SecurityEvent(kind=kind, principal=actor.label[:64],
                                             detail=json.dumps(detail, ensure_ascii=False)))


async def _insert(actor: Actor, values: dict) -> dict:
    columns = list(values)
    rows = await fetch(f"INSERT INTO consent_event ({', '.join(columns)}) VALUES "
                       f"({', '.join('{}' for _ in columns)}) RETURNING *", *values.values())
    await _audit("consent_grant" if values["action"] == GRANT else "consent_withdraw", actor, rows[0])
    await webhook_outbox.emit_consent_event(rows[0])  # consent.granted / consent.withdrawn, same transaction
    return rows[0]


async def _prepare_grant(actor: Actor, where: scope.Location, person_id: int, *, recipient_id: int,
                         purpose: Purpose, data_scope: DataScope, notice_id: int, signed_on: date) -> dict:
    """Check recipient, notice and dates; the columns every grant shares."""
    recipient = await _recipient(where.county_id, recipient_id)
    if purpose not in rules.PURPOSES_BY_KIND[RecipientKind(recipient["kind"])]:
        raise InvalidInput("该用途不适用于此接收方", "This purpose does not apply to this recipient",
                           code="CONSENT_PURPOSE_MISMATCH")
    notices = await fetch("SELECT * FROM consent_notice WHERE id = {} AND county = {}", notice_id, where.county_id)
    if not notices or (notices[0]["recipient_kind"], notices[0]["purpose"]) != (recipient["kind"], purpose.value):
        raise InvalidInput("告知书与接收方或用途不符", "The notice is not the one for this recipient and purpose",
                           code="CONSENT_NOTICE_MISMATCH")
    notice = notices[0]
    current = (await _current_notices(where.county_id))[(recipient["kind"], purpose.value)]
    if current["id"] != notice["id"]:
        raise _stale(current["id"])
    today = clock.today()
    if signed_on > today:
        raise InvalidInput("签署日期不能晚于今天", "signed_on is in the future", code="CONSENT_SIGNED_ON_FUTURE")
    if signed_on < clock.local_date(notice["created_at"]):
        raise InvalidInput("签署日期早于该版告知书发布日期", "signed_on is before this notice version existed",
                           code="CONSENT_SIGNED_BEFORE_NOTICE")
    expires_on = signed_on + timedelta(days=notice["consent_days"] - 1)
    if expires_on < today:
        raise InvalidInput("该同意书已过有效期", "This consent has already expired", code="CONSENT_EXPIRED")
    text = rules.render_notice(notice["text_zh"], recipient_name_zh=recipient["name_zh"])
    return dict(action=GRANT, county_id=where.county_id, township_id=where.township_id, subject_kind=where.kind,
                subject_id=where.id, person_id=person_id, household_id=where.household_id, recipient=recipient["id"],
                recipient_kind=recipient["kind"], recipient_name_zh=recipient["name_zh"], purpose=purpose.value,
                data_scope=data_scope.value, notice=notice["id"], notice_version=notice["version"],
                notice_sha256=sha256_text(text), signed_on=signed_on, recorded_at=clock.now(),
                expires_on=expires_on, recorded_by=actor.id, recorded_by_role=actor.role.value)


async def _refuse_duplicate(values: dict) -> None:
    """One active grant per subject, recipient, purpose and scope (a double tap makes no second one)."""
    existing = await fetch("""SELECT * FROM consent_event e WHERE action = 'grant' AND subject_kind = {}
                              AND subject_id = {} AND recipient = {} AND purpose = {} AND data_scope = {}
                              AND NOT EXISTS (SELECT 1 FROM consent_event w WHERE w.withdraws = e.id)""",
                           values["subject_kind"], values["subject_id"], values["recipient"], values["purpose"],
                           values["data_scope"])
    for out in await _outs(existing, clock.now()):
        if out.status is rules.Status.ACTIVE:
            raise Conflict("已有相同的有效授权", "An identical consent is already active",
                           code="CONSENT_ALREADY_ACTIVE", details={"consent_id": out.id})


async def _lock_subject(kind: str, subject_id: int) -> None:
    await fetch("SELECT pg_advisory_xact_lock(hashtext({}))", f"consent:{kind}:{subject_id}")


async def grant_in_app(actor: Actor, data: GrantIn, *, request_id: str = "") -> ConsentOut:
    """A villager consents for themself, or (as its head) for their household."""
    if actor.role is not Role.VILLAGER or actor.person_id is None:
        raise PermissionDenied()
    if data.subject == scope.HOUSEHOLD:
        if actor.household_id is None:
            raise NotFound()
        if await head_of(actor.household_id) != actor.person_id:
            raise _not_head()
        where = await scope.authorize_write(actor, scope.HOUSEHOLD, actor.household_id)
    else:
        where = await scope.authorize_write(actor, scope.PERSON, actor.person_id)
    today = clock.today()
    async with engine_finder().transaction():
        await _lock_subject(where.kind, where.id)
        values = await _prepare_grant(actor, where, actor.person_id, recipient_id=data.recipient_id,
                                      purpose=data.purpose, data_scope=data.data_scope, notice_id=data.notice_id,
                                      signed_on=today)
        if data.notice_sha256 is not None and data.notice_sha256 != values["notice_sha256"]:
            raise Conflict("所示告知书文本与当前版本不一致", "The text shown is not this notice version's text",
                           code="CONSENT_NOTICE_TEXT_MISMATCH")
        await _refuse_duplicate(values)
        row = await _insert(actor, {**values, "channel": APP, "capacity": SELF})
    return (await _outs([row], clock.now()))[0]


async def capture_paper(actor: Actor, kind: str, subject_id: int, data: PaperGrantIn) -> ConsentOut:
    """A grid worker captures a signed paper consent for a person or household in their grids, with
    their own photo of the form. A household's form is the head's."""
    if actor.role is not Role.GRID_WORKER:
        raise PermissionDenied()
    where = await scope.authorize_write(actor, kind, subject_id)
    person_id = where.person_id if kind == scope.PERSON else await head_of(subject_id)
    if person_id is None:
        raise InvalidInput("该户没有户主，无法登记家庭授权", "The household has no head", code="CONSENT_NO_HEAD")
    async with engine_finder().transaction():
        await _lock_subject(where.kind, where.id)
        if await unusable(actor.id, [data.evidence_id]):  # the signed form's photo serves this consent only
            raise EVIDENCE_UNKNOWN.fresh(evidence_ids=[data.evidence_id])
        values = await _prepare_grant(actor, where, person_id, recipient_id=data.recipient_id, purpose=data.purpose,
                                      data_scope=data.data_scope, notice_id=data.notice_id, signed_on=data.signed_on)
        await _refuse_duplicate(values)
        row = await _insert(actor, {**values, "channel": PAPER, "capacity": data.capacity,
                                    "delegate_name": data.delegate_name.strip(), "evidence_id": data.evidence_id})
    return (await _outs([row], clock.now()))[0]


async def withdraw(actor: Actor, grant_id: int) -> ConsentOut:
    """Withdraw a grant (a new event, effective at once, not retroactive): the person it is about,
    or for a household its head."""
    if actor.role is not Role.VILLAGER or actor.person_id is None:
        raise PermissionDenied()
    async with engine_finder().transaction():
        rows = await fetch("SELECT * FROM consent_event WHERE id = {} FOR UPDATE", grant_id)
        if not rows:
            raise NotFound()
        grant = rows[0]
        where = await scope.authorize_write(actor, grant["subject_kind"], grant["subject_id"])
        if grant["subject_kind"] == scope.PERSON and grant["subject_id"] != actor.person_id:
            raise NotFound()  # a family member's own consent is theirs to withdraw
        if grant["subject_kind"] == scope.HOUSEHOLD and await head_of(where.id) != actor.person_id:
            raise _not_head()
        if grant["action"] != GRANT:
            raise InvalidInput("只能撤回授权记录", "Only a grant can be withdrawn", code="CONSENT_NOT_A_GRANT")
        if await fetch("SELECT 1 FROM consent_event WHERE withdraws = {}", grant_id):
            raise Conflict("该授权已撤回", "This consent was already withdrawn", code="CONSENT_ALREADY_WITHDRAWN")
        now = clock.now()
        row = await _insert(actor, dict(
            action=WITHDRAW, withdraws=grant_id, county_id=grant["county_id"], township_id=grant["township_id"],
            subject_kind=grant["subject_kind"], subject_id=grant["subject_id"], person_id=actor.person_id,
            household_id=grant["household_id"], recipient=grant["recipient"], recipient_kind=grant["recipient_kind"],
            recipient_name_zh=grant["recipient_name_zh"], purpose=grant["purpose"], data_scope=grant["data_scope"],
            notice=grant["notice"], notice_version=grant["notice_version"], notice_sha256=grant["notice_sha256"],
            signed_on=clock.local_date(now), recorded_at=now, channel=APP, capacity=SELF, recorded_by=actor.id,
            recorded_by_role=actor.role.value))
    return (await _outs([row], clock.now()))[0]


# --- receipts -------------------------------------------------------------------------------------


def receipt_claims(row: dict, issued_at: datetime) -> dict:
    """What a receipt states (short names: the JWS must fit a QR code). No name or ID number: the
    subject is named by its platform id, the text by its SHA-256.

    iss issuer · iat issued · jti this receipt · evt event id · act grant|withdraw · wdr the grant a
    withdrawal withdraws · sub subject (kind:id) · rcp recipient (kind:code) · pur purpose · scp data
    scope · ntc notice id · ntv its version · nth SHA-256 of the exact text shown · son signed on ·
    rat recorded at (epoch seconds) · cex last day a grant counts · chn channel · cap capacity."""
    claims = {
        "iss": get_settings().jwt_issuer, "iat": int(issued_at.timestamp()), "jti": f"consent:{row['id']}",
        "evt": row["id"], "act": row["action"], "sub": f"{row['subject_kind']}:{row['subject_id']}",
        "rcp": f"{row['recipient_kind']}:{row['recipient_code']}", "pur": row["purpose"], "scp": row["data_scope"],
        "ntc": row["notice"], "ntv": row["notice_version"], "nth": row["notice_sha256"],
        "son": row["signed_on"].isoformat(), "rat": int(row["recorded_at"].timestamp()),
        "chn": row["channel"], "cap": row["capacity"],
    }
    if row["action"] == GRANT:
        claims["cex"] = row["expires_on"].isoformat()
    else:
        claims["wdr"] = row["withdraws"]
    return claims


async def receipt(actor: Actor, event_id: int, *, request_id: str = "") -> ReceiptOut:
    """A signed receipt (ES256 JWS) of one grant or withdrawal, for the people whose scope covers it."""
    rows = await fetch("""SELECT e.*, r.code AS recipient_code FROM consent_event e
                          JOIN consent_recipient r ON r.id = e.recipient WHERE e.id = {}""", event_id)
    if not rows:
        raise NotFound()
    row = rows[0]
    await scope.authorize_read(actor, row["subject_kind"], row["subject_id"], fields=READ_FIELDS,
                               purpose="consent_receipt", request_id=request_id)
    claims = receipt_claims(row, clock.now())
    key = await keys.active_key()
    token = tokens.sign_jws(claims, typ=RECEIPT_TYP, key=key)
    return ReceiptOut(event_id=event_id, jws=token, typ=RECEIPT_TYP, kid=key.kid, bytes=len(token), claims=claims)


def qr_png(text: str) -> bytes:
    """The text as a QR code (error correction M: a phone screen photographed still reads)."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=4, border=4)
    code.add_data(text)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()


async def receipt_png(actor: Actor, event_id: int, *, request_id: str = "") -> bytes:
    signed = await receipt(actor, event_id, request_id=request_id)
    return await asyncio.to_thread(qr_png, signed.jws)
