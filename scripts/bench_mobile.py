"""First load of the H5 app on a throttled slow-3G phone (Chrome DevTools' "Slow 3G" profile: 400 ms
round trip, 400 kbit/s down, 400 kbit/s up, and a 4× slower CPU), in Debian's Chromium.

Serves ``mobile/dist`` at ``/m/`` from a local static server (the first screen, the login, needs no
API), opens ``/m/`` in a fresh phone context and reports:

- transfer size: bytes on the wire for everything the first load fetched (gzip as the server sends);
- time to interactive: from navigation until the login button can be tapped (visible and enabled);
- both against a baseline measured in the same run under the same profile: an empty HTML page (the
  network's own floor), so the figure reads as "N × the cost of any page at all".

The budget (README): ≤ 150 KB transferred and ≤ 6 s to interactive on slow 3G; the script exits 1 when
the app is over budget. Usage: ``scripts/bench_mobile [--runs N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "mobile" / "dist"
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 400 * 1000 / 8, "uploadThroughput": 400 * 1000 / 8}
CPU_SLOWDOWN = 4
BUDGET_BYTES = 150 * 1024
BUDGET_SECONDS = 6.0
EMPTY = "<!doctype html><html lang=zh-CN><meta charset=utf-8><title>空白</title><p>空白页</p>".encode()


class Handler(SimpleHTTPRequestHandler):
    """``/m/…`` from mobile/dist, gzip for text (as a production proxy would send it), ``/empty`` the baseline."""

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path == "/empty":
            return self._send(EMPTY, "text/html; charset=utf-8")
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if not path.startswith("/m/"):
            self.send_error(404)
            return
        rel = path[len("/m/"):] or "index.html"
        file = (DIST / rel).resolve()
        if DIST.resolve() not in file.parents or not file.is_file():
            self.send_error(404)
            return
        kind = {".js": "text/javascript", ".css": "text/css", ".html": "text/html; charset=utf-8",
                ".svg": "image/svg+xml", ".png": "image/png", ".webmanifest": "application/manifest+json"}
        self._send(file.read_bytes(), kind.get(file.suffix, "application/octet-stream"))

    def _send(self, body: bytes, content_type: str) -> None:
        zipped = content_type.startswith(("text/", "image/svg", "application/manifest"))
        if zipped:
            body = gzip.compress(body, 6)
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        if zipped:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


async def load(browser, url: str, ready: str | None) -> tuple[int, float]:
    """(bytes on the wire, seconds to interactive) of one cold load of ``url`` under slow 3G."""
    context = await browser.new_context(viewport={"width": 360, "height": 780}, is_mobile=True, has_touch=True,
                                        device_scale_factor=3, locale="zh-CN")
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    await cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    await cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    sizes: dict[str, int] = {}
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    started = asyncio.get_running_loop().time()
    await page.goto(url, wait_until="load")
    if ready:
        await page.locator(ready).first.wait_for(state="visible", timeout=60_000)
        await page.wait_for_function(f"() => {{ const b = document.querySelector({ready!r}); return b && !b.disabled }}")
    seconds = asyncio.get_running_loop().time() - started
    await page.wait_for_timeout(200)
    await context.close()
    return sum(sizes.values()), seconds


async def main(runs: int) -> int:
    from playwright.async_api import async_playwright

    sys.path.insert(0, str(ROOT))
    from tests.integration.browser.conftest import chromium_path

    if not (DIST / "index.html").is_file():
        print("the H5 app is not built: run scripts/build_mobile", file=sys.stderr)
        return 2
    executable = chromium_path()
    if executable is None:
        print("no Chromium: install Debian's chromium package (or set CUNXIN_CHROMIUM)", file=sys.stderr)
        return 2
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    app_runs, empty_runs = [], []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        for _ in range(runs):
            empty_runs.append(await load(browser, f"{base}/empty", None))
            app_runs.append(await load(browser, f"{base}/m/", "[data-testid=login-submit]"))
        await browser.close()
    server.shutdown()
    app_bytes = statistics.median(b for b, _ in app_runs)
    app_seconds = statistics.median(s for _, s in app_runs)
    empty_bytes = statistics.median(b for b, _ in empty_runs)
    empty_seconds = statistics.median(s for _, s in empty_runs)
    print(f"H5 first load on slow 3G (400 ms RTT, 400 kbit/s, CPU ×{CPU_SLOWDOWN}), median of {runs} cold loads")
    print(f"  transfer size     : {app_bytes / 1024:7.1f} KB  ({app_bytes / empty_bytes:5.1f}× an empty page's "
          f"{empty_bytes / 1024:.1f} KB; budget {BUDGET_BYTES // 1024} KB)")
    print(f"  time to interactive: {app_seconds:6.2f} s   ({app_seconds / empty_seconds:5.1f}× an empty page's "
          f"{empty_seconds:.2f} s; budget {BUDGET_SECONDS:.0f} s)")
    over = app_bytes > BUDGET_BYTES or app_seconds > BUDGET_SECONDS
    print("  over budget" if over else "  within budget")
    return 1 if over else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    sys.exit(asyncio.run(main(parser.parse_args().runs)))
