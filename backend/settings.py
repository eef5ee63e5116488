"""Settings, read from the environment once.

``DATABASE_URL`` / ``REDIS_URL`` select real servers; without them the CLI starts embedded
ones and exports these variables before anything imports this module.  Secrets come from
``CUNXIN_SECRET_KEY`` (token signing) and ``CUNXIN_DATA_KEY`` (field encryption); outside
production they are generated once into ``var/secrets.json`` so a dev machine works out of the box.

``CUNXIN_TZ`` (an IANA zone name, default ``Asia/Shanghai``) is the county's zone: every "today"
(event dates, deadlines, as-of dates) and the worker's cron times are read in it — see
``backend.clock``, which reads it. An unknown name fails at start-up, not on the first request.

Notifications (docs/notifications.md): ``CUNXIN_NOTICE_CHANNELS`` (comma-separated: ``logging``,
``sms``, ``wechat``; default ``logging``), ``CUNXIN_NOTICE_QUIET_HOURS`` (``21:00-08:00`` by default,
local time; ``off`` for none), ``CUNXIN_SMS_GATEWAY_URL`` and ``CUNXIN_SMS_GATEWAY_TOKEN`` (the SMS
channel is on only with a URL).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfoNotFoundError

from backend import clock

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _dev_secrets(var_dir: Path) -> dict[str, str]:
    """Generated once per checkout so encrypted data stays readable across restarts."""
    path = var_dir / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    var_dir.mkdir(parents=True, exist_ok=True)
    values = {"secret_key": secrets.token_urlsafe(48), "data_key": secrets.token_urlsafe(48)}
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


@dataclass(frozen=True)
class Settings:
    environment: str
    database_url: str
    redis_url: str
    var_dir: Path
    secret_key: str = field(repr=False)
    data_key: str = field(repr=False)
    jwt_issuer: str = "cunxin"
    jwt_audience: str = "cunxin-api"
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    max_failed_logins: int = 5
    lockout_seconds: int = 15 * 60
    page_size_max: int = 200
    notice_channels: tuple[str, ...] = ("logging",)
    notice_quiet_hours: tuple[str, str] = ("21:00", "08:00")  # local; equal ends: no quiet hours
    sms_gateway_url: str = ""
    sms_gateway_token: str = field(default="", repr=False)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    environment = os.environ.get("CUNXIN_ENV", "development")
    var_dir = Path(os.environ.get("CUNXIN_VAR_DIR", PROJECT_ROOT / "var")).resolve()
    secret_key = os.environ.get("CUNXIN_SECRET_KEY")
    data_key = os.environ.get("CUNXIN_DATA_KEY")
    if not (secret_key and data_key):
        if environment == "production":
            raise RuntimeError("CUNXIN_SECRET_KEY and CUNXIN_DATA_KEY must be set in production")
        generated = _dev_secrets(var_dir)
        secret_key = secret_key or generated["secret_key"]
        data_key = data_key or generated["data_key"]
    try:
        clock.zone()
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RuntimeError(f"CUNXIN_TZ={os.environ.get('CUNXIN_TZ')!r} is not a known time zone") from exc
    database_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    if not database_url or not redis_url:
        raise RuntimeError(
            "DATABASE_URL and REDIS_URL must be set (on a development machine `python -m dev` starts embedded servers and sets them)"
        )
    return Settings(
        environment=environment,
        database_url=database_url,
        redis_url=redis_url,
        var_dir=var_dir,
        secret_key=secret_key,
        data_key=data_key,
        access_token_ttl_seconds=_env_int("CUNXIN_ACCESS_TOKEN_TTL", 900),
        notice_channels=tuple(c.strip() for c in os.environ.get("CUNXIN_NOTICE_CHANNELS", "logging").split(",")
                              if c.strip()),
        notice_quiet_hours=_quiet_hours(os.environ.get("CUNXIN_NOTICE_QUIET_HOURS", "21:00-08:00")),
        sms_gateway_url=os.environ.get("CUNXIN_SMS_GATEWAY_URL", ""),
        sms_gateway_token=os.environ.get("CUNXIN_SMS_GATEWAY_TOKEN", ""),
    )


def _quiet_hours(raw: str) -> tuple[str, str]:
    """``21:00-08:00`` → ("21:00", "08:00"); ``off`` → no quiet hours. A malformed value fails at start-up."""
    if raw.strip().lower() in ("", "off", "none"):
        return ("00:00", "00:00")
    start, _, end = raw.partition("-")
    for part in (start, end):
        hours, _, minutes = part.strip().partition(":")
        if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
            raise RuntimeError(f"CUNXIN_NOTICE_QUIET_HOURS={raw!r}: expected HH:MM-HH:MM or off")
    return (start.strip(), end.strip())
