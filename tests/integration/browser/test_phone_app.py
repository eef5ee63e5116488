"""The H5 app in a real Chromium on an emulated phone (issue 13's done-means, end to end):

a grid worker logs in (roster and catalogue cached), goes offline, records three events for a villager
with a photo each, closes the page and opens it again with no signal (the service worker serves the
app, IndexedDB kept the outbox), goes online — and the three events are in the ledger exactly once, a
second sync changing nothing; the township admin approves the one that needs review, on the phone; the
villager sees its points and explanation, and a notice of each event in the inbox; an objection the villager files on the phone reaches the
township's list. No request leaves the platform at any point."""

from __future__ import annotations

import io
import json
import random

from PIL import Image

from backend.db import fetch
from backend.evidence.services import process_evidence
from dev.seed import DEMO_PASSWORD

ITEMS = (("BLOOD-DONATION", None), ("FILIAL-PIETY", None), ("GRID-CLEANUP", "took_part"))  # the 2nd needs review


CAMERA = (4000, 3000)  # what a phone camera saves; the app downscales to 1600 px on the longest side


def photo(seed: int) -> dict:
    """A real JPEG of random blocks (distinct per seed, so no photo looks like a re-used one)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (64, 48))
    image.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(64 * 48)])
    image = image.resize(CAMERA, Image.NEAREST)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return {"name": f"photo{seed}.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


async def login(page, username: str) -> None:
    await page.goto("/m/")
    await page.locator("[data-testid=login-username] input").fill(username)
    await page.locator("[data-testid=login-password] input").fill(DEMO_PASSWORD)
    await page.get_by_test_id("login-submit").click()


async def states(page) -> list[str]:
    return await page.locator("[data-testid=queue-item]").evaluate_all("els => els.map(e => e.dataset.state)")


async def settled(page, count: int, allowed: tuple[str, ...], timeout: int = 30_000) -> list[str]:
    """The queue's states once ``count`` items are there and none is mid-sync (each in ``allowed``)."""
    handle = await page.wait_for_function("""([n, ok]) => {
        const s = [...document.querySelectorAll('[data-testid=queue-item]')].map(e => e.dataset.state)
        return s.length === n && s.every(x => ok.includes(x)) && s }""", arg=[count, list(allowed)], timeout=timeout)
    return await handle.json_value()  # as seen when they settled (a new sync attempt may start right after)


