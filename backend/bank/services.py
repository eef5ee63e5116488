"""Banks' products (county admins) and rating pulls (bank clients) with signed attestations.

A pull (``POST /api/v1/bank/rating-pulls``) is answered in this order, and every answer — refused
ones too — is one append-only ``bank_rating_pull`` row and one ``security_event`` row:

1. the client's rate limit (:mod:`backend.bank.limits`; not recorded: nothing was looked at), and
   the request's form — a missing or malformed Idempotency-Key, a malformed ID number (422) are
   not pulls either;
2. the Idempotency-Key: a key seen before with the same request returns the stored answer (same
   attestation, same jti — also after a withdrawal: a replay discloses nothing new and is not
   logged again); with a different request, 409 ``IDEMPOTENCY_KEY_REUSED``. Requests with one key
   are serialised by a lock, and the database keeps one row per (client, key);
3. the product (``PRODUCT_UNKNOWN``) and the purpose it allows (``PURPOSE_NOT_ALLOWED``);
4. the household, by its head's resident ID number through the keyed hash (the number is never
   stored or logged). An unknown number, or a person who heads no household, answers exactly
   like a known household without consent: ``CONSENT_REQUIRED`` — no existence oracle;
5. the consent: ``backend.consent.services.active_consent`` for (household, this bank, purpose,
   the product's scope) now. Without one, the reason the household's latest grant stopped
   counting: ``CONSENT_WITHDRAWN``, ``CONSENT_EXPIRED``, ``CONSENT_NOTICE_OUTDATED`` (a newer
   notice version needs fresh consent), ``CONSENT_SCOPE_INSUFFICIENT``; none at all:
   ``CONSENT_REQUIRED``. Always refused, whatever the product's policy;
6. the rating: only the newest *effective official* household rating
   (``ratings.periods.official_ratings``), never the live standing. *Under objection* when any
   rating of the household in a period ending on or after that one's is disputed or has an open
   objection (a newer period's contested rating holds the older one back too: the bank would
   otherwise be shown a grade the household is contesting the successor of); and likewise while
   an objection against a ledger entry of the household or of a current member is open (issue
   11: ``objections.services.household_has_disputed_entries``). Stale: more than the product's
   ``stale_days`` between the period's end and today;
7. the decision (:func:`points_rules.bank.decide`): rated → 200 with the rating and a signed
   attestation; a failed check → refused (409) if the product blocks, else 200 ``check_failed``
   with no rating data.

What is disclosed is the product's scope: the grade (and the credit-household flag and the
rating's dates), plus the score when the scope includes it. ``grade_score_entries`` is accepted for
a product (a consent for it covers the narrower scopes) but no entries leave the platform in an
attestation yet: banks get grade and score only.

Every answer that tells the bank anything about the household (rated, check_failed) is an
access-log row about the household (``scope.log_reads``, purpose ``bank_pull:<pull id>``), so each
member sees it in their 查询记录 with the bank, product, consent and what was disclosed.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, timedelta
from typing import Any

from piccolo.engine import engine_finder

from backend import clock
from backend.auth import scope, tokens
from backend.auth.roles import Actor, Role
from backend.bank import limits
from backend.bank.schemas import PullIn, PullRecordOut, ProductIn, ProductOut
from backend.consent import keys
from backend.consent import services as consent
from backend.db import fetch
from backend.errors import Conflict, CunxinError, InvalidInput, NotFound, PermissionDenied
from backend.identity import LookupHasher, derive_keys
from backend.identity.idcard import parse_id_number
from backend.notifications import outbox as notices
from backend.ledger import chain
from backend.objections import services as objections
from backend.ratings import periods
from backend.registry import protection
from backend.registry.tables import HEAD
from backend.settings import get_settings
from points_rules import bank as rules
from points_rules.consent import PURPOSES_BY_KIND, DataScope, Purpose, RecipientKind, Status

ATTESTATION_TYP = "rating-attestation+jwt"
ATTESTATION_TTL = timedelta(days=30)  # long enough for a loan decision; the bank keeps it as evidence
SUBJECT_CONTEXT = "bank_attestation.sub"
FINGERPRINT_CONTEXT = "bank_rating_pull.request"
PULL_PURPOSE_PREFIX = "bank_pull:"  # access-log purpose: bank_pull:<pull id>
REVIEW_PURPOSE = "bank_pull_review"
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{8,64}$"

# --- errors (stable codes; the controller documents them) -----------------------------------------

CONSENT_REQUIRED = PermissionDenied("该户未授权本行查询", "No active consent of this household for this bank and "
                                    "purpose", code="CONSENT_REQUIRED")
CONSENT_WITHDRAWN = PermissionDenied("该户已撤回授权", "The household withdrew its consent", code="CONSENT_WITHDRAWN")
CONSENT_EXPIRED = PermissionDenied("该户授权已过期", "The household's consent has expired", code="CONSENT_EXPIRED")
CONSENT_NOTICE_OUTDATED = PermissionDenied("告知书已更新，须重新授权", "A newer notice version was published: fresh "
                                           "consent is needed", code="CONSENT_NOTICE_OUTDATED")
CONSENT_SCOPE_INSUFFICIENT = PermissionDenied("授权范围不足以支持该产品", "The consent does not cover the data this "
                                              "product needs", code="CONSENT_SCOPE_INSUFFICIENT")
RATING_STALE = Conflict("该户最新生效评级已超出产品可接受的期限", "The newest effective rating is older than the "
                        "product accepts", code="RATING_STALE")
RATING_UNDER_OBJECTION = Conflict("该户评级存在未处理的异议", "The household's rating is under objection",
                                  code="RATING_UNDER_OBJECTION")
RATING_NOT_AVAILABLE = Conflict("该户暂无生效的信用评级", "The household has no effective official rating",
                                code="RATING_NOT_AVAILABLE")
PRODUCT_UNKNOWN = InvalidInput("本行没有该产品或已停用", "Unknown or inactive product of this bank",
                               code="PRODUCT_UNKNOWN")
PURPOSE_NOT_ALLOWED = InvalidInput("该产品不接受此用途的查询", "This product does not allow this purpose",
                                   code="PURPOSE_NOT_ALLOWED")
IDEMPOTENCY_KEY_REQUIRED = InvalidInput("请提供 Idempotency-Key 请求头（8–64 位字母、数字或 _.:-）",
                                        "Idempotency-Key header required (8–64 of A-Z a-z 0-9 _ . : -)",
                                        code="IDEMPOTENCY_KEY_REQUIRED")
IDEMPOTENCY_KEY_REUSED = Conflict("该 Idempotency-Key 已用于另一请求", "This Idempotency-Key was used for a different "
                                  "request", code="IDEMPOTENCY_KEY_REUSED")
PRODUCT_EXISTS = Conflict("该银行已有此产品代码", "This bank already has a product with this code",
                          code="BANK_PRODUCT_EXISTS")
RECIPIENT_NOT_BANK = InvalidInput("接收方不是已关联客户端的银行", "The recipient is not a bank with an API client "
                                  "in your county", code="BANK_RECIPIENT_UNKNOWN")

REFUSALS: dict[str, CunxinError] = {e.code: e for e in (
    CONSENT_REQUIRED, CONSENT_WITHDRAWN, CONSENT_EXPIRED, CONSENT_NOTICE_OUTDATED, CONSENT_SCOPE_INSUFFICIENT,
    RATING_STALE, RATING_UNDER_OBJECTION, RATING_NOT_AVAILABLE, PRODUCT_UNKNOWN, PURPOSE_NOT_ALLOWED)}

_STATUS_STATE = {Status.WITHDRAWN: rules.ConsentState.WITHDRAWN, Status.EXPIRED: rules.ConsentState.EXPIRED,
                 Status.SUPERSEDED: rules.ConsentState.SUPERSEDED, Status.ACTIVE: rules.ConsentState.SCOPE_TOO_NARROW}


def _hasher() -> LookupHasher:
    return LookupHasher(derive_keys(get_settings().data_key).lookup_key)


def pseudonym(bank_client_id: int, household_id: int) -> str:
    """The household as one bank knows it: HMAC (server key) of (bank, household) — stable for that
    bank, unlinkable across banks."""
    return _hasher().digest(f"{bank_client_id}:{household_id}", context=SUBJECT_CONTEXT)[:32]


def _fingerprint(bank_client_id: int, data: PullIn, id_number: str) -> str:
    """The request, keyed (an unkeyed hash of an ID number is brute-forced in minutes)."""
    body = json.dumps({"client": bank_client_id, "id": id_number, "product": data.product_code,
                       "purpose": data.purpose.value}, sort_keys=True)
    return _hasher().digest(body, context=FINGERPRINT_CONTEXT)


async def _audit(kind: str, actor: Actor, detail: dict) -> None:
    # A plain INSERT (not the ORM's, which reads the row back): it runs on every pull.
    await fetch("INSERT INTO security_event (at, kind, principal, detail) VALUES ({}, {}, {}, {})",
                clock.now(), kind, actor.label[:64], json.dumps(detail, ensure_ascii=False, default=str))


# --- products -------------------------------------------------------------------------------------


def _county_admin(actor: Actor) -> int:
    if actor.role is not Role.COUNTY_ADMIN or actor.county_id is None:
        raise PermissionDenied()
    return actor.county_id


def _product_out(r: dict) -> ProductOut:
    purposes = r["purposes"] if isinstance(r["purposes"], list) else json.loads(r["purposes"])
    return ProductOut(id=r["id"], recipient_id=r["recipient"], bank_name_zh=r["bank_name_zh"], code=r["code"],
                      name_zh=r["name_zh"], purposes=purposes, data_scope=r["data_scope"],
                      rating_mandatory=r["rating_mandatory"], stale_days=r["stale_days"],
                      failed_check_blocks=r["failed_check_blocks"], active=r["active"], created_at=r["created_at"])


_PRODUCT_SQL = """SELECT p.*, r.name_zh AS bank_name_zh FROM bank_product p
                  JOIN consent_recipient r ON r.id = p.recipient"""


async def list_products(actor: Actor) -> list[ProductOut]:
    """A county admin: every product of the county's banks; a bank client: its own."""
    if actor.role is Role.BANK:
        recipients = await consent.recipients_of_bank_client(actor.id)
        rows = await fetch(_PRODUCT_SQL + " WHERE p.recipient = ANY({}) ORDER BY p.id", recipients)
    else:
        rows = await fetch(_PRODUCT_SQL + " WHERE p.county = {} ORDER BY p.id", _county_admin(actor))
    return [_product_out(r) for r in rows]


