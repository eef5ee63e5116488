"""居民身份证号 (18-character resident ID number, GB 11643-1999) normalisation and validation.

Layout: 6-digit region code (行政区划代码) + 8-digit birth date YYYYMMDD + 3-digit sequence
(顺序码, odd 17th digit = male) + check character (校验码, ISO 7064 MOD 11-2).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import NoReturn

from backend import clock
from backend.errors import InvalidInput
from backend.identity.masking import mask_id_number

ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11)

# 省级行政区划代码 (first two digits); 71 台湾, 81 香港, 82 澳门 (居住证 numbers use these).
PROVINCE_CODES: frozenset[str] = frozenset(
    [str(c) for c in (*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47))]
    + [str(c) for c in (*range(50, 55), *range(61, 66), 71, 81, 82)]
)

MIN_BIRTH_DATE = datetime.date(1900, 1, 1)

# Full-width ASCII block (！..～, incl. ０-９ and Ａ-Ｚ/ａ-ｚ) → ASCII. Shared with uscc/phone.
_HALFWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}

_FIRST17_RE = re.compile(r"[0-9]{17}")
_ID_RE = re.compile(r"[0-9]{17}[0-9X]")


def _halfwidth_compact(raw: str) -> str:
    """Full-width → ASCII, then drop all whitespace (``str.split`` covers U+3000 too)."""
    return "".join(raw.translate(_HALFWIDTH).split())


def _format_error() -> NoReturn:
    raise InvalidInput(
        "身份证号格式错误：应为18位，前17位为数字，末位为数字或X",
        "ID number must be 18 characters: 17 digits followed by a digit or X",
        code="ID_NUMBER_FORMAT",
        details={"field": "id_number"},
    )


def compute_check_digit(first17: str) -> str:
    """Check character ('0'-'9' or 'X') for the first 17 digits."""
    if not isinstance(first17, str) or not _FIRST17_RE.fullmatch(first17):
        _format_error()
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS))
    return ID_CHECK_CHARS[total % 11]


def normalize_id_number(raw: str) -> str:
    """Drop whitespace, full-width → ASCII, uppercase (so a trailing x/ｘ becomes X). No validation."""
    return _halfwidth_compact(raw).upper()


@dataclass(frozen=True)
class ResidentId:
    """A validated ID number and the facts encoded in it. ``number`` is kept out of ``repr``."""

    number: str = field(repr=False)
    region_code: str
    birth_date: datetime.date
    sex: str  # "M" or "F" (17th digit odd = M)


def parse_id_number(raw: str, *, today: datetime.date | None = None) -> ResidentId:
    """Normalise and validate; raises InvalidInput with code ID_NUMBER_FORMAT / _REGION /
    _BIRTH_DATE / _CHECK_DIGIT (checked in that order). Error details never contain the number."""
    if not isinstance(raw, str):
        _format_error()
    number = normalize_id_number(raw)
    if not _ID_RE.fullmatch(number):
        _format_error()

    if number[:2] not in PROVINCE_CODES:
        raise InvalidInput(
            "身份证号地区码无效",
            "ID number region code is not valid",
            code="ID_NUMBER_REGION",
            details={"field": "id_number"},
        )

    if today is None:
        today = clock.today()
    try:
        birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        birth = None
    if birth is None or birth < MIN_BIRTH_DATE or birth > today:
        raise InvalidInput(
            "身份证号中的出生日期无效",
            "ID number contains an invalid birth date",
            code="ID_NUMBER_BIRTH_DATE",
            details={"field": "id_number"},
        )

    if compute_check_digit(number[:17]) != number[17]:
        raise InvalidInput(
            "身份证号校验位错误",
            "ID number check digit is wrong",
            code="ID_NUMBER_CHECK_DIGIT",
            details={"field": "id_number", "masked": mask_id_number(number)},
        )

    return ResidentId(
        number=number,
        region_code=number[:6],
        birth_date=birth,
        sex="M" if int(number[16]) % 2 == 1 else "F",
    )


def is_valid_id_number(raw: str, *, today: datetime.date | None = None) -> bool:
    try:
        parse_id_number(raw, today=today)
    except InvalidInput:
        return False
    return True