async def test_offline_recording_review_points_and_objection(browser, live_server, app_client):
    from tests.integration.browser.conftest import PHONE, Outside

    started = (await fetch("SELECT coalesce(max(id), 0) AS n FROM credit_event"))[0]["n"]  # events after this are ours
    villager = (await fetch("""SELECT p.id, p.name, p.id_number_masked FROM account a JOIN person p ON p.id = a.person
                               WHERE a.username = 'villager'"""))[0]
    worker_id = (await fetch("SELECT id FROM account WHERE username = 'grid_worker'"))[0]["id"]

    # --- the grid worker, online: log in, the roster and catalogue are cached, the app's files too
    worker = await browser.new_context(base_url=live_server, **PHONE)
    outside = Outside(live_server)
    await outside.attach(worker)
    page = await worker.new_page()
    await login(page, "grid_worker")
    await page.get_by_test_id("grid-row").first.wait_for()
    assert "离线数据，更新于" in await page.get_by_test_id("roster-status").inner_text()
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")  # the app's files are cached

    # --- no signal: three events for the villager, found by the last digits of the ID number
    await worker.set_offline(True)
    await page.get_by_test_id("offline-banner").wait_for()
    for n, (code, level) in enumerate(ITEMS):
        await page.goto("/m/#/work")
        search = page.locator("[data-testid=work-search] input")
        await search.fill(villager["id_number_masked"][-4:])
        await page.locator(f"[data-testid=person-row][data-person-id='{villager['id']}']").first.click()
        await page.get_by_test_id("record-subject").wait_for()
        await page.get_by_test_id("item-picker").click()
        await page.locator(f"[data-testid=item-option][data-code='{code}']").click()
        if level:
            await page.get_by_test_id(f"level-{level}").click()
        await page.locator("[data-testid=record-photos] input[type=file]").set_input_files(photo(n))
        await page.locator("[data-testid=record-photos] img").first.wait_for()
        await page.locator("[data-testid=record-photos] .van-uploader__mask").wait_for(state="detached")  # downscaled
        await page.get_by_test_id("record-submit").click()
        await page.locator("[data-testid=queue-item]").nth(n).wait_for()
    assert await settled(page, 3, ("waiting",)) == ["waiting"] * 3  # tried, no signal, kept

    # --- close the page; open it again, still with no signal: the app and its outbox are there
    await page.close()
    page = await worker.new_page()
    await page.goto("/m/#/queue")
    assert await settled(page, 3, ("waiting",)) == ["waiting"] * 3
    assert not await fetch("SELECT 1 FROM credit_event WHERE recorded_by = {} AND id > {}", worker_id, started)

    # --- signal again: everything goes, exactly once
    await worker.set_offline(False)
    await page.get_by_test_id("sync-now").click()
    await settled(page, 3, ("in_review", "approved"))
    await page.get_by_test_id("sync-now").click()  # a second pass sends nothing new
    await page.wait_for_timeout(1000)
    events = await fetch("""SELECT id, item_code, status, idempotency_key, evidence_ids FROM credit_event
                            WHERE recorded_by = {} AND id > {} ORDER BY id""", worker_id, started)
    assert sorted(e["item_code"] for e in events) == sorted(c for c, _ in ITEMS), events
    assert len({e["idempotency_key"] for e in events}) == 3
    by_code = {e["item_code"]: e for e in events}
    assert by_code["FILIAL-PIETY"]["status"] == "pending_review"
    assert by_code["BLOOD-DONATION"]["status"] == "counted"
    for e in events:
        ids = json.loads(e["evidence_ids"]) if isinstance(e["evidence_ids"], str) else e["evidence_ids"]
        assert len(ids) == 1
        for evidence_id in ids:
            await process_evidence(evidence_id)  # what the worker does in production
            stored = (await fetch("SELECT status, width, height FROM evidence WHERE id = {}", evidence_id))[0]
            assert stored["status"] == "ready" and max(stored["width"], stored["height"]) == 1600, stored  # on the phone
    assert sorted(await settled(page, 3, ("approved", "in_review"))) == ["approved", "approved", "in_review"]

    # --- the township admin approves the one in review, on the phone
    admin = await browser.new_context(base_url=live_server, **PHONE)
    await outside.attach(admin)
    review = await admin.new_page()
    await login(review, "township_admin")
    item = review.locator(f"[data-testid=review-item][data-event-id='{by_code['FILIAL-PIETY']['id']}']")
    await review.get_by_test_id("review-summary").wait_for()
    await review.get_by_test_id("review-order-newest").click()  # oldest first by default; ours was just sent
    await item.get_by_test_id("review-approve").click()
    await item.wait_for(state="detached")
    approved = await fetch("SELECT status FROM credit_event WHERE id = {}", by_code["FILIAL-PIETY"]["id"])
    assert approved[0]["status"] == "counted"
    # The worker's phone learns it on its next sync.
    await page.get_by_test_id("sync-now").click()
    assert await settled(page, 3, ("approved",)) == ["approved"] * 3

    # --- the villager sees the points and their explanation
    home = await browser.new_context(base_url=live_server, **PHONE)
    await outside.attach(home)
    me = await home.new_page()
    await login(me, "villager")
    entry_row = (await fetch("""SELECT id, explanation_zh FROM ledger_entry WHERE event = {} AND reverses_entry IS NULL
                                ORDER BY id LIMIT 1""", by_code["FILIAL-PIETY"]["id"]))[0]
    card = me.locator(f"[data-testid=entry][data-entry-id='{entry_row['id']}']")
    await card.wait_for()
    assert entry_row["explanation_zh"][:12] in await card.inner_text()
    assert (await card.get_by_test_id("entry-points").inner_text()).startswith("+")
    score = (await app_client.get("/api/v1/me/points", headers=await _token(app_client, "villager"))).json()
    assert score["standing"]["score"].split(".")[0] in await me.get_by_test_id("my-score").inner_text()

    # --- the villager's inbox (消息): a notice for each of the three events, unread until tapped
    ours = [e["id"] for e in events]
    notices = await fetch("""SELECT id, kind, ref_id FROM notice WHERE recipient_person_id = {} AND ref_kind = 'event'
                             AND ref_id = ANY({}) ORDER BY id""", villager["id"], ours)
    assert sorted({n["ref_id"] for n in notices}) == sorted(ours), notices  # recorded (and approved): each is told
    assert {n["kind"] for n in notices if n["ref_id"] == by_code["FILIAL-PIETY"]["id"]} == {"event_pending", "event_approved"}
    unread = (await app_client.get("/api/v1/me/notices", params={"unread_only": "true", "limit": 1},
                                   headers=await _token(app_client, "villager"))).json()["unread"]
    assert unread >= len(notices)
    badge = me.locator("[data-testid=tab-notices] .van-badge")
    await badge.wait_for()
    assert (await badge.inner_text()).strip() in (str(unread), "99+")
    await me.get_by_test_id("tab-notices").click()
    newest = me.locator(f"[data-testid=notice-row][data-notice-id='{notices[-1]['id']}']")
    await newest.wait_for()
    assert await newest.get_attribute("data-read") == "unread"
    await newest.click()  # opens the app route it names (我的积分) and marks it read
    await me.get_by_test_id("my-score").wait_for()
    read = await fetch("SELECT read_at FROM notice WHERE id = {}", notices[-1]["id"])
    assert read[0]["read_at"] is not None
    await me.get_by_test_id("tab-notices").click()
    await me.locator(f"[data-testid=notice-row][data-notice-id='{notices[-1]['id']}'][data-read=read]").wait_for()
    await me.get_by_test_id("tab-me").click()
    await card.wait_for()

    # --- an objection filed on the phone reaches the township's list
    blood = (await fetch("SELECT id FROM ledger_entry WHERE event = {} AND reverses_entry IS NULL ORDER BY id LIMIT 1",
                         by_code["BLOOD-DONATION"]["id"]))[0]["id"]
    await me.locator(f"[data-testid=entry][data-entry-id='{blood}']").get_by_test_id("objection-button").click()
    await me.locator("[data-testid=objection-reason] textarea").fill("献血日期登记有误，应为上月，请核实。")
    await me.get_by_test_id("objection-submit").click()
    await me.get_by_test_id("objection-detail").wait_for()
    objection = (await fetch("SELECT id FROM entry_objection WHERE entry_id = {} ORDER BY id DESC LIMIT 1", blood))[0]["id"]
    due = await admin.new_page()
    await due.goto("/m/#/objections-due")
    await due.locator(f"[data-testid=objection-row][data-objection-id='{objection}']").wait_for()

    assert outside.requests == [], outside.requests
    for context in (worker, admin, home):
        await context.close()


