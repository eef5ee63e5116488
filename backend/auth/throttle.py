"""Login throttling — who may try a password now, and who must wait.

Decision (OWASP Authentication / Credential Stuffing cheat sheets): a hard account lock that anyone
can trigger is a denial-of-service tool — five wrong passwords from anywhere would keep a grid worker
out of the app in the field. So the lock is no longer global:

* **Per (account, address)** — the primary defence. Each address gets ``PAIR_FREE`` attempts at one
  account; after that every further attempt must wait, and the wait doubles each time
  (1 s, 2 s, 4 s … up to 15 min). A successful login from that address clears its counter. Counted
  *before* the password check, atomically in Redis (one Lua script), so parallel attempts cannot
  slip through together.
* **Per address** — against password spraying over many accounts: failures from one address across
  all accounts (``ADDRESS_FREE`` per 15 min, then doubling delays); generous, because a whole
  village may sit behind one carrier-NAT address.
* **The account lock** (``failed_logins`` / ``locked_until`` in PostgreSQL, counted atomically in SQL,
  ``settings.max_failed_logins`` failures → ``settings.lockout_seconds``) stays as the account-wide
  brake against guessing from many addresses, but it only refuses addresses that have themselves
  failed against this account in the current window. An address with a clean record still logs in
  with the right password while the account is locked; during the lock, its first failure marks it.
  A locked refusal looks exactly like a wrong password (same status, body and Argon2 work).

If Redis is unreachable the throttle cannot tell addresses apart: it then fails *closed for guessing*
— no per-address throttling, and the account lock applies to every address (the old hard lock), so an
outage can cost availability for a locked account but never opens the door to unlimited guessing.
Refusals answer 429 ``AUTH_THROTTLED`` with ``Retry-After``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis

from backend.errors import CunxinError
from backend.settings import get_settings

logger = logging.getLogger("cunxin.auth.throttle")

PAIR_FREE = 5
# A whole village can share one carrier-NAT address, so the per-address budget is wide.
ADDRESS_FREE = 300
ADDRESS_WINDOW_SECONDS = 15 * 60
MAX_DELAY_SECONDS = 15 * 60
# A (account, address) record is forgotten an hour after its last attempt, so delays keep growing
# across blocks instead of starting over every 15 minutes.
WINDOW_SECONDS = 60 * 60

# KEYS[1] counter, KEYS[2] block marker; ARGV[1] free attempts, ARGV[2] window, ARGV[3] max delay.
# Returns {milliseconds still to wait (0 = go ahead; the attempt has been counted), attempts before}.
_ATTEMPT = """
local wait = redis.call('PTTL', KEYS[2])
if wait > 0 then return {wait, 0} end
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
local free = tonumber(ARGV[1])
if n > free then
  local delay = math.min(2 ^ (n - free - 1), tonumber(ARGV[3]))
  redis.call('SET', KEYS[2], '1', 'EX', math.floor(delay))
end
return {0, n - 1}
"""

# Failures of one address over all accounts: checked before, counted after a failure.
_ADDRESS_CHECK = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local free = tonumber(ARGV[1])
if n < free then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = 1000 end
return ttl
"""

_ADDRESS_FAIL = """
local n = redis.call('INCR', KEYS[1])
local free = tonumber(ARGV[1])
if n <= free then
  if n == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2])) end
else
  local delay = math.min(2 ^ (n - free - 1), tonumber(ARGV[3]))
  redis.call('EXPIRE', KEYS[1], math.floor(delay))
end
return n
"""


class Throttled(CunxinError):
    status_code = 429
    code = "AUTH_THROTTLED"
    message_zh = "登录尝试过于频繁，请稍后再试"
    message_en = "Too many login attempts; try again later"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(details={"retry_after": self.retry_after})


@dataclass(frozen=True)
class Attempt:
    """An admitted attempt. ``address_has_failed``: this address has tried this account before in the
    window (``None`` when Redis is down and nobody can tell)."""

    kind: str
    principal: str
    ip: str
    address_has_failed: bool | None


_redis: Redis | None = None


def redis_client() -> Redis:
    """The short-timeout Redis connection the limiters share (logins here, bank pulls in ``backend.bank.limits``)."""
    global _redis
    if _redis is None:
        _redis = Redis.from_url(get_settings().redis_url, socket_timeout=1, socket_connect_timeout=1)
    return _redis


async def reset_redis_client() -> None:
    global _redis
    broken, _redis = _redis, None
    if broken is not None:
        try:
            await broken.aclose()
        except Exception:  # noqa: BLE001
            pass


def _pair_keys(kind: str, principal: str, ip: str) -> tuple[str, str]:
    base = f"cunxin:login:{kind}:{principal}:{ip}"
    return base + ":n", base + ":block"


def _address_key(ip: str) -> str:
    return f"cunxin:login:addr:{ip}:fail"


def _seconds(ms: int) -> int:
    return -(-int(ms) // 1000)


async def admit(kind: str, principal: str, ip: str) -> Attempt:
    """Count an attempt or raise ``Throttled``. Never fails because Redis is down."""
    counter, block = _pair_keys(kind, principal, ip)
    try:
        r = redis_client()
        wait = await r.eval(_ADDRESS_CHECK, 1, _address_key(ip), ADDRESS_FREE)
        if wait:
            raise Throttled(_seconds(wait))
        # One script: parallel attempts from a new address cannot all count as "clean".
        wait, before = await r.eval(_ATTEMPT, 2, counter, block, PAIR_FREE, WINDOW_SECONDS, MAX_DELAY_SECONDS)
        if wait:
            raise Throttled(_seconds(wait))
        return Attempt(kind, principal, ip, address_has_failed=int(before) > 0)
    except Throttled:
        raise
    except Exception as exc:  # noqa: BLE001 - Redis down: fall back to the hard account lock
        logger.warning("login throttle unavailable (%r): falling back to the account lock only", exc)
        await reset_redis_client()
        return Attempt(kind, principal, ip, address_has_failed=None)


async def failed(attempt: Attempt) -> None:
    if attempt.address_has_failed is None:
        return
    try:
        await redis_client().eval(_ADDRESS_FAIL, 1, _address_key(attempt.ip), ADDRESS_FREE, ADDRESS_WINDOW_SECONDS,
                             MAX_DELAY_SECONDS)
    except Exception as exc:  # noqa: BLE001
        logger.warning("login throttle unavailable (%r)", exc)
        await reset_redis_client()


async def succeeded(attempt: Attempt) -> None:
    """The right password from this address: its record against this account is clean again."""
    if attempt.address_has_failed is None:
        return
    try:
        await redis_client().delete(*_pair_keys(attempt.kind, attempt.principal, attempt.ip))
    except Exception as exc:  # noqa: BLE001
        logger.warning("login throttle unavailable (%r)", exc)
        await reset_redis_client()
