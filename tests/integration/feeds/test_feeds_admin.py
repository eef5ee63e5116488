"""Feed sources in the back office: county staff see and edit them, never their secrets; a source
cannot be created or deleted there (the API makes its key); records are read-only."""

from __future__ import annotations

import uuid

from backend.db import fetch
from tests.integration.admin_ui import admin_login  # the admin's own login, with its CSRF header


async def test_sources_in_the_admin(app_client, tokens):
    r = await app_client.post("/api/v1/feeds/sources", headers=await tokens("county_admin"),
                              json={"code": f"adm-{uuid.uuid4().hex[:8]}", "name": "志愿服务平台", "kind": "volunteer_hours",
                                    "mapping": {"hours": {"item_code": "VOL-HOURS"}}})
    assert r.status_code == 201, r.text
    source = r.json()
    cipher = (await fetch("SELECT secret_cipher FROM feed_source WHERE id = {}", source["id"]))[0]["secret_cipher"]
    headers = await admin_login(app_client)
    try:
        listing = await app_client.get("/admin/api/tables/feed_source/", headers=headers)
        assert listing.status_code == 200, listing.text
        assert source["secret"] not in listing.text and cipher not in listing.text
        row = await app_client.get(f"/admin/api/tables/feed_source/{source['id']}/", headers=headers)
        assert row.status_code == 200 and source["secret"] not in row.text
        assert cipher not in row.text
        ok = await app_client.patch(f"/admin/api/tables/feed_source/{source['id']}/", headers=headers,
                                    json={"name": "全国志愿服务信息系统"})
        assert ok.status_code == 200, ok.text
        assert (await fetch("SELECT name FROM feed_source WHERE id = {}", source["id"]))[0]["name"] == "全国志愿服务信息系统"
        for body in ({"secret_cipher": "x"}, {"key_id": "fk_mine"}, {"mapping": {"hours": {"item_code": "NO-SUCH"}}}):
            refused = await app_client.patch(f"/admin/api/tables/feed_source/{source['id']}/", headers=headers, json=body)
            assert refused.status_code >= 400, body
        assert (await fetch("SELECT key_id FROM feed_source WHERE id = {}", source["id"]))[0]["key_id"] == source["key_id"]
        created = await app_client.post("/admin/api/tables/feed_source/", headers=headers,
                                        json={"code": "x", "name": "x", "kind": "other"})
        assert created.status_code >= 400
        deleted = await app_client.delete(f"/admin/api/tables/feed_source/{source['id']}/", headers=headers)
        assert deleted.status_code >= 400
        assert await fetch("SELECT 1 FROM feed_source WHERE id = {}", source["id"])
        records = await app_client.get("/admin/api/tables/feed_record/", headers=headers)
        assert records.status_code == 200
    finally:
        app_client.cookies.clear()
