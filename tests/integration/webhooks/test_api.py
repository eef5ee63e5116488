"""The webhook API: another county's admin neither sees nor changes an endpoint (404) nor its
deliveries; only county admins use it (403); secrets are shown once and never again; rotation
gives two signatures that both verify; replay re-sends with the same webhook-id; the URL policy."""

from __future__ import annotations

import secrets as random

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from backend.auth import accounts
from backend.auth.roles import Role
from backend.registry.tables import County
from backend.webhooks import relay, signing
from dev.seed import DEMO_PASSWORD

from .conftest import delivery_of, disable, emit_test_message, make_endpoint


async def _other_county_admin(client) -> dict[str, str]:
    tag = random.token_hex(3)
    await County.insert(County(code=f"WH{tag}", name="另一区"))
    await accounts.create_account(f"wh{tag}_county", DEMO_PASSWORD, Role.COUNTY_ADMIN, county_code=f"WH{tag}",
                                  display_name="另一区管理员")
    r = await client.post("/api/v1/auth/login", json={"username": f"wh{tag}_county", "password": DEMO_PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_another_countys_admin_gets_404_everywhere(app_client, tokens, receiver, county_id):
    county = await tokens("county_admin")
    url, _ = receiver.url("ok")
    endpoint = await make_endpoint(app_client, county, url, ["rating.effective"])
    msg_id = await emit_test_message(county_id, 501)
    await relay.relay()
    delivery = await delivery_of(msg_id, endpoint["id"])
    other = await _other_county_admin(app_client)
    base = f"/api/v1/webhooks/endpoints/{endpoint['id']}"
    answers = [await app_client.get(base, headers=other),
               await app_client.get(base + "/deliveries", headers=other),
               await app_client.patch(base, headers=other, json={"enabled": False}),
               await app_client.patch(base, headers=other, json={"url": "http://127.0.0.1:1/x"}),
               await app_client.post(base + "/rotate-secret", headers=other, json={}),
               await app_client.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/replay", headers=other)]
    assert [(r.status_code, r.json()["code"]) for r in answers] == [(404, "NOT_FOUND")] * 6
    listed = (await app_client.get("/api/v1/webhooks/endpoints", headers=other)).json()
    assert endpoint["id"] not in [e["id"] for e in listed]
    # the same 404 as an endpoint that does not exist
    missing = await app_client.get("/api/v1/webhooks/endpoints/2000000000", headers=county)
    assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")
    still = (await app_client.get(base, headers=county)).json()
    assert still["enabled"] and still["url"] == url
    for username in ("township_admin", "grid_worker", "villager", "auditor"):
        r = await app_client.get("/api/v1/webhooks/endpoints", headers=await tokens(username))
        assert r.status_code == 403, username
    await disable(app_client, county, endpoint["id"])


async def test_the_secret_is_shown_once_and_stored_encrypted(app_client, tokens, receiver):
    from backend.db import fetch

    county = await tokens("county_admin")
    url, _ = receiver.url("ok")
    endpoint = await make_endpoint(app_client, county, url, ["rating.effective"])
    secret = endpoint["secret"]
    for answer in ((await app_client.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}", headers=county)).text,
                   (await app_client.get("/api/v1/webhooks/endpoints", headers=county)).text):
        assert "secret" not in answer.replace("previous_secret_valid_until", "") and secret not in answer
    stored = (await fetch("SELECT * FROM webhook_endpoint WHERE id = {}", endpoint["id"]))[0]
    assert secret not in str(stored)
    await disable(app_client, county, endpoint["id"])


async def test_rotation_signs_with_both_secrets_then_only_the_new_one(app_client, tokens, receiver, county_id):
    county = await tokens("county_admin")
    url, path = receiver.url("ok")
    endpoint = await make_endpoint(app_client, county, url, ["rating.effective"])
    old = endpoint["secret"]
    r = await app_client.post(f"/api/v1/webhooks/endpoints/{endpoint['id']}/rotate-secret", headers=county,
                              json={"grace_hours": 24})
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != old and r.json()["previous_secret_valid_until"] is not None
    await emit_test_message(county_id, 601)
    await relay.relay()
    [got] = receiver.at(path)
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(got.body, got.headers) == Webhook(new).verify(got.body, got.headers)

    r = await app_client.post(f"/api/v1/webhooks/endpoints/{endpoint['id']}/rotate-secret", headers=county,
                              json={"grace_hours": 0})
    newest = r.json()["secret"]
    assert r.json()["previous_secret_valid_until"] is None
    await emit_test_message(county_id, 602)
    await relay.relay()
    latest = receiver.at(path)[-1]
    assert len(latest.headers["webhook-signature"].split(" ")) == 1
    Webhook(newest).verify(latest.body, latest.headers)
    for stale in (old, new):
        try:
            Webhook(stale).verify(latest.body, latest.headers)
            raise AssertionError("a retired secret still verifies")
        except WebhookVerificationError:
            pass
    await disable(app_client, county, endpoint["id"])


async def test_replay_resends_with_the_same_webhook_id(app_client, tokens, receiver, county_id):
    county = await tokens("county_admin")
    url, path = receiver.url("ok")
    endpoint = await make_endpoint(app_client, county, url, ["rating.effective"])
    msg_id = await emit_test_message(county_id, 701)
    delivery = await delivery_of(msg_id, endpoint["id"])
    r = await app_client.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/replay", headers=county)
    assert (r.status_code, r.json()["code"]) == (409, "WEBHOOK_DELIVERY_IN_PROGRESS")  # not sent yet
    await relay.relay()
    r = await app_client.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/replay", headers=county)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending" and r.json()["webhook_id"] == msg_id
    await relay.relay()
    got = receiver.at(path)
    assert [g.headers["webhook-id"] for g in got] == [msg_id, msg_id]
    assert got[0].headers["webhook-timestamp"] <= got[1].headers["webhook-timestamp"]
    Webhook(endpoint["secret"]).verify(got[1].body, got[1].headers)
    log = (await app_client.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}/deliveries?status=delivered",
                                headers=county)).json()
    [item] = [i for i in log["items"] if i["id"] == delivery["id"]]
    assert [a["replay"] for a in item["log"]] == [False, True] and item["attempts"] == 2
    await disable(app_client, county, endpoint["id"])
    r = await app_client.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/replay", headers=county)
    assert (r.status_code, r.json()["code"]) == (409, "WEBHOOK_ENDPOINT_DISABLED")


async def test_the_url_policy(app_client, tokens, monkeypatch):
    county = await tokens("county_admin")
    body = {"subscriber_zh": "测试订阅方", "event_types": ["rating.effective"]}
    for url in ("ftp://bank.example/hook", "http://user:pw@127.0.0.1/hook", "https://no-such-host.invalid/hook"):
        r = await app_client.post("/api/v1/webhooks/endpoints", headers=county, json={**body, "url": url})
        assert (r.status_code, r.json()["code"]) == (422, "WEBHOOK_URL_REFUSED"), url
    bad = [{**body, "url": "http://127.0.0.1:9/x", "event_types": ["rating.changed"]},
           {**body, "url": "http://127.0.0.1:9/x", "event_types": []},
           {**body, "url": "http://127.0.0.1:9/x", "secret": "whsec_mine"},
           {**body, "url": "http://127.0.0.1:9/x", "recipient_id": "5"}]
    for payload in bad:
        r = await app_client.post("/api/v1/webhooks/endpoints", headers=county, json=payload)
        assert r.status_code == 400, payload
    r = await app_client.post("/api/v1/webhooks/endpoints", headers=county,
                              json={**body, "url": "http://127.0.0.1:9/x", "recipient_id": 2_000_000_000})
    assert (r.status_code, r.json()["code"]) == (422, "WEBHOOK_RECIPIENT_UNKNOWN")
    monkeypatch.setattr(signing, "policy", lambda: (True, False))  # as in production
    for url, reason in (("http://bank.example/hook", "scheme"), ("https://127.0.0.1/hook", "address"),
                        ("https://169.254.169.254/latest/meta-data", "address"), ("https://10.0.0.8/h", "address")):
        r = await app_client.post("/api/v1/webhooks/endpoints", headers=county, json={**body, "url": url})
        assert (r.status_code, r.json()["details"].get("reason")) == (422, reason), url
    monkeypatch.setattr(signing, "policy", lambda: (True, True))  # a county whose subscribers are on its intranet
    r = await app_client.post("/api/v1/webhooks/endpoints", headers=county, json={**body, "url": "https://10.0.0.8/h"})
    assert r.status_code == 201, r.text
    await disable(app_client, county, r.json()["id"])
    r = await app_client.post("/api/v1/webhooks/endpoints", headers=county,
                              json={**body, "url": "https://127.0.0.1/h"})
    assert r.status_code == 422


async def test_the_event_catalogue(app_client, tokens):
    r = await app_client.get("/api/v1/webhooks/event-types", headers=await tokens("county_admin"))
    assert {e["name"] for e in r.json()} == {"rating.effective", "objection.decided", "consent.granted",
                                             "consent.withdrawn", "repair.decided"}
