"""Inbound feeds (数据接入) as pure rules: the signature scheme, a source record → the credit event
it asks for, and the per-record outcome. No I/O and no clock: the instant and the day are arguments.

Signature scheme (v1), for a neighbouring system posting ``POST /api/v1/feeds/inbound/{source}/records``:

- ``X-Feed-Key``: the key id the county admin was given (``fk_…``);
- ``X-Feed-Timestamp``: the Unix time in whole seconds when the request was signed;
- ``X-Feed-Signature``: ``v1=`` + hex(HMAC-SHA256(secret, timestamp + "." + body)), where ``body`` is
  the exact bytes sent (no re-serialisation). Several signatures may be sent separated by spaces
  (e.g. while a secret is being rotated); one valid signature is enough.

A timestamp more than ``WINDOW_SECONDS`` away from the server's clock is stale; a signature seen
before is a replay even inside the window (the server keeps every accepted signature).

Worked example — secret ``s3cret``, timestamp ``1764720000``, body ``{"records":[]}``::

    base = b'1764720000.{"records":[]}'
    X-Feed-Signature: v1=054ccf19247a064c391cebc1b7a377443afdd27bfcb96fe26ca4c2bbe4f477a9

(``tests/unit/feeds`` checks this example.) Shell: ``printf '%s.%s' "$TS" "$BODY" |
openssl dgst -sha256 -hmac "$SECRET"``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

WINDOW_SECONDS = 300
SIGNATURE_PREFIX = "v1="
RECORD_ID = re.compile(r"^[A-Za-z0-9_.:/-]{1,64}$")
MAX_RECORDS = 10_000

ADD = "add"
REMOVE = "remove"

# Per-record outcomes reported to the sender.
RECORDED = "recorded"  # a credit event was written (it may wait for the township's review, as its item says)
DUPLICATE = "duplicate"  # this source record id was received before: nothing new written
UNMATCHED = "unmatched"  # nobody in Cunxin has that ID number / USCC: held in the matching queue
INVALID = "invalid"  # refused, with a code; nothing written
REMOVED = "removed"  # a removal: the entry it named is reversed (or its pending event withdrawn)
REMOVAL_UNKNOWN = "removal_unknown"  # a removal naming a record this source never sent: kept and reported
NOT_WRITTEN = "not_written"  # the database refused writing it: nothing of it was written; post it again


def base_string(timestamp: str, body: bytes) -> bytes:
    """What is signed: the timestamp header, a dot, the body bytes as sent."""
    return timestamp.encode("ascii") + b"." + body


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Feed-Signature`` value for this body (what a sender computes)."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), base_string(timestamp, body), hashlib.sha256).hexdigest()


def valid_signature(secret: str, timestamp: str, body: bytes, header: str) -> str | None:
    """The first signature in ``header`` that matches (compared in constant time), else ``None``."""
    expected = sign(secret, timestamp, body)
    found = None
    for candidate in header.split():
        if hmac.compare_digest(candidate.encode(), expected.encode()) and found is None:
            found = candidate
    return found


def timestamp_fresh(timestamp: str, now_epoch: int, window: int = WINDOW_SECONDS) -> bool:
    """Whole seconds, ASCII digits only, within ±window of now."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    return abs(int(timestamp) - now_epoch) <= window


@dataclass(frozen=True)
class Mapping:
    """A source record type → the catalogue item (and level) it becomes."""

    item_code: str
    level: str | None = None


@dataclass(frozen=True)
class Invalid:
    record_id: str
    code: str
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class Addition:
    """A record that asks for a credit event about a subject named by ID number or USCC."""

    record_id: str
    record_type: str
    item_code: str
    subject_kind: str  # person | organisation
    identifier: str  # the normalised ID number or USCC
    name: str
    occurred_on: date
    level: str | None
    quantity: Decimal | None
    region_code: str | None
    note: str
    digest: str = field(default="")


@dataclass(frozen=True)
class Removal:
    """A record saying an earlier record of the same source no longer holds (e.g. 履行完毕移出名单)."""

    record_id: str
    removes: str
    occurred_on: date | None
    note: str
    digest: str = field(default="")


