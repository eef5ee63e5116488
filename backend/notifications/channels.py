"""External channels behind one small interface: a ``name`` and ``async send(address, text)``.

- ``logging`` (the default): writes the log line and succeeds — no gateway is reachable here, and
  the delivery log still shows exactly what would have left the platform;
- ``sms``: POSTs ``{"phone", "text"}`` as JSON to ``CUNXIN_SMS_GATEWAY_URL`` (bearer
  ``CUNXIN_SMS_GATEWAY_TOKEN``); without a URL it is not enabled, whatever the channel list says;
- ``wechat``: a subscription message needs the person's openid; persons have none yet, so every
  delivery is recorded ``skipped: no openid``.

Which channels are on: ``CUNXIN_NOTICE_CHANNELS`` (``backend.settings``). What an adapter is given
is the notice's external text, which is content-free by construction (``points_rules.notifications``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import time
from typing import Protocol

import httpx

from backend.settings import get_settings
from points_rules.notifications import parse_clock

logger = logging.getLogger("cunxin.notifications")

TIMEOUT = 10.0
PHONE, OPENID, NOTHING = "phone", "openid", "nothing"  # what address a channel needs


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str = ""
    skipped: bool = False  # nothing was sent, and nothing will be: no address


class Channel(Protocol):
    name: str
    needs: str

    async def send(self, address: str, text: str) -> SendResult: ...


class LoggingChannel:
    """The stand-in for a gateway: the log line is the send."""

    name = "logging"
    needs = NOTHING

    async def send(self, address: str, text: str) -> SendResult:
        logger.info("notice (logging channel) to %s: %s", address or "-", text)
        return SendResult(ok=True)


class SmsChannel:
    """An SMS gateway reached over HTTP (one POST per message; a 2xx answer is a send)."""

    name = "sms"
    needs = PHONE

    def __init__(self, url: str, token: str = ""):
        self.url, self.token = url, token

    async def send(self, address: str, text: str) -> SendResult:
        if not address:
            return SendResult(ok=False, error="no phone", skipped=True)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with httpx.AsyncClient(timeout=httpx.Timeout(TIMEOUT), follow_redirects=False,
                                         trust_env=False) as client:
                response = await client.post(self.url, json={"phone": address, "text": text}, headers=headers)
        except httpx.HTTPError as exc:
            return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= response.status_code < 300:
            return SendResult(ok=True)
        return SendResult(ok=False, error=f"gateway answered {response.status_code}")


class WechatChannel:
    """A WeChat subscription message: needs the person's openid (none are registered yet)."""

    name = "wechat"
    needs = OPENID

    async def send(self, address: str, text: str) -> SendResult:
        if not address:
            return SendResult(ok=False, error="no openid", skipped=True)
        return SendResult(ok=False, error="wechat gateway not configured")


def enabled() -> dict[str, Channel]:
    """The channels switched on in the settings (the SMS channel only with a gateway URL)."""
    settings = get_settings()
    out: dict[str, Channel] = {}
    for name in settings.notice_channels:
        if name == "logging":
            out[name] = LoggingChannel()
        elif name == "sms" and settings.sms_gateway_url:
            out[name] = SmsChannel(settings.sms_gateway_url, settings.sms_gateway_token)
        elif name == "wechat":
            out[name] = WechatChannel()
    return out


def enabled_names() -> tuple[str, ...]:
    return tuple(enabled())


def quiet_hours() -> tuple[time, time]:
    start, end = get_settings().notice_quiet_hours
    return parse_clock(start), parse_clock(end)