async def create_product(actor: Actor, data: ProductIn) -> ProductOut:
    county_id = _county_admin(actor)
    if not set(data.purposes) <= PURPOSES_BY_KIND[RecipientKind.BANK]:
        raise PURPOSE_NOT_ALLOWED
    recipient = await fetch("""SELECT id FROM consent_recipient WHERE id = {} AND county = {} AND kind = 'bank'
                               AND bank_client IS NOT NULL AND active""", data.recipient_id, county_id)
    if not recipient:
        raise RECIPIENT_NOT_BANK
    purposes = sorted({p.value for p in data.purposes})
    async with engine_finder().transaction():
        await fetch("SELECT pg_advisory_xact_lock(hashtext({}))", f"bank_product:{data.recipient_id}")
        if await fetch("SELECT 1 FROM bank_product WHERE recipient = {} AND code = {}", data.recipient_id, data.code):
            raise PRODUCT_EXISTS
        rows = await fetch("""INSERT INTO bank_product (county, recipient, code, name_zh, purposes, data_scope,
                              rating_mandatory, stale_days, failed_check_blocks, active, created_by, created_at)
                              VALUES ({}, {}, {}, {}, {}::jsonb, {}, {}, {}, {}, true, {}, {}) RETURNING id""",
                           county_id, data.recipient_id, data.code, data.name_zh, json.dumps(purposes),
                           data.data_scope.value, data.rating_mandatory, data.stale_days, data.failed_check_blocks,
                           actor.label[:64], clock.now())
        await _audit("bank_product_create", actor, {"id": rows[0]["id"], "recipient": data.recipient_id,
                                                    "code": data.code, "purposes": purposes,
                                                    "data_scope": data.data_scope.value,
                                                    "rating_mandatory": data.rating_mandatory,
                                                    "stale_days": data.stale_days,
                                                    "failed_check_blocks": data.failed_check_blocks})
    return _product_out((await fetch(_PRODUCT_SQL + " WHERE p.id = {}", rows[0]["id"]))[0])


