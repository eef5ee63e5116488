"""Encryption-at-rest glue for identifiers: one cipher and one lookup hasher per process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from backend.identity import FieldCipher, LookupHasher, derive_keys, mask_id_number, mask_phone
from backend.settings import get_settings

ID_CONTEXT = "person.id_number"
PHONE_CONTEXT = "person.phone"
_KEY_ID = "k1"


@dataclass(frozen=True)
class ProtectedValue:
    cipher: str
    lookup_hash: str
    masked: str


@lru_cache(maxsize=1)
def _tools() -> tuple[FieldCipher, LookupHasher]:
    keys = derive_keys(get_settings().data_key)
    return FieldCipher({_KEY_ID: keys.encryption_key}, _KEY_ID), LookupHasher(keys.lookup_key)


def id_number_hash(normalized_number: str) -> str:
    return _tools()[1].digest(normalized_number, context=ID_CONTEXT)


def phone_hash(normalized_phone: str) -> str:
    return _tools()[1].digest(normalized_phone, context=PHONE_CONTEXT)


def protect_id_number(normalized_number: str) -> ProtectedValue:
    cipher, _ = _tools()
    return ProtectedValue(
        cipher.encrypt(normalized_number, context=ID_CONTEXT),
        id_number_hash(normalized_number),
        mask_id_number(normalized_number),
    )


def protect_phone(normalized_phone: str) -> ProtectedValue:
    cipher, _ = _tools()
    return ProtectedValue(
        cipher.encrypt(normalized_phone, context=PHONE_CONTEXT),
        phone_hash(normalized_phone),
        mask_phone(normalized_phone),
    )


def reveal_id_number(token: str) -> str:
    return _tools()[0].decrypt(token, context=ID_CONTEXT)


def reveal_phone(token: str) -> str:
    return _tools()[0].decrypt(token, context=PHONE_CONTEXT)
