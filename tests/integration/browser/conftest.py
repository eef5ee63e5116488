"""Browser tests: a real headless Chromium (Debian's ``chromium`` package, driven by Playwright through
``executable_path`` — browsers are never downloaded) against the platform served by uvicorn in a
subprocess, on the test database the integration fixtures migrated and seeded.

Without a browser the tests skip, unless ``CUNXIN_REQUIRE_BROWSER=1`` (CI), where they fail. No
worker runs (other tests rely on jobs staying queued): a test that needs a photo processed calls the
evidence slice's own function."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
PHONE = {  # an ordinary Android phone: 360 × 780 CSS px, touch, a mobile WeChat user agent
    "viewport": {"width": 360, "height": 780},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
    "user_agent": ("Mozilla/5.0 (Linux; Android 13; V2227A) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/116.0.0.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F35) NetType/WIFI"),
}


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CUNXIN_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def _need_browser() -> str:
    path = chromium_path()
    if path is None:
        message = "no Chromium (install Debian's chromium package or set CUNXIN_CHROMIUM)"
        if os.environ.get("CUNXIN_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    if not (ROOT / "mobile" / "dist" / "index.html").is_file():
        pytest.fail("the H5 app is not built: run scripts/build_mobile (scripts/test does)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
async def live_server(app_client):
    """The platform on a port of its own (the app_client fixture has migrated and seeded the database)."""
    _need_browser()
    port = _free_port()
    log = open(Path(os.environ.get("CUNXIN_VAR_DIR", "/tmp")) / "browser-server.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.asgi:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"], cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as client:
            while True:
                try:
                    if (await client.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the platform did not start: see {log.name}")
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
async def browser(live_server):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=_need_browser(), headless=True,
                                           args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        await launched.close()


class Outside:
    """Every request a page makes to anywhere but the platform: recorded and refused (as on an
    intranet with no way out)."""

    def __init__(self, base: str):
        self.base = base
        self.requests: list[str] = []

    async def attach(self, context) -> None:
        async def route(r):
            url = r.request.url
            if url.startswith(self.base) or url.startswith(("data:", "blob:")):
                await r.continue_()
            else:
                self.requests.append(url)
                await r.abort("internetdisconnected")
        await context.route("**/*", route)


@pytest.fixture
async def phone(browser, live_server):
    """A fresh emulated phone (its own storage) whose requests cannot leave the platform."""
    context = await browser.new_context(base_url=live_server, **PHONE)
    outside = Outside(live_server)
    await outside.attach(context)
    context.outside = outside
    yield context
    await context.close()