async def deactivate_product(actor: Actor, product_id: int) -> ProductOut:
    """No new pulls for it; its past pulls stay as they were (idempotent)."""
    _county_admin(actor)
    async with engine_finder().transaction():
        rows = await fetch("SELECT * FROM bank_product WHERE id = {} FOR UPDATE", product_id)
        if not rows or not await scope.covers_county(actor, rows[0]["county"]):
            raise NotFound()  # another county's product answers like a missing one
        if rows[0]["active"]:
            await fetch("UPDATE bank_product SET active = false WHERE id = {}", product_id)
            await _audit("bank_product_deactivate", actor, {"id": product_id, "code": rows[0]["code"]})
    return _product_out((await fetch(_PRODUCT_SQL + " WHERE p.id = {}", product_id))[0])


# --- the pull -------------------------------------------------------------------------------------


async def _household_headed_by(id_number: str, county_id: int) -> int | None:
    """The household the person with this ID number heads in the bank's county (a bank client
    serves one county), if exactly one."""
    rows = await fetch("""SELECT m.household FROM person p JOIN household_membership m ON m.person = p.id
                          AND m.county_id = p.county_id AND m.valid_to IS NULL AND m.relation = {}
                          WHERE p.county_id = {} AND p.id_number_hash = {}""",
                       HEAD, county_id, protection.id_number_hash(id_number))
    return rows[0]["household"] if len(rows) == 1 else None


