"""Signing keys for the statements others verify: consent receipts now, bank attestations next.

One key is active at a time and signs; ``cunxin keys rotate`` retires it and makes a new one. A
retired key is never deleted and stays in ``GET /.well-known/jwks.json`` (marked retired), so a
bank can verify a receipt or attestation years later. Private keys are stored encrypted with the
field-encryption key (``CUNXIN_DATA_KEY``, as ID numbers are). The first key is made on demand.

The JOSE work itself (key generation, JWK, signing) is in :mod:`backend.auth.tokens`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from piccolo.engine import engine_finder

from backend import clock
from backend.auth import tokens
from backend.consent.tables import SigningKey
from backend.db import fetch
from backend.identity import FieldCipher, derive_keys
from backend.settings import get_settings

PRIVATE_KEY_CONTEXT = "signing_key.private_pem"
_CIPHER_KEY_ID = "k1"
# JWKS members of our own (RFC 7517 §4: members a verifier does not understand are ignored, so a
# standard verifier still uses a retired key for the statements it signed).
STATUS_MEMBER = "status"
RETIRED_AT_MEMBER = "retired_at"


@lru_cache(maxsize=1)
def _cipher() -> FieldCipher:
    return FieldCipher({_CIPHER_KEY_ID: derive_keys(get_settings().data_key).encryption_key}, _CIPHER_KEY_ID)


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    created_at: datetime
    retired_at: datetime | None


def _material(row: dict) -> tokens.SigningKeyMaterial:
    return tokens.SigningKeyMaterial(kid=row["kid"], private_pem=_private_pem(row["private_key_cipher"]))


@lru_cache(maxsize=8)
def _private_pem(cipher_text: str) -> str:
    """Decrypted once per stored key: keyed by the ciphertext itself, so nothing can go stale."""
    return _cipher().decrypt(cipher_text, context=PRIVATE_KEY_CONTEXT)


async def _insert_new(*, only_if_none_active: bool) -> None:
    material, public = tokens.new_signing_key()
    cipher = _cipher().encrypt(material.private_pem, context=PRIVATE_KEY_CONTEXT)
    conflict = " ON CONFLICT ((true)) WHERE retired_at IS NULL DO NOTHING" if only_if_none_active else ""
    await fetch(
        "INSERT INTO signing_key (kid, public_jwk, private_key_cipher, created_at, retired_at) "
        "VALUES ({}, {}::jsonb, {}, {}, NULL)" + conflict,
        material.kid, json.dumps(public), cipher, clock.now(),
    )


async def active_key() -> tokens.SigningKeyMaterial:
    """The key that signs now; the first one is created here if there is none (two processes
    racing create one: the database allows a single active key)."""
    rows = await fetch("SELECT kid, private_key_cipher FROM signing_key WHERE retired_at IS NULL")
    if not rows:
        await _insert_new(only_if_none_active=True)
        rows = await fetch("SELECT kid, private_key_cipher FROM signing_key WHERE retired_at IS NULL")
    return _material(rows[0])


async def rotate() -> KeyInfo:
    """Retire the active key (it stays published) and make a new active one, in one transaction."""
    async with engine_finder().transaction():
        await fetch("UPDATE signing_key SET retired_at = {} WHERE retired_at IS NULL", clock.now())
        await _insert_new(only_if_none_active=False)
    rows = await fetch("SELECT kid, created_at, retired_at FROM signing_key WHERE retired_at IS NULL")
    return KeyInfo(**rows[0])


async def list_keys() -> list[KeyInfo]:
    rows = await SigningKey.select(SigningKey.kid, SigningKey.created_at, SigningKey.retired_at).order_by(SigningKey.id)
    return [KeyInfo(**r) for r in rows]


async def jwks() -> dict[str, list[dict[str, Any]]]:
    """Every public key, active first then newest retired: ``status`` is ``active`` or ``retired``
    (with ``retired_at``). Statements signed before a rotation verify with the retired key."""
    rows = await fetch("SELECT public_jwk, created_at, retired_at FROM signing_key "
                       "ORDER BY retired_at IS NOT NULL, created_at DESC, id DESC")
    keys = []
    for r in rows:
        public = r["public_jwk"] if isinstance(r["public_jwk"], dict) else json.loads(r["public_jwk"])
        member = {STATUS_MEMBER: "retired" if r["retired_at"] else "active"}
        if r["retired_at"]:
            member[RETIRED_AT_MEMBER] = r["retired_at"].isoformat()
        keys.append({**public, **member})
    return {"keys": keys}


async def sign(claims: dict[str, Any], *, typ: str) -> str:
    """Sign ``claims`` with the active key (``tokens.sign_jws``)."""
    return tokens.sign_jws(claims, typ=typ, key=await active_key())