async def _token(client, username: str) -> dict:
    r = await client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_township_data_quality_on_the_phone(browser, live_server, app_client):
    """The township admin's 数据质量 screen: the six counts the API gives, the trend chart drawn from the
    platform (an SVG fetched with the token), and a check's list one tap away."""
    from tests.integration.browser.conftest import PHONE, Outside

    headers = await _token(app_client, "township_admin")
    counts = {c["check"]: c["count"] for c in (await app_client.get("/api/v1/quality", headers=headers)).json()["checks"]}
    context = await browser.new_context(base_url=live_server, **PHONE)
    outside = Outside(live_server)
    await outside.attach(context)
    page = await context.new_page()
    await login(page, "township_admin")
    await page.get_by_test_id("review-summary").wait_for()
    await page.get_by_test_id("tab-quality").click()
    await page.locator("[data-testid=quality-check]").nth(5).wait_for()
    shown = await page.locator("[data-testid=quality-check]").evaluate_all(
        "els => Object.fromEntries(els.map(e => [e.dataset.check, Number(e.dataset.count)]))")
    assert shown == counts
    chart = page.get_by_test_id("quality-trend-chart")
    await chart.wait_for()
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=await chart.element_handle())
    await page.locator("[data-testid=quality-check][data-check=reviews_waiting]").click()
    await page.get_by_test_id("quality-list-count").wait_for()
    assert f"共 {counts['reviews_waiting']} 条" in await page.get_by_test_id("quality-list-count").inner_text()
    assert await page.locator("[data-testid=quality-row]").count() == min(counts["reviews_waiting"], 100)
    assert outside.requests == [], outside.requests
    await context.close()
