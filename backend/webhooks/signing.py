"""Endpoint secrets: generated here (``whsec_`` + 32 random bytes, base64), stored encrypted with the
field-encryption key, and the set that signs a delivery now (the current secret, and the previous
one during a rotation's grace period). Also the address policy (SSRF) with its one setting."""

from __future__ import annotations

import asyncio
import os
import secrets as random
import socket
from datetime import datetime
from functools import lru_cache

from backend.identity import FieldCipher, derive_keys
from backend.settings import get_settings
from points_rules import webhooks as rules

SECRET_CONTEXT = "webhook_endpoint.secret"
_KEY_ID = "w1"
# A county whose subscribers sit on its intranet (DESIGN: counties run on intranets) allows
# private addresses in production with this; loopback and link-local stay refused.
PRIVATE_NETWORKS_ENV = "CUNXIN_WEBHOOK_PRIVATE_NETWORKS"
RESOLVE_SECONDS = 5.0


@lru_cache(maxsize=1)
def _cipher() -> FieldCipher:
    return FieldCipher({_KEY_ID: derive_keys(get_settings().data_key).encryption_key}, _KEY_ID)


def new_secret() -> tuple[str, str]:
    """A fresh secret and its stored (encrypted) form."""
    secret = rules.secret_from_bytes(random.token_bytes(rules.SECRET_BYTES))
    return secret, _cipher().encrypt(secret, context=SECRET_CONTEXT)


def signing_secrets(endpoint: dict, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, then the previous while its grace lasts."""
    out = [_cipher().decrypt(endpoint["secret_cipher"], context=SECRET_CONTEXT)]
    if endpoint["previous_secret_cipher"] and endpoint["previous_valid_until"] and endpoint["previous_valid_until"] > now:
        out.append(_cipher().decrypt(endpoint["previous_secret_cipher"], context=SECRET_CONTEXT))
    return out


@lru_cache(maxsize=1)
def policy() -> tuple[bool, bool]:
    """``(production, allow_private)``, read once."""
    return get_settings().is_production, os.environ.get(PRIVATE_NETWORKS_ENV, "").lower() in ("1", "true", "yes")


async def check_destination(url: str) -> None:
    """The URL's form, then every address its host resolves to now (:class:`rules.UrlRefused`)."""
    production, allow_private = policy()
    _, host, port = rules.check_url(url, production=production)
    try:
        infos = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM),
                                       RESOLVE_SECONDS)
    except (OSError, UnicodeError, ValueError, asyncio.TimeoutError) as exc:  # gaierror is an OSError
        raise rules.UrlRefused("address", f"{host} does not resolve") from exc
    rules.check_addresses([info[4][0] for info in infos], production=production, allow_private=allow_private)
