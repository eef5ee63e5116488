"""One clock for the whole platform (时钟): every "today" and "now" comes from here.

Dates that matter to people (an event's day, a deadline, a rating's as-of date) are *local*
dates in the county's zone — ``CUNXIN_TZ``, ``Asia/Shanghai`` by default — never the server's
own zone or UTC: at 07:30 in Beijing it is still yesterday in UTC. Stored timestamps stay
timezone-aware. Tests move the clock with :func:`frozen`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import date, datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Shanghai"

_frozen_utc: datetime | None = None


@lru_cache(maxsize=1)
def zone() -> ZoneInfo:
    """The configured zone (``CUNXIN_TZ``), read once."""
    return ZoneInfo(os.environ.get("CUNXIN_TZ") or DEFAULT_TZ)


def now() -> datetime:
    """The current instant, timezone-aware, in the configured zone."""
    instant = _frozen_utc if _frozen_utc is not None else datetime.now(timezone.utc)
    return instant.astimezone(zone())


def today() -> date:
    """Today's date in the configured zone."""
    return now().date()


def local_date(instant: datetime) -> date:
    """The local date of a stored (aware) timestamp."""
    return instant.astimezone(zone()).date()


@contextlib.contextmanager
def frozen(instant: datetime) -> Iterator[None]:
    """Tests only: the clock reads ``instant`` (aware) until the block ends.

    Everything that asks this module moves with it (dates, deadlines, session and lock-out
    instants, token ``iat``/``exp``); python-jose still checks ``exp`` against the real clock, so
    log in before freezing the clock in the past."""
    global _frozen_utc
    if instant.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    previous, _frozen_utc = _frozen_utc, instant.astimezone(timezone.utc)
    try:
        yield
    finally:
        _frozen_utc = previous
