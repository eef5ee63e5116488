"""The back office: endpoints without their secrets, changeable only in name, description and
enabled (the database fills in the reason); no creating, deleting or URL change there; the outbox,
deliveries and attempts read-only."""

from __future__ import annotations

from backend.db import fetch
from tests.integration.admin_ui import admin_login

from .conftest import emit_test_message, make_endpoint


async def test_endpoints_in_the_admin(app_client, tokens, receiver, county_id):
    url, _ = receiver.url("ok")
    endpoint = await make_endpoint(app_client, await tokens("county_admin"), url, ["rating.effective"])
    await emit_test_message(county_id, 801)
    admin = await admin_login(app_client)
    row_url = f"/admin/api/tables/webhook_endpoint/{endpoint['id']}/"
    for page in (await app_client.get(row_url), await app_client.get("/admin/api/tables/webhook_endpoint/")):
        assert page.status_code == 200, page.text
        stored = (await fetch("SELECT secret_cipher FROM webhook_endpoint WHERE id = {}", endpoint["id"]))[0]
        assert endpoint["secret"] not in page.text and stored["secret_cipher"] not in page.text

    r = await app_client.patch(row_url, json={"enabled": False}, headers=admin)
    assert r.status_code == 200, r.text
    row = (await fetch("SELECT * FROM webhook_endpoint WHERE id = {}", endpoint["id"]))[0]
    assert (row["enabled"], row["disabled_reason"]) == (False, "admin") and row["disabled_at"] is not None
    r = await app_client.patch(row_url, json={"enabled": True, "description": "后台启用"}, headers=admin)
    assert r.status_code == 200, r.text
    row = (await fetch("SELECT * FROM webhook_endpoint WHERE id = {}", endpoint["id"]))[0]
    assert (row["enabled"], row["disabled_reason"], row["disabled_at"]) == (True, "", None)

    for method, path, body in (("PATCH", row_url, {"url": "http://169.254.169.254/"}),
                               ("PATCH", row_url, {"secret_cipher": "x"}),
                               ("PUT", row_url, {"enabled": True}),
                               ("DELETE", row_url, None),
                               ("POST", "/admin/api/tables/webhook_endpoint/", {"url": "http://127.0.0.1/"})):
        r = await app_client.request(method, path, json=body, headers=admin)
        assert r.status_code == 405, (method, body, r.text)
    assert (await fetch("SELECT url FROM webhook_endpoint WHERE id = {}", endpoint["id"]))[0]["url"] == url

    for table in ("webhook_outbox", "webhook_delivery"):
        row_id = (await fetch(f"SELECT id FROM {table} ORDER BY id DESC LIMIT 1"))[0]["id"]
        for method in ("PATCH", "PUT", "DELETE"):
            r = await app_client.request(method, f"/admin/api/tables/{table}/{row_id}/", json={"status": "x"},
                                         headers=admin)
            assert r.status_code == 405, (table, method)
        assert (await app_client.post(f"/admin/api/tables/{table}/", json={}, headers=admin)).status_code == 405
    await app_client.patch(row_url, json={"enabled": False}, headers=admin)
