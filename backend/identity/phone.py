"""Mainland-China mobile numbers (手机号) normalised to 11 ASCII digits."""

from __future__ import annotations

import re

from backend.errors import InvalidInput
from backend.identity.idcard import _halfwidth_compact

_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")
_SEPARATORS = re.compile(r"[-()]")


def normalize_mobile(raw: str) -> str:
    """Accept spaces/hyphens/brackets, full-width digits and a +86 / 0086 / 86 country prefix;
    return 11 digits or raise InvalidInput (code PHONE_FORMAT)."""
    s = _SEPARATORS.sub("", _halfwidth_compact(raw)) if isinstance(raw, str) else ""
    if s.startswith("+86"):
        s = s[3:]
    elif s.startswith("0086") and len(s) == 15:
        s = s[4:]
    elif s.startswith("86") and len(s) == 13:
        s = s[2:]
    if not _MOBILE_RE.fullmatch(s):
        raise InvalidInput(
            "手机号格式错误：应为11位中国大陆手机号",
            "Phone number must be an 11-digit mainland China mobile number",
            code="PHONE_FORMAT",
            details={"field": "phone"},
        )
    return s
