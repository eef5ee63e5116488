"""Screenshots of the H5 app's main screens for docs/screenshots/ (development only).

Drives Debian's Chromium (Playwright, an emulated phone) against a running platform with the demo
county — ``python -m dev up`` — and saves one PNG per screen. Chinese text needs a CJK font on the
machine (Debian: ``fonts-noto-cjk``). Usage: ``python -m dev.screenshots [--base http://127.0.0.1:8000]``.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from dev.seed import DEMO_PASSWORD
from tests.integration.browser.conftest import PHONE, chromium_path

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


async def _login(page, username: str) -> None:
    await page.goto("/m/")
    await page.locator("[data-testid=login-username] input").fill(username)
    await page.locator("[data-testid=login-password] input").fill(DEMO_PASSWORD)
    await page.get_by_test_id("login-submit").click()


async def shoot(base: str) -> list[Path]:
    from playwright.async_api import async_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    phone = {**PHONE, "device_scale_factor": 2}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])

        async def save(page, name: str) -> None:
            await page.wait_for_timeout(600)
            path = OUT / f"{name}.png"
            await page.screenshot(path=str(path))
            saved.append(path)

        context = await browser.new_context(base_url=base, **phone)
        page = await context.new_page()
        await page.goto("/m/")
        await page.get_by_test_id("login-submit").wait_for()
        await save(page, "01-login")
        await _login(page, "grid_worker")
        await page.get_by_test_id("grid-row").first.wait_for()
        await page.get_by_test_id("grid-row").first.click()
        await save(page, "02-grid-worker-roster")
        await page.get_by_test_id("person-row").first.click()
        await page.get_by_test_id("item-picker").click()
        await page.locator("[data-testid=item-option][data-code='GRID-CLEANUP']").click()
        await page.get_by_test_id("level-took_part").click()
        await save(page, "03-record-event")
        await context.set_offline(True)
        await page.locator("[data-testid=record-photos] input[type=file]").set_input_files(
            str(Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "01-login.png"))
        await page.get_by_test_id("record-submit").click()
        await page.get_by_test_id("queue-item").first.wait_for()
        await save(page, "04-outbox-offline")
        await context.set_offline(False)
        await page.get_by_test_id("sync-now").click()
        await page.wait_for_timeout(2500)
        await save(page, "05-outbox-synced")
        await context.close()

        context = await browser.new_context(base_url=base, **phone)
        page = await context.new_page()
        await _login(page, "township_admin")
        await page.get_by_test_id("review-summary").wait_for()
        await save(page, "06-township-review")
        await page.goto("/m/#/objections-due")
        await page.wait_for_timeout(1500)  # the list (a summary line only when something is open)
        await save(page, "07-township-objections-due")
        await page.get_by_test_id("tab-quality").click()
        await page.get_by_test_id("quality-trend-chart").wait_for()
        await page.wait_for_timeout(800)
        await save(page, "11-township-data-quality")
        await context.close()

        context = await browser.new_context(base_url=base, **phone)
        page = await context.new_page()
        await _login(page, "villager")
        await page.get_by_test_id("my-score").wait_for()
        await save(page, "08-villager-points")
        await page.get_by_test_id("tab-household").click()
        await save(page, "09-villager-household")
        await page.goto("/m/#/consents")
        await page.wait_for_timeout(800)
        await save(page, "10-villager-consents")
        await page.get_by_test_id("tab-notices").click()
        await page.get_by_test_id("notice-row").first.wait_for()
        await save(page, "12-villager-notices")
        await context.close()
        await browser.close()
    return saved


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    for path in asyncio.run(shoot(parser.parse_args().base)):
        print(path)
