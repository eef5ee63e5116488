"""Display masking (脱敏) for personal identifiers shown in lists, logs and error details.

Callers should pass already-normalised values; these functions never validate.
"""

from __future__ import annotations


def mask_id_number(n: str) -> str:
    """``620702********1234``; anything that is not 18 characters becomes ``******``."""
    if len(n) != 18:
        return "******"
    return n[:6] + "********" + n[-4:]


def mask_phone(p: str) -> str:
    """``138****8000``; shorter than 8 characters (too short to reveal 7) becomes ``****``."""
    if len(p) < 8:
        return "****"
    return p[:3] + "****" + p[-4:]


def mask_name(name: str) -> str:
    """姓名脱敏: ``张*`` (2 chars), ``张*三`` (3), ``欧**娜`` (4+), ``*`` (1)."""
    name = name.strip()
    if len(name) <= 1:
        return "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_uscc(c: str) -> str:
    """``91350100******0Y43`` — first 8 + ``******`` + last 4; non-18-char input → ``******``."""
    if len(c) != 18:
        return "******"
    return c[:8] + "******" + c[-4:]