async def _consent_state(household_id: int | None, recipient_id: int, purpose: Purpose, needed: DataScope,
                         now) -> tuple[rules.ConsentState, Any]:
    if household_id is None:
        return rules.ConsentState.NONE, None
    grant = await consent.active_consent((scope.HOUSEHOLD, household_id), recipient_id, purpose, needed, now)
    if grant is not None:
        return rules.ConsentState.ACTIVE, grant
    rows = await fetch("""SELECT * FROM consent_event WHERE subject_kind = {} AND subject_id = {} AND recipient = {}
                          AND purpose = {} AND action = 'grant'""", scope.HOUSEHOLD, household_id, recipient_id,
                       purpose.value)
    if not rows:
        return rules.ConsentState.NONE, None
    # Why the household's newest grant does not count now (the consent slice's own status).
    outs = await consent._outs(rows, now)
    newest = max(outs, key=lambda c: (c.recorded_at, c.id))
    return _STATUS_STATE[newest.status], None


async def _rating(where: scope.Location) -> tuple[dict | None, dict | None, bool]:
    """(the newest effective rating, its period, whether it is held back by an objection)."""
    household_id = where.id
    official = await periods.official_ratings("household", household_id, where.county_id)
    latest = official[0] if official else None
    period = None
    if latest is not None:
        period = {"id": latest["period"], "code": latest["period_code"], "ends_on": latest["period_ends_on"]}
    contested = await fetch(
        """SELECT 1 FROM rating_proposal p JOIN rating_period pe ON pe.id = p.period
           WHERE p.county_id = {} AND p.level = 'household' AND p.subject_id = {} AND pe.ends_on >= {}
             AND (p.status = 'disputed' OR EXISTS (SELECT 1 FROM rating_objection o
                                                    WHERE o.county_id = p.county_id AND o.proposal = p.id
                                                      AND o.status = 'open'))
           LIMIT 1""", where.county_id, household_id, period["ends_on"] if period else date.min)
    # An open objection against an entry of the household or a current member (issue 11, art. 46)
    # holds the answer back too, whatever period the entry falls in: the bank is never shown a
    # rating while anything it rests on is contested.
    return latest, period, bool(contested) or await objections.household_has_disputed_entries(household_id)


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


