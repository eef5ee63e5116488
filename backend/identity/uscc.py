"""统一社会信用代码 (unified social credit code, GB 32100-2015) normalisation and validation.

Layout (1-based): 1 登记管理部门代码 (registration authority), 2 机构类别代码, 3-8 登记管理机关
行政区划码, 9-17 组织机构代码 (GB 11714 organisation code, its own check char at 17),
18 check character over positions 1-17 (MOD 31 over ``USCC_CHARSET``).
"""

from __future__ import annotations

from typing import NoReturn

from backend.errors import InvalidInput
from backend.identity.idcard import _halfwidth_compact

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 chars: no I O Z S V
USCC_WEIGHTS: tuple[int, ...] = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_CODE_WEIGHTS: tuple[int, ...] = (3, 7, 9, 10, 5, 8, 4, 2)
# 1 机构编制, 2 外交, 3 司法行政, 4 文化, 5 民政, 6 旅游, 7 宗教, 8 工会, 9 市场监管(工商),
# A 中央军委改革和编制办公室, N 农业, Y 其他.
REGISTRATION_AUTHORITY_CODES: frozenset[str] = frozenset("123456789ANY")

_VALUE = {c: i for i, c in enumerate(USCC_CHARSET)}
_ORG_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _format_error() -> NoReturn:
    raise InvalidInput(
        "统一社会信用代码格式错误：应为18位数字或大写字母（不含I、O、Z、S、V）",
        "Unified social credit code must be 18 digits or capital letters (excluding I, O, Z, S, V)",
        code="USCC_FORMAT",
        details={"field": "uscc"},
    )


def compute_uscc_check_char(first17: str) -> str:
    """Check char: ``USCC_CHARSET[(31 - weighted_sum % 31) % 31]``."""
    if not isinstance(first17, str) or len(first17) != 17 or any(c not in _VALUE for c in first17):
        _format_error()
    total = sum(_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_CHARSET[(31 - total % 31) % 31]


def compute_org_code_check_char(first8: str) -> str:
    """GB 11714 organisation-code check char ('0'-'9' or 'X'); digits count 0-9, letters A=10 … Z=35."""
    if not isinstance(first8, str) or len(first8) != 8 or any(c not in _ORG_CHARS for c in first8):
        _format_error()
    total = sum(int(c, 36) * w for c, w in zip(first8, ORG_CODE_WEIGHTS))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def normalize_uscc(raw: str) -> str:
    """Drop whitespace, full-width → ASCII, uppercase. No validation."""
    return _halfwidth_compact(raw).upper()


def parse_uscc(raw: str) -> str:
    """Return the normalised code or raise InvalidInput (USCC_FORMAT, USCC_CHECK_CHAR, USCC_ORG_CODE,
    checked in that order)."""
    if not isinstance(raw, str):
        _format_error()
    code = normalize_uscc(raw)
    if len(code) != 18 or any(c not in _VALUE for c in code) or code[0] not in REGISTRATION_AUTHORITY_CODES:
        _format_error()
    if compute_uscc_check_char(code[:17]) != code[17]:
        raise InvalidInput(
            "统一社会信用代码校验位错误",
            "Unified social credit code check character is wrong",
            code="USCC_CHECK_CHAR",
            details={"field": "uscc"},
        )
    if compute_org_code_check_char(code[8:16]) != code[16]:
        raise InvalidInput(
            "统一社会信用代码中的组织机构代码校验位错误",
            "Organisation code embedded in the unified social credit code has a wrong check character",
            code="USCC_ORG_CODE",
            details={"field": "uscc"},
        )
    return code


def is_valid_uscc(raw: str) -> bool:
    try:
        parse_uscc(raw)
    except InvalidInput:
        return False
    return True
