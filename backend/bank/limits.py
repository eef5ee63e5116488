"""Rate limit of rating pulls, per bank client, in Redis (the login throttle's client).

A fixed window: ``PULLS_PER_WINDOW`` pulls per ``WINDOW_SECONDS`` per client, counted atomically
(one Lua script) *before* the pull is looked at, replays included — a client that loops on one
Idempotency-Key is still a client that loops. Over the limit: 429 ``RATE_LIMITED`` with
``Retry-After`` (seconds to the window's end).

Redis down: the limit **fails closed** — 503 ``SERVICE_UNAVAILABLE``, nothing is looked at or
recorded, and the bank retries later. A pull discloses personal data; an outage of the limiter
must not become a window for bulk pulls (consent still binds every answer, but the limit is what
makes a leaked client secret slow). A bank's server retries; a villager is never kept waiting by it.
"""

from __future__ import annotations

import logging

from backend.auth import throttle
from backend.errors import CunxinError, ServiceUnavailable

logger = logging.getLogger("cunxin.bank.limits")

PULLS_PER_WINDOW = 300
WINDOW_SECONDS = 60

# KEYS[1] counter; ARGV[1] limit, ARGV[2] window. Returns milliseconds to wait (0 = admitted, counted).
_COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2])) end
if n > tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2])); ttl = tonumber(ARGV[2]) * 1000 end
  return ttl
end
return 0
"""


class RateLimited(CunxinError):
    status_code = 429
    code = "RATE_LIMITED"
    message_zh = "查询过于频繁，请稍后再试"
    message_en = "Too many rating pulls; retry later"

    def __init__(self, retry_after: int = 1) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(details={"retry_after": self.retry_after})


LIMITER_DOWN = ServiceUnavailable("查询限流服务暂不可用，请稍后重试", "The rate limiter is unavailable; retry later",
                                  code="SERVICE_UNAVAILABLE")


async def admit(client_id: int) -> None:
    """Count one pull of this client, or raise ``RateLimited`` / 503 (Redis down: fail closed)."""
    try:
        wait = await throttle.redis_client().eval(_COUNT, 1, f"cunxin:bank:pulls:{client_id}", PULLS_PER_WINDOW,
                                             WINDOW_SECONDS)
    except Exception as exc:  # noqa: BLE001 - Redis down or unreachable
        logger.warning("bank pull limiter unavailable (%r): refusing pulls", exc)
        await throttle.reset_redis_client()
        raise LIMITER_DOWN from exc
    if wait:
        raise RateLimited(-(-int(wait) // 1000))