async def _rated(actor: Actor, pull_id: int, product: dict, purpose: Purpose, where: scope.Location, grant,
                 latest: dict, period: dict, now) -> tuple[dict, dict]:
    household_id = where.id
    scope_ = DataScope(product["data_scope"])
    rating = {
        "grade": latest["grade"], "score": latest["computed_score"] if scope_.includes(DataScope.GRADE_SCORE) else None,
        "is_credit_household": latest["is_credit"], "period_code": period["code"], "as_of": period["ends_on"].isoformat(),
        "catalogue_version": latest["catalogue_version"],
        "approved_on": _iso(clock.local_date(latest["approved_at"]) if latest["approved_at"] else None),
        "publicity_starts_on": _iso(latest["publicity_starts_on"]), "publicity_ends_on": _iso(latest["publicity_ends_on"]),
        "effective_on": _iso(latest["effective_on"]),
    }
    subject = pseudonym(actor.id, household_id)
    claims = {
        "iss": get_settings().jwt_issuer, "aud": actor.label, "iat": int(now.timestamp()),
        "exp": int((now + ATTESTATION_TTL).timestamp()), "jti": uuid.uuid4().hex, "sub": subject,
        "grade": rating["grade"], "credit_household": rating["is_credit_household"],
        "period": rating["period_code"], "as_of": rating["as_of"], "catalogue_version": rating["catalogue_version"],
        "approved_on": rating["approved_on"], "publicity_starts_on": rating["publicity_starts_on"],
        "publicity_ends_on": rating["publicity_ends_on"], "effective_on": rating["effective_on"],
        "consent_id": grant.id, "notice_version": grant.notice_version, "notice_sha256": grant.notice_sha256,
        "product": product["code"], "purpose": purpose.value, "scope": scope_.value, "pull": pull_id,
        "ledger_head": await chain.head(where.county_id),
    }
    if rating["score"] is not None:
        claims["score"] = rating["score"]
    key = await keys.active_key()
    token = tokens.sign_jws(claims, typ=ATTESTATION_TYP, key=key)
    body = {"pull_id": pull_id, "outcome": rules.Outcome.RATED.value, "code": rules.OK, "product_code": product["code"],
            "purpose": purpose.value, "subject": subject, "consent_id": grant.id, "data_scope": scope_.value,
            "rating": rating, "attestation": {"jws": token, "typ": ATTESTATION_TYP, "kid": key.kid, "jti": claims["jti"]},
            "claims": claims}
    return body, claims


def disclosed_fields(outcome: rules.Outcome, scope_: DataScope) -> list[str]:
    """The access-log tokens of what the bank was told: the rating, or (a failed check, refused or
    not) only that the household's rating did not pass the product's check, and why."""
    if outcome is not rules.Outcome.RATED:
        return ["rating_check"]
    return ["grade", "rating"] + (["points"] if scope_.includes(DataScope.GRADE_SCORE) else [])


async def pull(actor: Actor, data: PullIn, idempotency_key: str | None, *, request_id: str = "") -> tuple[int, dict]:
    """Answer one pull: (HTTP status, body) — the stored answer when the key was seen before."""
    if actor.role is not Role.BANK:
        raise PermissionDenied()
    if not idempotency_key or not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, idempotency_key):
        raise IDEMPOTENCY_KEY_REQUIRED
    await limits.admit(actor.id)
    id_number = parse_id_number(data.head_id_number).number  # 422 on a malformed number (not an oracle)
    fingerprint = _fingerprint(actor.id, data, id_number)
    async with engine_finder().transaction():
        await fetch("SELECT pg_advisory_xact_lock(hashtext({}))", f"bank_pull:{actor.id}:{idempotency_key}")
        seen = await fetch("SELECT request_fingerprint, status_code, response FROM bank_rating_pull "
                           "WHERE bank_client = {} AND idempotency_key = {}", actor.id, idempotency_key)
        if seen:
            if seen[0]["request_fingerprint"] != fingerprint:
                raise IDEMPOTENCY_KEY_REUSED
            stored = seen[0]["response"]
            return seen[0]["status_code"], stored if isinstance(stored, dict) else json.loads(stored)
        return await _answer(actor, data, id_number, idempotency_key, fingerprint, request_id)


