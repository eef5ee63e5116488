from __future__ import annotations

import base64
import hashlib
import hmac
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.identity.crypto import DecryptionError, DerivedKeys, FieldCipher, LookupHasher, derive_keys

CTX = "person.id_number"
SECRET = "correct horse battery staple"


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher({"k1": derive_keys(SECRET).encryption_key}, "k1")


def _b64decode(body: str) -> bytes:
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --- key derivation ----------------------------------------------------------------------------

def test_derive_keys_deterministic_and_distinct() -> None:
    keys = derive_keys(SECRET)
    assert isinstance(keys, DerivedKeys)
    assert keys == derive_keys(SECRET.encode())
    assert len(keys.encryption_key) == len(keys.lookup_key) == 32
    assert keys.encryption_key != keys.lookup_key
    assert derive_keys(SECRET + "!").encryption_key != keys.encryption_key
    assert keys.encryption_key.hex() not in repr(keys)


def test_derive_keys_matches_hkdf_rfc5869() -> None:
    # Independent HKDF-SHA256 (RFC 5869): PRK = HMAC(salt, IKM); OKM = HMAC(PRK, info || 0x01).
    prk = hmac.new(b"cunxin", SECRET.encode(), hashlib.sha256).digest()
    expected = hmac.new(prk, b"cunxin/field-encryption/v1\x01", hashlib.sha256).digest()
    assert derive_keys(SECRET).encryption_key == expected
    expected = hmac.new(prk, b"cunxin/lookup-hash/v1\x01", hashlib.sha256).digest()
    assert derive_keys(SECRET).lookup_key == expected


@pytest.mark.parametrize("short", ["", "x" * 15, b"y" * 15, "密码密码密"])  # last is 15 UTF-8 bytes
def test_derive_keys_rejects_short_secret(short: str | bytes) -> None:
    with pytest.raises(ValueError):
        derive_keys(short)


def test_sixteen_byte_secret_is_enough() -> None:
    assert len(derive_keys("密码密码密码").encryption_key) == 32  # 18 bytes
    assert len(derive_keys(b"z" * 16).lookup_key) == 32


# --- encryption --------------------------------------------------------------------------------

@given(st.text())
def test_round_trip(plaintext: str) -> None:
    c = FieldCipher({"k1": b"\x01" * 32}, "k1")
    assert c.decrypt(c.encrypt(plaintext, context=CTX), context=CTX) == plaintext


def test_token_format(cipher: FieldCipher) -> None:
    token = cipher.encrypt("11010519491231002X", context=CTX)
    key_id, _, body = token.partition(".")
    assert key_id == "k1"
    assert "=" not in body and "+" not in body and "/" not in body
    assert len(_b64decode(body)) == 12 + len("11010519491231002X") + 16  # nonce + ct + GCM tag
    assert "11010519491231002X" not in token


def test_same_plaintext_encrypts_differently(cipher: FieldCipher) -> None:
    a = cipher.encrypt("张三", context=CTX)
    b = cipher.encrypt("张三", context=CTX)
    assert a != b
    assert _b64decode(a.split(".")[1])[:12] != _b64decode(b.split(".")[1])[:12]
    assert cipher.decrypt(a, context=CTX) == cipher.decrypt(b, context=CTX) == "张三"


def test_wrong_context_fails(cipher: FieldCipher) -> None:
    token = cipher.encrypt("13800138000", context="person.phone")
    with pytest.raises(DecryptionError):
        cipher.decrypt(token, context=CTX)


@pytest.mark.parametrize("index", [0, 5, 11, 12, 20, -1])  # nonce, ciphertext and tag bytes
def test_tampered_byte_fails(cipher: FieldCipher, index: int) -> None:
    key_id, _, body = cipher.encrypt("11010519491231002X", context=CTX).partition(".")
    raw = bytearray(_b64decode(body))
    raw[index] ^= 0x01
    with pytest.raises(DecryptionError):
        cipher.decrypt(f"{key_id}.{_b64encode(bytes(raw))}", context=CTX)


@pytest.mark.parametrize(
    "token",
    ["", "k1", "k1.", "nokey.AAAA", "k2." + "A" * 40, "k1.!!!!", "k1." + "A" * 41, "k1.AAAA", "k1.AA==", "k1.A A"],
)
def test_malformed_tokens_fail(cipher: FieldCipher, token: str) -> None:
    with pytest.raises(DecryptionError):
        cipher.decrypt(token, context=CTX)


def test_key_rotation() -> None:
    old, new = os.urandom(32), os.urandom(32)
    before = FieldCipher({"2024": old}, "2024")
    old_token = before.encrypt("620702199001011236", context=CTX)

    after = FieldCipher({"2024": old, "2025": new}, "2025")
    new_token = after.encrypt("620702199001011236", context=CTX)
    assert new_token.startswith("2025.")
    assert after.decrypt(old_token, context=CTX) == "620702199001011236"
    assert after.decrypt(new_token, context=CTX) == "620702199001011236"
    with pytest.raises(DecryptionError):
        before.decrypt(new_token, context=CTX)  # key "2025" unknown to the old cipher
    # A token relabelled with another key id does not decrypt.
    with pytest.raises(DecryptionError):
        after.decrypt("2025." + old_token.split(".", 1)[1], context=CTX)


@pytest.mark.parametrize(
    ("keys", "active"),
    [({"k1": b"\x00" * 16}, "k1"), ({"k1": b"\x00" * 32}, "k2"), ({"a.b": b"\x00" * 32}, "a.b"), ({"": b"\x00" * 32}, "")],
)
def test_cipher_rejects_bad_configuration(keys: dict[str, bytes], active: str) -> None:
    with pytest.raises(ValueError):
        FieldCipher(keys, active)


# --- lookup hashes -----------------------------------------------------------------------------

def test_lookup_digest() -> None:
    key = derive_keys(SECRET).lookup_key
    h = LookupHasher(key)
    d = h.digest("11010519491231002X", context=CTX)
    assert d == h.digest("11010519491231002X", context=CTX)
    assert d == hmac.new(key, CTX.encode() + b"\x00" + b"11010519491231002X", hashlib.sha256).hexdigest()
    assert len(d) == 64 and int(d, 16) >= 0
    assert d != h.digest("11010519491231002X", context="person.guardian_id_number")
    assert d != h.digest("620702199001011236", context=CTX)
    assert d != LookupHasher(os.urandom(32)).digest("11010519491231002X", context=CTX)


def test_lookup_context_rejects_nul() -> None:
    h = LookupHasher(b"k" * 32)
    with pytest.raises(ValueError):
        h.digest("b", context="a\x00x")
    with pytest.raises(ValueError):
        h.digest("b", context="")
