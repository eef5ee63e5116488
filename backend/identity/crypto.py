"""Field-level encryption at rest (AES-256-GCM) and keyed lookup hashes (HMAC-SHA256).

Ciphertext tokens look like ``"<key_id>.<urlsafe-b64(nonce || ciphertext+tag)>"`` (no padding).
The column name is the GCM associated data, so a token copied into another column won't decrypt.
Lookup hashes let a column be searched by exact value (e.g. a normalised ID number) without
decrypting it; normalise values before hashing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_HKDF_SALT = b"cunxin"
_INFO_ENCRYPTION = b"cunxin/field-encryption/v1"
_INFO_LOOKUP = b"cunxin/lookup-hash/v1"
_NONCE_LEN = 12
_TAG_LEN = 16
_KEY_ID_RE = re.compile(r"[A-Za-z0-9_-]+")
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]+")


class DecryptionError(Exception):
    """Token unusable: unknown key id, malformed encoding, wrong context or tampered data."""


@dataclass(frozen=True)
class DerivedKeys:
    encryption_key: bytes = field(repr=False)
    lookup_key: bytes = field(repr=False)


def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=info).derive(secret)


def derive_keys(master_secret: str | bytes) -> DerivedKeys:
    """Derive independent 32-byte keys via HKDF-SHA256; secrets under 16 bytes raise ValueError."""
    secret = master_secret.encode("utf-8") if isinstance(master_secret, str) else bytes(master_secret)
    if len(secret) < 16:
        raise ValueError("master secret must be at least 16 bytes")
    return DerivedKeys(
        encryption_key=_hkdf(secret, _INFO_ENCRYPTION),
        lookup_key=_hkdf(secret, _INFO_LOOKUP),
    )


class FieldCipher:
    """AES-256-GCM with key rotation: encrypts with ``active_key_id``, decrypts with the key the
    token names. Key ids must match ``[A-Za-z0-9_-]+`` (they are the token prefix before '.')."""

    def __init__(self, keys: dict[str, bytes], active_key_id: str) -> None:
        for key_id, key in keys.items():
            if not isinstance(key_id, str) or not _KEY_ID_RE.fullmatch(key_id):
                raise ValueError(f"invalid key id {key_id!r}")
            if not isinstance(key, bytes) or len(key) != 32:
                raise ValueError(f"key {key_id!r} must be 32 bytes")
        if active_key_id not in keys:
            raise ValueError(f"active key id {active_key_id!r} is not among the keys")
        self._aeads = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._active_key_id = active_key_id

    @property
    def active_key_id(self) -> str:
        return self._active_key_id

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """Fresh random nonce per call, so equal plaintexts give different tokens."""
        if not context:
            raise ValueError("context must be non-empty")
        nonce = os.urandom(_NONCE_LEN)
        sealed = self._aeads[self._active_key_id].encrypt(
            nonce, plaintext.encode("utf-8"), context.encode("utf-8")
        )
        body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{self._active_key_id}.{body}"

    def decrypt(self, token: str, *, context: str) -> str:
        if not isinstance(token, str):
            raise DecryptionError("token must be a string")
        key_id, sep, body = token.partition(".")
        aead = self._aeads.get(key_id)
        if not sep or aead is None:
            raise DecryptionError("unknown key id or malformed token")
        if not _B64URL_RE.fullmatch(body):
            raise DecryptionError("malformed token encoding")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except binascii.Error as exc:
            raise DecryptionError("malformed token encoding") from exc
        if len(raw) < _NONCE_LEN + _TAG_LEN:
            raise DecryptionError("token too short")
        try:
            plain = aead.decrypt(raw[:_NONCE_LEN], raw[_NONCE_LEN:], context.encode("utf-8"))
            return plain.decode("utf-8")
        except (InvalidTag, UnicodeDecodeError) as exc:
            raise DecryptionError("wrong context, wrong key or tampered data") from exc


class LookupHasher:
    """Deterministic keyed digest for equality search (盲索引); ``context`` separates columns."""

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) < 16:
            raise ValueError("lookup key must be at least 16 bytes")
        self._key = key

    def digest(self, value: str, *, context: str) -> str:
        """Hex HMAC-SHA256 of ``context || 0x00 || value``; context may not contain NUL."""
        if not context or "\x00" in context:
            raise ValueError("context must be non-empty and contain no NUL")
        msg = context.encode("utf-8") + b"\x00" + value.encode("utf-8")
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()