async def _answer(actor: Actor, data: PullIn, id_number: str, key: str, fingerprint: str,
                  request_id: str) -> tuple[int, dict]:
    now = clock.now()
    today = clock.local_date(now)
    pull_id = (await fetch("SELECT nextval(pg_get_serial_sequence('bank_rating_pull', 'id')) AS id"))[0]["id"]
    row: dict[str, Any] = dict(id=pull_id, county_id=actor.county_id, bank_client=actor.id, recipient_id=None,
                               product_id=None, product_code=data.product_code, purpose=data.purpose.value,
                               idempotency_key=key, request_fingerprint=fingerprint, household_id=None,
                               township_id=None, consent_event_id=None, notice_sha256="", proposal_id=None,
                               data_scope="", jti=None, attestation="", created_at=now)

    recipients = await consent.recipients_of_bank_client(actor.id)
    products = await fetch("SELECT * FROM bank_product WHERE recipient = ANY({}) AND code = {} AND active",
                           recipients, data.product_code)
    product = products[0] if products else None
    decision: rules.Decision
    body: dict
    where = None
    if product is None:
        decision = rules.Decision(rules.Outcome.REFUSED, PRODUCT_UNKNOWN.code)
    else:
        row.update(product_id=product["id"], recipient_id=product["recipient"], data_scope=product["data_scope"])
        allowed = product["purposes"] if isinstance(product["purposes"], list) else json.loads(product["purposes"])
        if data.purpose.value not in allowed:
            decision = rules.Decision(rules.Outcome.REFUSED, PURPOSE_NOT_ALLOWED.code)
        else:
            household_id = await _household_headed_by(id_number, actor.county_id)
            state, grant = await _consent_state(household_id, product["recipient"], data.purpose,
                                                DataScope(product["data_scope"]), now)
            if state is rules.ConsentState.ACTIVE:
                where = await scope.locate(scope.HOUSEHOLD, household_id, county_id=scope.shard_key(actor))
                row.update(household_id=household_id, township_id=where.township_id, consent_event_id=grant.id,
                           notice_sha256=grant.notice_sha256)
                latest, period, contested = await _rating(where)
                rating = rules.rating_state(has_effective=latest is not None,
                                            as_of=period["ends_on"] if period else None, under_objection=contested,
                                            today=today, stale_days=product["stale_days"])
                policy = rules.Policy(rating_mandatory=product["rating_mandatory"], stale_days=product["stale_days"],
                                      failed_check_blocks=product["failed_check_blocks"])
                decision = rules.decide(state, rating, policy)
            else:
                # Refused before the rating is looked at; an unknown household is not recorded as one.
                decision = rules.decide(state, rules.RatingState.NONE, rules.Policy(True, 1, True))

    if decision.outcome is rules.Outcome.RATED:
        body, claims = await _rated(actor, pull_id, product, data.purpose, where, grant, latest, period, now)
        row.update(proposal_id=latest["id"], jti=claims["jti"], attestation=body["attestation"]["jws"])
        status = 200
    elif decision.outcome is rules.Outcome.CHECK_FAILED:
        row.update(proposal_id=latest["id"] if latest else None)
        body = {"pull_id": pull_id, "outcome": decision.outcome.value, "code": decision.code,
                "product_code": product["code"], "purpose": data.purpose.value,
                "subject": pseudonym(actor.id, row["household_id"]), "consent_id": grant.id,
                "data_scope": product["data_scope"], "rating": None, "attestation": None, "claims": None}
        status = 200
    else:
        error = REFUSALS[decision.code]
        body = {**error.to_body(), "details": {"pull_id": pull_id}}
        status = error.status_code

    row.update(outcome=decision.outcome.value, code=decision.code, status_code=status)
    columns = list(row) + ["response"]
    await fetch(f"INSERT INTO bank_rating_pull ({', '.join(columns)}) VALUES "
                f"({', '.join('{}' for _ in row)}, {{}}::jsonb)", *row.values(), json.dumps(body, ensure_ascii=False))
    await _audit("bank_rating_pull", actor, {"pull": pull_id, "product": data.product_code,
                                            "purpose": data.purpose.value, "outcome": decision.outcome.value,
                                            "code": decision.code, "household": row["household_id"],
                                            "consent": row["consent_event_id"], "jti": row["jti"]})
    if where is not None:  # the consent held: whatever the bank was told about the household is logged
        await _log_disclosure(actor, where, disclosed_fields(decision.outcome, DataScope(product["data_scope"])),
                              pull_id, request_id)
        # and the household's head is told (in the pull's transaction): which bank, when, under which consent
        await notices.notify_bank_pull(where.county_id, where.id, pull_id=pull_id, recipient_id=product["recipient"],
                                       consent_id=grant.id, product_code=product["code"], at=now)
    return status, body


