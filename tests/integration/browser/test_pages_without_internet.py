"""On an intranet with no way out, every page the platform serves renders fully from the platform
alone: the API docs, the admin's login, the public catalogue and the H5 app. A real Chromium on an
emulated phone; every request to another host is refused and recorded, and there must be none."""

from __future__ import annotations

import pytest

PAGES = [
    ("/schema", "村信 Cunxin API"),
    ("/admin/", None),
    ("/catalogue", "积分目录"),
    ("/m/", "登录"),  # the H5 app opens on its login screen
]


@pytest.mark.parametrize(("path", "text"), PAGES)
async def test_the_page_renders_from_the_platform_alone(phone, path, text):
    page = await phone.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    response = await page.goto(path, wait_until="networkidle")
    assert response is not None and response.status == 200, path
    await page.wait_for_timeout(300)
    body = await page.inner_text("body")
    assert len(body.strip()) > 4, f"{path} rendered (almost) nothing: {body!r}"
    if text:
        assert text in body or text in await page.title(), (path, body[:300])
    assert phone.outside.requests == [], f"{path} asked outside hosts: {phone.outside.requests}"
    assert [f for f in failed if "internetdisconnected" not in f] == [], failed
    assert errors == [], f"{path}: script errors {errors}"
