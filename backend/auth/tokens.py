"""The one module that touches JOSE (python-jose).

Access tokens: HS256 pinned, and ``aud``, ``iss``, ``exp``, ``iat``, ``sub`` and ``jti`` are
required on decode: python-jose would otherwise trust the token's own header.

Signed statements others verify (consent receipts, bank attestations): ES256 JWS with ``kid``
and an explicit ``typ`` (RFC 8725 §3.11), checked against the published keys
(``GET /.well-known/jwks.json``); the keys themselves are kept by :mod:`backend.consent.keys`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwk, jws, jwt
from jose.exceptions import JOSEError

from backend.errors import InvalidInput, NotAuthenticated
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


# --- signed statements (ES256 JWS) ----------------------------------------------------------------

SIGNING_ALGORITHM = "ES256"


@dataclass(frozen=True)
class SigningKeyMaterial:
    """A private signing key (PKCS#8 PEM) and its key id."""

    kid: str
    private_pem: str = field(repr=False)


def new_signing_key() -> tuple[SigningKeyMaterial, dict[str, str]]:
    """A fresh P-256 key and its public JWK; the kid is the start of its RFC 7638 thumbprint."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode("ascii")
    public = public_jwk(pem)
    kid = jwk_thumbprint(public)[:16]
    return SigningKeyMaterial(kid=kid, private_pem=pem), {**public, "kid": kid}


def public_jwk(private_pem: str) -> dict[str, str]:
    """The public half as a JWK (kty, crv, x, y), with ``alg`` and ``use`` set for verifiers."""
    public = jwk.construct(private_pem, SIGNING_ALGORITHM).public_key().to_dict()
    return {"kty": public["kty"], "crv": public["crv"], "x": public["x"], "y": public["y"],
            "alg": SIGNING_ALGORITHM, "use": "sig"}


def jwk_thumbprint(public: dict[str, str]) -> str:
    """RFC 7638 SHA-256 thumbprint of an EC public JWK (base64url, no padding)."""
    canonical = json.dumps({k: public[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode("ascii")


def sign_jws(claims: dict[str, Any], *, typ: str, key: SigningKeyMaterial) -> str:
    """A compact JWS over ``claims`` (JSON), header ``{"alg": "ES256", "kid": …, "typ": typ}``.

    ``typ`` names the kind of statement (e.g. ``consent-receipt+jwt``) so that one kind can never
    be passed off as another. Take ``key`` from ``backend.consent.keys.active_key()`` (or call
    ``backend.consent.keys.sign``, which does both)."""
    return jws.sign(claims, _signing_key(key.private_pem), headers={"kid": key.kid, "typ": typ},
                    algorithm=SIGNING_ALGORITHM)


@lru_cache(maxsize=8)
def _signing_key(private_pem: str):
    """The parsed key (parsing the PEM costs as much as signing): keyed by the PEM itself."""
    return jwk.construct(private_pem, SIGNING_ALGORITHM)


class SignatureInvalid(InvalidInput):
    code = "JWS_INVALID"
    message_zh = "签名无效"
    message_en = "Signature invalid"


def verify_jws(token: str, keys: list[dict[str, Any]], *, typ: str) -> dict[str, Any]:
    """Verify a JWS of ours against a JWKS ``keys`` list (active and retired keys alike): the
    algorithm is pinned, the key is the one its ``kid`` names, and ``typ`` must match."""
    try:
        header = jws.get_unverified_header(token)
        if header.get("alg") != SIGNING_ALGORITHM or header.get("typ") != typ:
            raise SignatureInvalid()
        key = next((k for k in keys if k.get("kid") == header.get("kid")), None)
        if key is None:
            raise SignatureInvalid()
        payload = jws.verify(token, key, algorithms=[SIGNING_ALGORITHM])
        return json.loads(payload)
    except (JOSEError, ValueError, TypeError) as exc:
        raise SignatureInvalid() from exc


def verify_statement(token: str, keys: list[dict[str, Any]], *, typ: str, audience: str, issuer: str,
                     now: datetime, leeway_seconds: int = 30) -> dict[str, Any]:
    """:func:`verify_jws`, then the claims a statement addressed to someone must carry (RFC 8725
    §3.8–3.10): ``iss`` ours, ``aud`` the reader, ``exp`` not passed, ``iat`` not in the future,
    ``jti`` present. The rules a bank follows to trust an attestation (``GET /.well-known/jwks.json``)."""
    claims = verify_jws(token, keys, typ=typ)
    at = int(now.timestamp())
    try:
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        valid = (claims["iss"] == issuer and audience in audiences and isinstance(claims["jti"], str)
                 and int(claims["exp"]) > at - leeway_seconds and int(claims["iat"]) <= at + leeway_seconds)
    except (KeyError, TypeError, ValueError) as exc:
        raise SignatureInvalid() from exc
    if not valid:
        raise SignatureInvalid()
    return claims