async def _log_disclosure(actor: Actor, where: scope.Location, disclosed: list[str], pull_id: int,
                          request_id: str) -> None:
    """The access-log row a household member reads as this pull (purpose ``bank_pull:<pull id>``)."""
    purpose = PULL_PURPOSE_PREFIX + str(pull_id)
    await scope.log_reads(actor, [where], fields=disclosed, purpose=purpose, request_id=request_id)


# --- listing --------------------------------------------------------------------------------------


def _record_out(r: dict, *, with_household: bool) -> PullRecordOut:
    return PullRecordOut(id=r["id"], at=r["created_at"], bank_client_id=r["client_id"], product_code=r["product_code"],
                         purpose=r["purpose"], outcome=r["outcome"], code=r["code"], status_code=r["status_code"],
                         subject=pseudonym(r["bank_client"], r["household_id"]) if r["household_id"] else None,
                         household_id=r["household_id"] if with_household else None,
                         consent_id=r["consent_event_id"], jti=r["jti"])


async def list_pulls(actor: Actor, *, limit: int, offset: int, request_id: str = "") -> list[PullRecordOut]:
    """A bank client: its own pulls (households by its pseudonyms only). A county admin: the pulls
    about households in their jurisdiction (scoped, access-logged); pulls that named no known
    household are in the security-event log."""
    base = """SELECT p.*, c.client_id FROM bank_rating_pull p JOIN bank_client c ON c.id = p.bank_client"""
    if actor.role is Role.BANK:
        rows = await fetch(base + " WHERE p.bank_client = {} ORDER BY p.id DESC LIMIT {} OFFSET {}",
                           actor.id, limit, offset)
        return [_record_out(r, with_household=False) for r in rows]
    if actor.role is not Role.COUNTY_ADMIN:
        raise PermissionDenied()
    condition = scope.household_filter_sql(actor)
    if condition is None:
        raise PermissionDenied()
    sql, args = condition
    rows = await fetch(base + f""" JOIN household h ON h.id = p.household_id JOIN village v ON v.id = h.village
                       JOIN township t ON t.id = v.township WHERE {sql} ORDER BY p.id DESC LIMIT {{}} OFFSET {{}}""",
                       *args, limit, offset)
    located = {}
    for r in rows:
        if r["household_id"] not in located:
            located[r["household_id"]] = await scope.locate(scope.HOUSEHOLD, r["household_id"], county_id=scope.shard_key(actor))
    await scope.log_reads(actor, [w for w in located.values() if w is not None], fields=["bank_pulls"],
                          purpose=REVIEW_PURPOSE, request_id=request_id)
    return [_record_out(r, with_household=True) for r in rows]
