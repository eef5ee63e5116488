"""Security headers and caching on real responses of the app (issue 9, point 7)."""

from __future__ import annotations

import re


async def test_personal_answers_are_never_cached_and_carry_the_headers(app_client, tokens):
    response = await app_client.get("/api/v1/me/points", headers=await tokens("villager"))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_token_answers_and_refusals_are_not_cached_either(app_client):
    refused = await app_client.get("/api/v1/me/points")          # 401 from the auth middleware
    assert refused.status_code == 401
    assert refused.headers["cache-control"] == "no-store" and refused.headers["x-frame-options"] == "DENY"
    login = await app_client.post("/api/v1/auth/login", json={"username": "nobody-here", "password": "x" * 10})
    assert login.headers["cache-control"] == "no-store"


async def test_our_pages_load_nothing_from_outside_and_cannot_be_framed(app_client):
    page = await app_client.get("/catalogue")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "cache-control" not in page.headers or page.headers["cache-control"] != "no-store"  # public, cacheable
    assert not re.search(r"""(src|href)=["']https?://""", page.text)


async def test_the_admin_keeps_its_own_scripts_but_cannot_be_framed(app_client):
    admin = await app_client.get("/admin/")
    assert admin.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert admin.headers["x-content-type-options"] == "nosniff"


async def test_even_an_unknown_path_carries_the_headers(app_client):
    missing = await app_client.get("/no/such/page")
    assert missing.status_code == 404
    assert missing.headers["x-content-type-options"] == "nosniff" and missing.headers["cache-control"] == "no-store"