def record_digest(raw: dict[str, Any]) -> str:
    """The record's content fingerprint: a record id re-sent with another content is refused."""
    import json

    return hashlib.sha256(json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


MAX_LENGTHS = {"note": 200, "name": 64, "level": 48, "type": 48}
_FIELDS = {"record_id", "action", "type", "id_number", "uscc", "name", "occurred_on", "level", "quantity",
           "region_code", "note", "removes"}


def _invalid(record_id: str, code: str, zh: str, en: str) -> Invalid:
    return Invalid(record_id, code, zh, en)


def parse_record(raw: Any, mappings: dict[str, Mapping], today: date, *,
                 normalise_id: Callable[[str], str | None], normalise_uscc: Callable[[str], str | None]) -> Invalid | Addition | Removal:
    """One source record, checked on its own. ``normalise_id`` / ``normalise_uscc`` return the
    normalised identifier or ``None`` when its check digit (GB 11643 / GB 32100) is wrong."""
    if not isinstance(raw, dict):
        return _invalid("", "FEED_RECORD_INVALID", "记录须为对象", "A record must be an object")
    record_id = raw.get("record_id")
    if not isinstance(record_id, str) or not RECORD_ID.match(record_id):
        return _invalid(record_id if isinstance(record_id, str) and len(record_id) <= 64 else "",
                        "FEED_RECORD_ID_INVALID", "记录编号缺失或格式不正确（1–64位字母、数字或 _.:/-）",
                        "record_id missing or malformed (1–64 of letters, digits, _.:/-)")
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        return _invalid(record_id, "FEED_RECORD_INVALID", f"未知字段：{', '.join(unknown)}", f"Unknown fields: {', '.join(unknown)}")
    for key, value in raw.items():
        if value is not None and not isinstance(value, str):
            return _invalid(record_id, "FEED_RECORD_INVALID", f"字段 {key} 须为字符串", f"Field {key} must be a string")
        if value is not None and len(value) > MAX_LENGTHS.get(key, 64):
            return _invalid(record_id, "FEED_RECORD_INVALID", f"字段 {key} 过长", f"Field {key} is too long")
    action = raw.get("action") or ADD
    note = raw.get("note") or ""
    occurred_on = None
    if raw.get("occurred_on"):
        try:
            occurred_on = date.fromisoformat(raw["occurred_on"])
        except ValueError:
            return _invalid(record_id, "FEED_DATE_INVALID", "日期须为 YYYY-MM-DD", "occurred_on must be YYYY-MM-DD")
        if occurred_on > today:
            return _invalid(record_id, "FEED_DATE_IN_FUTURE", "日期不能晚于今天", "occurred_on is in the future")
    digest = record_digest(raw)
    if action == REMOVE:
        removes = raw.get("removes")
        if not isinstance(removes, str) or not RECORD_ID.match(removes):
            return _invalid(record_id, "FEED_REMOVES_MISSING", "移出记录须写明被移出的原记录编号（removes）",
                            "A removal must name the record it removes (removes)")
        return Removal(record_id, removes, occurred_on, note, digest)
    if action != ADD:
        return _invalid(record_id, "FEED_ACTION_INVALID", "action 只能是 add 或 remove", "action must be add or remove")
    record_type = raw.get("type") or ""
    mapping = mappings.get(record_type)
    if mapping is None:
        return _invalid(record_id, "FEED_TYPE_UNMAPPED", f"记录类型「{record_type}」未对应目录事项",
                        f"Record type {record_type!r} is not mapped to a catalogue item")
    if occurred_on is None:
        return _invalid(record_id, "FEED_DATE_INVALID", "缺少日期 occurred_on", "occurred_on missing")
    id_number, uscc = raw.get("id_number"), raw.get("uscc")
    if bool(id_number) == bool(uscc):
        return _invalid(record_id, "FEED_SUBJECT_MISSING", "须且只能填写身份证号或统一社会信用代码之一",
                        "Exactly one of id_number or uscc is required")
    if id_number:
        kind, identifier = "person", normalise_id(id_number)
        if identifier is None:
            return _invalid(record_id, "FEED_ID_NUMBER_INVALID", "身份证号不正确（校验码不符）",
                            "Resident ID number is invalid (check digit)")
    else:
        kind, identifier = "organisation", normalise_uscc(uscc)
        if identifier is None:
            return _invalid(record_id, "FEED_USCC_INVALID", "统一社会信用代码不正确（校验码不符）",
                            "Unified social credit code is invalid (check character)")
    quantity = None
    if raw.get("quantity"):
        try:
            quantity = Decimal(raw["quantity"])
        except InvalidOperation:
            quantity = None
        if quantity is None or not quantity.is_finite() or quantity < 0 or quantity > 10000:
            return _invalid(record_id, "FEED_QUANTITY_INVALID", "数量须为0至10000之间的数", "quantity must be 0–10000")
    region = raw.get("region_code") or None
    if region is not None and not (region.isascii() and region.isdigit() and 6 <= len(region) <= 12):
        return _invalid(record_id, "FEED_REGION_INVALID", "区划代码须为6至12位数字", "region_code must be 6–12 digits")
    return Addition(record_id=record_id, record_type=record_type, item_code=mapping.item_code, subject_kind=kind,
                    identifier=identifier, name=(raw.get("name") or "")[:32], occurred_on=occurred_on,
                    level=raw.get("level") or mapping.level, quantity=quantity, region_code=region, note=note,
                    digest=digest)


def township_code_of(region_code: str | None) -> str | None:
    """The township (乡镇, 9 digits of the 区划代码) a record's region code points to, if it is that precise."""
    if region_code is None or len(region_code) < 9:
        return None
    return region_code[:9]


def outcome_for_addition(*, previous_digest: str | None, digest: str, matched: bool) -> tuple[str, str | None]:
    """(outcome, error code) of an addition given what was received before under its record id
    and whether its subject was found: once per record id; the same id with other content is an error."""
    if previous_digest is not None:
        if previous_digest != digest:
            return INVALID, "FEED_RECORD_ID_REUSED"
        return DUPLICATE, None
    return (RECORDED if matched else UNMATCHED), None


def removal_effect(original_status: str | None, event_status: str | None) -> str:
    """What a removal does to the record it names: ``reverse`` a counted entry, ``withdraw`` an
    event still waiting for review, ``release`` a record still in the matching queue, ``none`` when
    it is already out of the ledger, ``unknown`` when the source never sent that record."""
    if original_status is None:
        return "unknown"
    if original_status in ("unmatched",):
        return "release"
    if original_status != "recorded":
        return "none"
    if event_status == "pending_review":
        return "withdraw"
    if event_status in ("counted", "skipped"):
        return "reverse"
    return "none"
