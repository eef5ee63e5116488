"""The one module that touches JOSE (python-jose).

The algorithm is pinned, and ``aud``, ``iss``, ``exp``, ``iat``, ``sub`` and ``jti`` are
required on decode: python-jose would otherwise trust the token's own header.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from jose import jwt
from jose.exceptions import JOSEError

from backend.errors import NotAuthenticated
from backend.settings import Settings

ALGORITHM = "HS256"
_DECODE_OPTIONS = {
    "require_aud": True,
    "require_iss": True,
    "require_exp": True,
    "require_iat": True,
    "require_sub": True,
    "require_jti": True,
    "verify_signature": True,
    "verify_exp": True,
    "verify_iat": True,
    "verify_aud": True,
    "verify_iss": True,
    "verify_sub": True,
    "leeway": 30,
}


@dataclass(frozen=True)
class AccessClaims:
    sub: str
    sid: str
    role: str
    jti: str
    exp: int


def issue_access_token(*, settings: Settings, subject: str, sid: str, role: str, now: datetime) -> str:
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "sid": sid,
        "role": role,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=settings.access_token_ttl_seconds)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def decode_access_token(token: str, *, settings: Settings) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options=_DECODE_OPTIONS,
        )
        return AccessClaims(
            sub=str(claims["sub"]),
            sid=str(claims["sid"]),
            role=str(claims["role"]),
            jti=str(claims["jti"]),
            exp=int(claims["exp"]),
        )
    except (JOSEError, KeyError, ValueError, TypeError) as exc:
        raise NotAuthenticated(
            "登录凭证无效或已过期，请重新登录",
            "Access token invalid or expired",
            code="AUTH_TOKEN_INVALID",
        ) from exc


def new_refresh_token() -> str:
    """An opaque refresh token; only its SHA-256 is stored."""
    return secrets.token_urlsafe(32)


def hash_opaque_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
