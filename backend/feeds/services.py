"""Inbound feeds: sources and their keys, signed intake, removals, the matching queue.

How a record becomes an event: each record is checked on its own (``points_rules.feeds``), its
subject matched by the keyed hash of its ID number (``registry.protection.id_number_hash``) or by
its USCC, and then — per chunk of records, in one transaction — its ``feed_record`` row is claimed
(``INSERT … ON CONFLICT (source, record_id) DO NOTHING``: a concurrent double post waits for the
first and finds the claim) and its credit event written through :mod:`backend.feeds.recording`,
which scores it with the ledger's own functions. A crash loses a whole chunk or nothing: what was
not committed was not written and is written by the next post (the sender re-signs with a new
timestamp; the record ids make it idempotent).

Removals go through the ledger's services as a township admin's corrections do: a counted entry
is reversed (``reverse_entry``) and an event still waiting for review is rejected (``decide``),
each with a Chinese reason; nothing is deleted. Turning a court removal into a repair with the
catalogue's replacement entry (JUDGMENT-PERFORMED, −50 kept 2 years) belongs to credit repair
(issue 11 item 2) and can build on the ``feed_record`` rows kept here.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
import logging
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, Iterable

from asyncpg.exceptions import PostgresError
from piccolo.engine import engine_finder
from pydantic import ValidationError

from backend import clock
from backend.auth import scope
from backend.auth.accounts import create_account
from backend.auth.roles import Actor, Role
from backend.auth.tables import Account
from backend.db import fetch
from backend.errors import Conflict, CunxinError, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from backend.feeds import recording
from backend.feeds.schemas import (FeedReportOut, QueueItemOut, RecordResult, ResolvedOut, SourceCredentialsOut,
                                   SourceIn, SourceOut)
from backend.feeds import xlsx
from backend.feeds.tables import (DISMISSED, RECORDED, REMOVAL_DONE, REMOVAL_PENDING, REMOVAL_UNKNOWN, REMOVED,
                                  UNMATCHED, WITHDRAWN, FeedBatch, FeedSource)
from backend.identity import FieldCipher, derive_keys, mask_id_number, mask_uscc, parse_id_number, parse_uscc
from backend.ledger import services as ledger
from backend.ledger.catalogue import catalogues
from backend.ledger.schemas import EventIn
from backend.registry import protection
from backend.schemas import ErrorBody, Page, has_forbidden_character
from backend.settings import get_settings
from points_rules import RuleError
from points_rules import feeds as rules

logger = logging.getLogger("cunxin.feeds")

CHUNK = 250
"""Records written per transaction: large enough that 10,000 records take seconds, small enough
that subject locks are held briefly."""

SIGNATURE_INVALID = NotAuthenticated("签名无效或密钥未知", "Signature invalid or key unknown", code="FEED_SIGNATURE_INVALID")
TIMESTAMP_STALE = NotAuthenticated("请求时间戳超出允许的±5分钟", "Request timestamp outside the allowed ±5 minutes",
                                   code="FEED_TIMESTAMP_STALE")
REPLAYED = Conflict("该签名已使用过（重放）", "This signature was used before (replay)", code="FEED_REPLAYED")
BODY_INVALID = InvalidInput("请求体须为 {\"records\": [...]}，最多10000条", 'Body must be {"records": [...]}, at most 10,000',
                            code="FEED_BODY_INVALID")
MAPPING_INVALID = InvalidInput("映射的目录事项不存在或不能由数据接入登记", "A mapped catalogue item is unknown or not loggable by a feed",
                               code="FEED_MAPPING_INVALID")
SOURCE_EXISTS = Conflict("该数据来源代码已存在", "A source with that code exists", code="FEED_SOURCE_EXISTS")
QUEUE_DONE = Conflict("该待匹配记录已处理", "This queue item was already resolved or dismissed", code="FEED_QUEUE_DONE")
SUBJECT_KIND_MISMATCH = InvalidInput("匹配对象类型与记录不符（身份证号对应个人，统一社会信用代码对应组织）",
                                     "Subject kind does not match the record (ID number → person, USCC → organisation)",
                                     code="FEED_SUBJECT_KIND_MISMATCH")

_SECRET_CONTEXT = "feed_source.secret"


@lru_cache(maxsize=1)
def _cipher() -> FieldCipher:
    return FieldCipher({"k1": derive_keys(get_settings().data_key).encryption_key}, "k1")


def _require_county_admin(actor: Actor) -> int:
    if actor.role is not Role.COUNTY_ADMIN or actor.county_id is None:
        raise PermissionDenied()
    return actor.county_id


def _source_out(row: dict) -> SourceOut:
    mapping = row["mapping"]
    if isinstance(mapping, str):
        mapping = json.loads(mapping)
    return SourceOut(id=row["id"], code=row["code"], name=row["name"], kind=row["kind"], county_id=row["county"],
                     mapping=mapping, key_id=row["key_id"], active=row["active"], created_at=row["created_at"],
                     rotated_at=row["rotated_at"])


def _check_mapping(mapping: dict[str, dict], county_id: int) -> None:
    """Every mapped item exists today in the county's catalogue and a county admin may log it (a feed
    records as the county)."""
    version = catalogues(county_id).version_on(clock.today())
    for record_type, target in mapping.items():
        try:
            item = version.item(target["item_code"])
        except RuleError:
            raise InvalidInput(MAPPING_INVALID.message_zh, MAPPING_INVALID.message_en, code=MAPPING_INVALID.code,
                               details={"type": record_type, "item_code": target["item_code"]}) from None
        if Role.COUNTY_ADMIN.value not in item.logged_by or not ({"person", "organisation"} & set(item.subject_kinds)):
            raise InvalidInput(MAPPING_INVALID.message_zh, MAPPING_INVALID.message_en, code=MAPPING_INVALID.code,
                               details={"type": record_type, "item_code": target["item_code"]})


def _new_key() -> tuple[str, str]:
    return f"fk_{secrets.token_hex(8)}", secrets.token_urlsafe(32)


async def create_source(actor: Actor, data: SourceIn) -> SourceCredentialsOut:
    """Register a source of my county: its recorder account (inactive: it cannot log in) and a key."""
    county_id = _require_county_admin(actor)
    mapping = {k: v.model_dump() for k, v in data.mapping.items()}
    _check_mapping(mapping, county_id)
    if await FeedSource.exists().where(FeedSource.code == data.code):
        raise SOURCE_EXISTS
    county_code = (await fetch("SELECT code FROM county WHERE id = {}", county_id))[0]["code"]
    account_id = await create_account(f"feed-{data.code}", secrets.token_urlsafe(24) + "aA1!", Role.COUNTY_ADMIN,
                                      county_code=county_code, display_name=data.name[:64])
    await Account.update({Account.active: False}).where(Account.id == account_id)
    key_id, secret = _new_key()
    row = (await FeedSource.insert(FeedSource(
        county=county_id, code=data.code, name=data.name, kind=data.kind, mapping=mapping, key_id=key_id,
        secret_cipher=_cipher().encrypt(secret, context=_SECRET_CONTEXT), account=account_id, created_by=actor.id,
    )).returning(*FeedSource.all_columns()))[0]
    return SourceCredentialsOut(**_source_out(row).model_dump(), secret=secret)


async def _own_source(actor: Actor, source_id: int) -> dict:
    rows = await fetch("SELECT * FROM feed_source WHERE id = {}", source_id)
    if not rows or not await scope.covers_county(actor, rows[0]["county"]):
        raise NotFound()
    return rows[0]


async def rotate_key(actor: Actor, source_id: int) -> SourceCredentialsOut:
    """A new key id and secret at once; the old key stops working at once."""
    _require_county_admin(actor)
    await _own_source(actor, source_id)
    key_id, secret = _new_key()
    row = (await fetch(
        "UPDATE feed_source SET key_id = {}, secret_cipher = {}, rotated_at = {} WHERE id = {} RETURNING *",
        key_id, _cipher().encrypt(secret, context=_SECRET_CONTEXT), clock.now(), source_id))[0]
    return SourceCredentialsOut(**_source_out(row).model_dump(), secret=secret)


async def list_sources(actor: Actor) -> list[SourceOut]:
    county_id = _require_county_admin(actor)
    return [_source_out(r) for r in await fetch("SELECT * FROM feed_source WHERE county = {} ORDER BY id", county_id)]


# --- intake ---------------------------------------------------------------------------------

async def authenticate(source_code: str, key_id: str, timestamp: str, signature: str, body: bytes) -> tuple[dict, str]:
    """The source a signed request comes from and the signature that matched — or 401 with
    nothing written. The signature is checked first (an unknown source, key or signature all
    answer the same), then the timestamp; then the caller checks the body and claims the
    signature (:func:`claim_signature`, in PostgreSQL: replays are refused whether or not Redis is up)."""
    rows = await fetch("SELECT * FROM feed_source WHERE code = {} AND active", source_code[:32])
    if not rows or not key_id or not secrets.compare_digest(rows[0]["key_id"].encode(), key_id.encode()[:64]):
        raise SIGNATURE_INVALID
    source = rows[0]
    secret = _cipher().decrypt(source["secret_cipher"], context=_SECRET_CONTEXT)
    used = rules.valid_signature(secret, timestamp, body, signature) if timestamp.isascii() else None
    if used is None:
        raise SIGNATURE_INVALID
    if not rules.timestamp_fresh(timestamp, int(clock.now().timestamp())):
        raise TIMESTAMP_STALE
    return source, used


async def claim_signature(source: dict, used: str) -> int:
    """The replay store: the batch row naming the signature, or 409 ``FEED_REPLAYED``."""
    claimed = await fetch(
        """INSERT INTO feed_batch (source, county_id, channel, signature, received_at, record_count, counts)
           VALUES ({}, {}, 'api', {}, {}, 0, '{{}}') ON CONFLICT (signature) DO NOTHING RETURNING id""",
        source["id"], source["county"], used, clock.now())
    if not claimed:
        raise REPLAYED
    return claimed[0]["id"]


def parse_body(body: bytes) -> list[Any]:
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BODY_INVALID from None
    if (not isinstance(parsed, dict) or set(parsed) != {"records"} or not isinstance(parsed["records"], list)
            or len(parsed["records"]) > rules.MAX_RECORDS):
        raise BODY_INVALID
    return parsed["records"]


def feed_actor(source: dict) -> Actor:
    """The source as the ledger sees it: its own (inactive) account, a county admin of its county."""
    return Actor(kind="account", id=source["account"], role=Role.COUNTY_ADMIN, label=f"feed-{source['code']}",
                 sid="", county_id=source["county"])


def _mappings(source: dict) -> dict[str, rules.Mapping]:
    mapping = source["mapping"]
    if isinstance(mapping, str):
        mapping = json.loads(mapping)
    return {k: rules.Mapping(v["item_code"], v.get("level")) for k, v in mapping.items()}


def _normalise_id(raw: str) -> str | None:
    try:
        return parse_id_number(raw).number
    except CunxinError:
        return None


def _normalise_uscc(raw: str) -> str | None:
    try:
        return parse_uscc(raw)
    except CunxinError:
        return None


def _error(code: str, zh: str, en: str, details: Any = None) -> ErrorBody:
    return ErrorBody(code=code, message_zh=zh, message_en=en, details=details or {})


def event_key(source_id: int, record_id: str) -> str:
    """The ledger idempotency key of a record's event (recorded under the source's account)."""
    return f"feed-{source_id}-{hashlib.sha256(record_id.encode()).hexdigest()[:40]}"


def _event_in(source: dict, add: rules.Addition, subject_id: int) -> EventIn:
    note = f"{source['name']}推送记录 {add.record_id}" + (f"：{add.note}" if add.note else "")
    return EventIn(idempotency_key=event_key(source["id"], add.record_id), item_code=add.item_code,
                   subject_kind=add.subject_kind, subject_id=subject_id, occurred_on=add.occurred_on,
                   quantity=add.quantity, level=add.level, note=note[:500])


def _masked(add: rules.Addition) -> str:
    return mask_id_number(add.identifier) if add.subject_kind == "person" else mask_uscc(add.identifier)


def _identifier_hash(add: rules.Addition) -> str:
    if add.subject_kind == "person":
        return protection.id_number_hash(add.identifier)
    return hashlib.sha256(add.identifier.encode()).hexdigest()


@dataclass
class _Planned:
    index: int
    add: rules.Addition
    where: scope.Location | None
    data: EventIn | None


async def _match(adds: list[rules.Addition], actor: Actor, holder: Actor | None) -> dict[str, scope.Location]:
    """identifier → where its subject sits, for the subjects this feed (and the uploader) covers."""
    persons = [a.identifier for a in adds if a.subject_kind == "person"]
    orgs = [a.identifier for a in adds if a.subject_kind == "organisation"]
    ids: dict[str, tuple[str, int]] = {}
    if persons:
        by_hash = {protection.id_number_hash(n): n for n in set(persons)}
        for r in await fetch("SELECT id, id_number_hash FROM person WHERE id_number_hash = ANY({})", list(by_hash)):
            ids[by_hash[r["id_number_hash"]]] = ("person", r["id"])
    if orgs:
        for r in await fetch("SELECT id, uscc FROM organisation WHERE uscc = ANY({})", sorted(set(orgs))):
            ids[r["uscc"]] = ("organisation", r["id"])
    found: dict[str, scope.Location] = {}
    for identifier, (kind, subject_id) in ids.items():
        where = await scope.locate(kind, subject_id)
        if where is None or not scope.covers(actor, where) or (holder is not None and not scope.covers(holder, where)):
            continue  # outside the source's county (or the uploader's township): treated as unknown here
        found[identifier] = where
    return found


async def _townships(county_id: int, adds: Iterable[rules.Addition]) -> dict[str, int]:
    codes = sorted({c for c in (rules.township_code_of(a.region_code) for a in adds) if c})
    if not codes:
        return {}
    return {r["code"]: r["id"] for r in await fetch("SELECT id, code FROM township WHERE county = {} AND code = ANY({})",
                                                  county_id, codes)}


async def ingest(source: dict, batch_id: int, raw_records: list[Any], *, holder: Actor | None = None,
                 today: date | None = None) -> FeedReportOut:
    """Every record of a batch, each with its own outcome, in the order sent. ``holder``: the
    township admin uploading a file (their township holds what cannot be matched, and only
    subjects of their township are matched)."""
    today = today or clock.today()
    actor = feed_actor(source)
    results: list[RecordResult | None] = [None] * len(raw_records)
    parsed: list[tuple[int, rules.Addition | rules.Removal]] = []
    seen: dict[str, str] = {}
    mappings = _mappings(source)
    for i, raw in enumerate(raw_records):
        if has_forbidden_character(raw):
            rid = raw.get("record_id") if isinstance(raw, dict) else ""
            results[i] = RecordResult(record_id=rid if isinstance(rid, str) and not has_forbidden_character(rid) else "",
                                      outcome=rules.INVALID,
                                      error=_error("INPUT_CONTROL_CHARACTER", "记录含有不允许的控制字符",
                                                   "Record contains a control character"))
            continue
        p = rules.parse_record(raw, mappings, today, normalise_id=_normalise_id, normalise_uscc=_normalise_uscc)
        if isinstance(p, rules.Invalid):
            results[i] = RecordResult(record_id=p.record_id, outcome=rules.INVALID,
                                      error=_error(p.code, p.message_zh, p.message_en))
            continue
        if p.record_id in seen:  # twice in one batch: once, like twice in two batches
            outcome, code = rules.outcome_for_addition(previous_digest=seen[p.record_id], digest=p.digest, matched=True)
            results[i] = RecordResult(record_id=p.record_id, outcome=outcome,
                                      error=_reused() if code else None)
            continue
        seen[p.record_id] = p.digest
        parsed.append((i, p))
    previous = {r["record_id"]: r for r in await fetch(
        "SELECT id, record_id, digest, status, event FROM feed_record WHERE source = {} AND record_id = ANY({})",
        source["id"], [p.record_id for _, p in parsed])} if parsed else {}
    adds: list[tuple[int, rules.Addition]] = []
    removals: list[tuple[int, rules.Removal]] = []
    for i, p in parsed:
        before = previous.get(p.record_id)
        if before is not None and not (isinstance(p, rules.Removal) and before["status"] == REMOVAL_PENDING
                                       and before["digest"] == p.digest):
            outcome, code = rules.outcome_for_addition(previous_digest=before["digest"], digest=p.digest, matched=True)
            results[i] = RecordResult(record_id=p.record_id, outcome=outcome, event_id=before["event"],
                                      error=_reused() if code else None)
        elif isinstance(p, rules.Addition):
            adds.append((i, p))
        else:
            removals.append((i, p))
    located = await _match([a for _, a in adds], actor, holder)
    townships = await _townships(source["county"], (a for _, a in adds))
    planned: list[_Planned] = []
    for i, add in adds:
        where = located.get(add.identifier)
        data = None
        if where is not None:
            try:
                data = _event_in(source, add, where.id)
                recording.validate(data, today)
            except ValidationError as exc:  # e.g. a quantity with more than two decimals
                results[i] = RecordResult(record_id=add.record_id, outcome=rules.INVALID, error=_error(
                    "FEED_RECORD_INVALID", "记录不合法", "Record is invalid",
                    [{"message": e["msg"], "key": ".".join(str(p) for p in e["loc"])}
                     for e in exc.errors(include_url=False, include_input=False)]))
                continue
            except CunxinError as exc:
                results[i] = RecordResult(record_id=add.record_id, outcome=rules.INVALID, error=ErrorBody(**exc.to_body()))
                continue
        planned.append(_Planned(i, add, where, data))
    holder_township = holder.township_id if holder is not None and holder.role is Role.TOWNSHIP_ADMIN else None
    changed: set[tuple[str, int]] = set()
    for start in range(0, len(planned), CHUNK):
        chunk = planned[start:start + CHUNK]
        try:
            outcomes = await _write_chunk(source, batch_id, actor, chunk, townships, holder_township, today, changed)
        except (PostgresError, CunxinError):
            # The database (or the scoring of a counted event) refused something in this chunk,
            # rolled back whole: each record again on its own, so one that cannot be written is
            # reported and the others are written.
            outcomes = [await _write_one(source, batch_id, actor, p, townships, holder_township, today, changed)
                        for p in chunk]
        for p, result in zip(chunk, outcomes):
            results[p.index] = result
    for kind, subject_id in sorted(changed):
        await ledger.ledger_changed(kind, subject_id)
    for i, removal in removals:
        try:
            results[i] = await _remove(source, batch_id, actor, removal)
        except (CunxinError, PostgresError) as exc:
            # e.g. the subject has left the county since: the removal stays pending, and is
            # applied by the next post of it once the obstacle is gone
            body = exc.to_body() if isinstance(exc, CunxinError) else {"code": "FEED_NOT_WRITTEN", "details": {}}
            results[i] = RecordResult(record_id=removal.record_id, outcome=rules.NOT_WRITTEN, error=_error(
                "FEED_NOT_WRITTEN", "该移出记录未能执行，可重新推送", "This removal was not applied; post it again",
                {"cause": body["code"]}))
    done = [r for r in results if r is not None]
    counts = {k: sum(r.outcome == k for r in done) for k in (rules.RECORDED, rules.DUPLICATE, rules.UNMATCHED,
                                                             rules.INVALID, rules.REMOVED, rules.REMOVAL_UNKNOWN,
                                                             rules.NOT_WRITTEN)}
    await FeedBatch.update({FeedBatch.record_count: len(done), FeedBatch.counts: counts}).where(FeedBatch.id == batch_id)
    return FeedReportOut(batch_id=batch_id, received=len(done), results=done, **counts)


def _reused() -> ErrorBody:
    return _error("FEED_RECORD_ID_REUSED", "该记录编号已用于另一条不同的记录", "This record id was used for a different record")


_CLAIM_COLUMNS = ("source", "county_id", "township_id", "batch", "record_id", "action", "record_type", "item_code",
                  "status", "digest", "subject_kind", "subject_id", "identifier_hash", "identifier_masked", "name",
                  "details", "removes", "resolution_reason", "created_at")


async def _claim_many(source: dict, batch_id: int, claims: list[dict]) -> dict[str, int]:
    """The once-per-(source, record id) rows, in one statement: record id → row id for those this
    call claimed; a record id another post holds already is absent (a concurrent post waits here
    for the other transaction, then finds its claim)."""
    if not claims:
        return {}
    now = clock.now()
    values, args = [], []
    for c in claims:
        row = {"source": source["id"], "county_id": source["county"], "batch": batch_id, "resolution_reason": "",
               "created_at": now, "township_id": None, "record_type": "", "item_code": "", "subject_kind": "",
               "subject_id": None, "identifier_hash": "", "identifier_masked": "", "name": "", "removes": None, **c}
        row["details"] = json.dumps(row.get("details") or {}, ensure_ascii=False)
        values.append("(" + ", ".join("{}" for _ in _CLAIM_COLUMNS) + ")")
        args.extend(row[name] for name in _CLAIM_COLUMNS)
    rows = await fetch(
        f"""INSERT INTO feed_record ({', '.join(_CLAIM_COLUMNS)}) VALUES {', '.join(values)}
            ON CONFLICT (source, record_id) DO NOTHING RETURNING id, record_id""", *args)
    return {r["record_id"]: r["id"] for r in rows}


async def _claim(source: dict, batch_id: int, **claim) -> int | None:
    return (await _claim_many(source, batch_id, [claim])).get(claim["record_id"])


def _details(add: rules.Addition) -> dict:
    return {"occurred_on": add.occurred_on.isoformat(), "level": add.level,
            "quantity": None if add.quantity is None else format(add.quantity, "f"), "region_code": add.region_code,
            "note": add.note}


async def _write_chunk(source: dict, batch_id: int, actor: Actor, chunk: list[_Planned], townships: dict[str, int],
                       holder_township: int | None, today: date, changed: set) -> list[RecordResult]:
    """One transaction: the chunk's subjects locked in one order (before the chain lock any
    rescoring takes), every record claimed in one statement, the events of the claimed matched
    records inserted in one statement, and the claims pointed at their events."""
    claims = []
    for p in chunk:
        add = p.add
        claim = {"record_id": add.record_id, "action": rules.ADD, "digest": add.digest, "record_type": add.record_type,
                 "item_code": add.item_code, "identifier_hash": _identifier_hash(add), "identifier_masked": _masked(add),
                 "name": add.name, "details": _details(add)}
        if p.where is None:
            claim.update(status=UNMATCHED, subject_kind=add.subject_kind,
                         township_id=holder_township or townships.get(rules.township_code_of(add.region_code) or ""))
        else:
            claim.update(status=RECORDED, subject_kind=p.where.kind, subject_id=p.where.id,
                         township_id=p.where.township_id)
        claims.append(claim)
    async with engine_finder().transaction():
        await recording.lock_subjects([(p.where.kind, p.where.id) for p in chunk if p.where is not None])
        claimed = await _claim_many(source, batch_id, claims)
        to_record = [p for p in chunk if p.where is not None and p.add.record_id in claimed]
        events = await recording.insert_events(actor, [(p.data, p.where) for p in to_record], today)
        event_of = {p.add.record_id: event_id for p, (event_id, _) in zip(to_record, events)}
        if to_record:
            await fetch("""UPDATE feed_record r SET event = v.event
                           FROM unnest({}::bigint[], {}::bigint[]) AS v(id, event) WHERE r.id = v.id""",
                        [claimed[p.add.record_id] for p in to_record], [event_of[p.add.record_id] for p in to_record])
        for p, (_, counted) in zip(to_record, events):
            if counted:
                changed.add((p.where.kind, p.where.id))
    out = []
    for p in chunk:
        rid = p.add.record_id
        if rid not in claimed:
            out.append(RecordResult(record_id=rid, outcome=rules.DUPLICATE))
        elif p.where is None:
            out.append(RecordResult(record_id=rid, outcome=rules.UNMATCHED, queue_id=claimed[rid]))
        else:
            out.append(RecordResult(record_id=rid, outcome=rules.RECORDED, event_id=event_of[rid]))
    return out


async def _write_one(source: dict, batch_id: int, actor: Actor, planned: _Planned, townships: dict[str, int],
                     holder_township: int | None, today: date, changed: set) -> RecordResult:
    try:
        return (await _write_chunk(source, batch_id, actor, [planned], townships, holder_township, today, changed))[0]
    except CunxinError as exc:
        return RecordResult(record_id=planned.add.record_id, outcome=rules.INVALID, error=ErrorBody(**exc.to_body()))
    except PostgresError as exc:
        return RecordResult(record_id=planned.add.record_id, outcome=rules.NOT_WRITTEN,
                            error=_error("FEED_NOT_WRITTEN", "该记录未能写入（数据库拒绝），可重新推送",
                                         "This record was not written (refused by the database); post it again",
                                         {"sqlstate": getattr(exc, "sqlstate", "")}))


async def _remove(source: dict, batch_id: int, actor: Actor, removal: rules.Removal) -> RecordResult:
    """Apply one removal: claim it (``removal_pending``), act through the ledger's services, then
    mark it done — a crash in between leaves it pending, and the next post of it finishes the work."""
    original = await fetch("SELECT * FROM feed_record WHERE source = {} AND record_id = {} AND action = 'add'",
                           source["id"], removal.removes)
    target = original[0] if original else None
    claim = await _claim(source, batch_id, record_id=removal.record_id, action=rules.REMOVE, status=REMOVAL_PENDING,
                         digest=removal.digest, removes=target["id"] if target else None,
                         township_id=target["township_id"] if target else None,
                         details={"removes": removal.removes, "note": removal.note,
                                  "occurred_on": removal.occurred_on.isoformat() if removal.occurred_on else None})
    if claim is None:
        pending = await fetch("SELECT id, status FROM feed_record WHERE source = {} AND record_id = {}", source["id"],
                              removal.record_id)
        if pending[0]["status"] != REMOVAL_PENDING:
            return RecordResult(record_id=removal.record_id, outcome=rules.DUPLICATE)
        claim = pending[0]["id"]
    event = None
    if target is not None and target["event"] is not None:
        event = (await fetch("SELECT id, status FROM credit_event WHERE id = {}", target["event"]))[0]
    effect = rules.removal_effect(target["status"] if target else None, event["status"] if event else None)
    if effect == "unknown":
        await fetch("UPDATE feed_record SET status = {} WHERE id = {}", REMOVAL_UNKNOWN, claim)
        return RecordResult(record_id=removal.record_id, outcome=rules.REMOVAL_UNKNOWN,
                            error=_error("FEED_REMOVAL_UNKNOWN", "被移出的原记录不存在（本来源从未推送该编号）",
                                         "The record this removal names was never received from this source",
                                         {"removes": removal.removes}))
    reason = f"{source['name']}已将记录 {removal.removes} 移出名单（移出记录 {removal.record_id}）" + (
        f"：{removal.note}" if removal.note else "")
    if effect == "withdraw":
        try:
            await ledger.decide(actor, event["id"], approve=False, reason=reason)
        except Conflict:  # decided meanwhile by the township: act on what it is now
            return await _remove_again(source, batch_id, actor, removal)
    elif effect == "reverse" and await _repair_by_removal(actor, event["id"], reason, claim, removal):
        pass  # repaired: the catalogue says a removal by this list repairs the item (信用修复, replacement kept)
    elif effect == "reverse":
        entry = await fetch(
            """SELECT e.id FROM ledger_entry e WHERE e.event = {} AND e.reverses_entry IS NULL
               AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.reverses_entry = e.id) ORDER BY e.id DESC LIMIT 1""",
            event["id"])
        if entry:
            try:
                await ledger.reverse_entry(actor, entry[0]["id"], reason)
            except Conflict:  # reversed meanwhile (a concurrent post, the sweep): act on what it is now
                return await _remove_again(source, batch_id, actor, removal)
    new_status = WITHDRAWN if effect == "release" else REMOVED if effect in ("withdraw", "reverse") else None
    async with engine_finder().transaction():
        if new_status is not None:
            await fetch("UPDATE feed_record SET status = {}, resolution_reason = {}, resolved_at = {} WHERE id = {}",
                        new_status, reason, clock.now(), target["id"])
        await fetch("UPDATE feed_record SET status = {} WHERE id = {}", REMOVAL_DONE, claim)
    return RecordResult(record_id=removal.record_id, outcome=rules.REMOVED, event_id=target["event"])


async def _repair_by_removal(actor: Actor, event_id: int, reason: str, claim: int, removal: rules.Removal) -> bool:
    """A removal repairs the entry when its item is repaired by ``source_removal`` (the court's list:
    JUDGMENT-DEFAULTER → JUDGMENT-PERFORMED from the removal's date); False: reverse it instead."""
    from backend.repair.services import repair_from_source  # the repair slice builds on the ledger, as feeds do

    try:
        done = await repair_from_source(actor, event_id, reason_zh=reason, removal_key=f"feed-removal:{claim}",
                                        occurred_on=removal.occurred_on)
    except Conflict:  # no longer counting (repaired or reversed meanwhile): nothing left to do
        return True
    return done is not False


async def _remove_again(source: dict, batch_id: int, actor: Actor, removal: rules.Removal) -> RecordResult:
    return await _remove(source, batch_id, actor, removal)


async def finish_pending_removals(older_than: timedelta = timedelta(minutes=5)) -> int:
    """The worker's sweep: removals claimed but never finished (the process died between the
    claim and the ledger's correction) are applied now, without waiting for the source to post
    them again. Safe to run beside a post of the same removal: each step re-reads what is done."""
    rows = await fetch("SELECT * FROM feed_record WHERE status = {} AND created_at < {} ORDER BY id",
                       REMOVAL_PENDING, clock.now() - older_than)
    finished = 0
    for row in rows:
        source = (await fetch("SELECT * FROM feed_source WHERE id = {}", row["source"]))[0]
        details = row["details"] if isinstance(row["details"], dict) else json.loads(row["details"])
        removal = rules.Removal(record_id=row["record_id"], removes=details.get("removes") or "",
                                occurred_on=date.fromisoformat(details["occurred_on"]) if details.get("occurred_on") else None,
                                note=details.get("note") or "", digest=row["digest"])
        try:
            await _remove(source, row["batch"], feed_actor(source), removal)
            finished += 1
        except (CunxinError, PostgresError) as exc:
            logger.warning("feed removal %s of source %s still pending: %r", row["record_id"], source["code"], exc)
    return finished


# --- Excel uploads -------------------------------------------------------------------------

async def upload(actor: Actor, source_id: int, content: bytes) -> FeedReportOut:
    """An office's .xlsx file of the same records (county admins of the source's county, or
    township admins of that county for their own township). The file is read only once the
    caller may use the source: another county's source answers 404 whatever the file holds."""
    if actor.role not in (Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN):
        raise PermissionDenied()
    source = await _own_source(actor, source_id)
    if not source["active"]:
        raise NotFound()
    records = xlsx.read_records(content)
    if len(records) > rules.MAX_RECORDS:
        raise BODY_INVALID
    batch_id = (await FeedBatch.insert(FeedBatch(source=source["id"], county_id=source["county"], channel="xlsx",
                                                 uploaded_by=actor.id)).returning(FeedBatch.id))[0]["id"]
    return await ingest(source, batch_id, records, holder=actor if actor.role is Role.TOWNSHIP_ADMIN else None)


# --- the matching queue ----------------------------------------------------------------------

def _holding_place(row: dict) -> scope.Location:
    """Where a queue item is held, as the scope module sees places: its township, or the county
    (township 0: only the county's admins cover it)."""
    return scope.Location(kind=scope.TOWNSHIP, id=row["township_id"] or 0, county_id=row["county_id"],
                          township_id=row["township_id"] or 0)


async def queue(actor: Actor, *, status: str, limit: int, offset: int) -> Page[QueueItemOut]:
    """Records waiting to be matched in my jurisdiction (township admins: held by their township;
    county admins: the county's, those held by the county itself included)."""
    if actor.role is Role.TOWNSHIP_ADMIN and actor.township_id is not None:
        condition, args = "r.township_id = {}", [actor.township_id]
    elif actor.role is Role.COUNTY_ADMIN and actor.county_id is not None:
        condition, args = "r.county_id = {}", [actor.county_id]
    else:
        raise PermissionDenied()
    where = f"{condition} AND r.action = 'add' AND r.status = {{}}"
    total = (await fetch(f"SELECT count(*) AS n FROM feed_record r WHERE {where}", *args, status))[0]["n"]
    rows = await fetch(
        f"""SELECT r.*, s.code AS source_code, s.name AS source_name FROM feed_record r
            JOIN feed_source s ON s.id = r.source WHERE {where} ORDER BY r.id LIMIT {{}} OFFSET {{}}""",
        *args, status, limit, offset)
    # the SQL above narrows; the scope module decides (a row it does not cover is never shown)
    return Page[QueueItemOut](items=[_queue_out(r) for r in rows if scope.covers(actor, _holding_place(r))],
                              total=total, limit=limit, offset=offset)


def _queue_out(r: dict) -> QueueItemOut:
    details = r["details"]
    if isinstance(details, str):
        details = json.loads(details)
    return QueueItemOut(id=r["id"], source_code=r["source_code"], source_name=r["source_name"], record_id=r["record_id"],
                        record_type=r["record_type"], item_code=r["item_code"], subject_kind=r["subject_kind"],
                        name=r["name"], identifier_masked=r["identifier_masked"], township_id=r["township_id"],
                        details=details, status=r["status"], received_at=r["created_at"])


async def _queue_item(actor: Actor, queue_id: int) -> dict:
    if actor.role not in (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN):
        raise PermissionDenied()
    rows = await fetch("""SELECT r.*, s.code AS source_code, s.name AS source_name, s.account, s.county,
                                 s.mapping, s.id AS source_pk FROM feed_record r JOIN feed_source s ON s.id = r.source
                          WHERE r.id = {} AND r.action = 'add'""", queue_id)
    if not rows or not scope.covers(actor, _holding_place(rows[0])):
        raise NotFound()
    return rows[0]


async def resolve(actor: Actor, queue_id: int, subject_kind: str, subject_id: int, *,
                  request_id: str = "") -> ResolvedOut:
    """Match a held record to a person (or organisation) of my jurisdiction: its event is recorded
    now, under the source, exactly once."""
    row = await _queue_item(actor, queue_id)
    if row["status"] != UNMATCHED:
        raise QUEUE_DONE
    if subject_kind != row["subject_kind"]:
        raise SUBJECT_KIND_MISMATCH
    where = await scope.authorize_read(actor, subject_kind, subject_id, fields=["feed_record"],
                                       purpose="feed_matching", request_id=request_id)
    source = {"id": row["source_pk"], "code": row["source_code"], "name": row["source_name"],
              "account": row["account"], "county": row["county"]}
    details = row["details"] if isinstance(row["details"], dict) else json.loads(row["details"])
    add = rules.Addition(record_id=row["record_id"], record_type=row["record_type"], item_code=row["item_code"],
                         subject_kind=subject_kind, identifier="", name=row["name"],
                         occurred_on=date.fromisoformat(details["occurred_on"]), level=details.get("level"),
                         quantity=None if details.get("quantity") is None else Decimal(details["quantity"]),
                         region_code=details.get("region_code"), note=details.get("note") or "")
    data = _event_in(source, add, subject_id)
    today = clock.today()
    recording.validate(data, today)
    feeder = feed_actor(source)
    async with engine_finder().transaction():
        await recording.lock_subjects([(subject_kind, subject_id)])
        current = await fetch("SELECT status FROM feed_record WHERE id = {} FOR UPDATE", queue_id)
        if current[0]["status"] != UNMATCHED:
            raise QUEUE_DONE
        event_id, counted = await recording.insert_event(feeder, data, where, today)
        await fetch("""UPDATE feed_record SET status = {}, subject_id = {}, event = {}, township_id = {},
                              resolved_by = {}, resolved_at = {}, resolution_reason = {} WHERE id = {}""",
                    RECORDED, subject_id, event_id, where.township_id, actor.id, clock.now(), "人工匹配", queue_id)
    if counted:
        await ledger.ledger_changed(subject_kind, subject_id)
    return ResolvedOut(id=queue_id, status=RECORDED, event_id=event_id, resolution_reason="人工匹配")


async def dismiss(actor: Actor, queue_id: int, reason: str) -> ResolvedOut:
    """Take a held record out of the queue with a written reason (it stays, marked dismissed)."""
    await _queue_item(actor, queue_id)
    rows = await fetch("""UPDATE feed_record SET status = {}, resolved_by = {}, resolved_at = {}, resolution_reason = {}
                          WHERE id = {} AND status = {} RETURNING id""",
                       DISMISSED, actor.id, clock.now(), reason, queue_id, UNMATCHED)
    if not rows:
        raise QUEUE_DONE
    return ResolvedOut(id=queue_id, status=DISMISSED, event_id=None, resolution_reason=reason)
