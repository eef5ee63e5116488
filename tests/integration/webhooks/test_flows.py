"""Events from the real flows, through the API: a consent granted and withdrawn (while Redis is
down) → ``consent.granted`` / ``consent.withdrawn`` to that recipient's endpoint only, delivered
later from the outbox; an objection decided → ``objection.decided``; a period finalised →
``rating.effective`` per effective rating. Payloads carry ids and state words, never a grade."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import timedelta

from standardwebhooks import Webhook

from backend import jobs
from backend.db import fetch
from backend.webhooks import relay

from ..bank.conftest import rating_period
from ..conftest import TODAY
from .conftest import disable, make_endpoint

NOTICE = "本人同意将家庭信用等级提供给{recipient}，用于信贷申请；方式：系统查询；保存期限一年；可随时在村信应用中撤回。"


async def _bank_recipient(client, county) -> int:
    r = await client.post("/api/v1/consent/recipients", headers=county, json={
        "kind": "bank", "code": f"wh-{uuid.uuid4().hex[:8]}", "name_zh": "通知测试银行"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def _messages(endpoint_id: int) -> list[dict]:
    return await fetch("""SELECT m.msg_id, m.event_type, m.body, d.status FROM webhook_delivery d
                          JOIN webhook_outbox m ON m.id = d.message WHERE d.endpoint = {} ORDER BY m.id""", endpoint_id)


async def test_consent_events_reach_that_recipient_even_when_redis_was_down(app_client, tokens, receiver,
                                                                              monkeypatch):
    county, villager = await tokens("county_admin"), await tokens("villager")
    recipient, competitor = await _bank_recipient(app_client, county), await _bank_recipient(app_client, county)
    r = await app_client.post("/api/v1/consent/notices", headers=county, json={
        "recipient_kind": "bank", "purpose": "credit_application", "title_zh": "信贷授权", "text_zh": NOTICE,
        "consent_days": 365})
    assert r.status_code == 201, r.text
    notice = r.json()["id"]
    url, path = receiver.url("ok")
    mine = await make_endpoint(app_client, county, url, ["consent.granted", "consent.withdrawn"],
                               recipient_id=recipient)
    other_url, other_path = receiver.url("ok")
    theirs = await make_endpoint(app_client, county, other_url, ["consent.granted", "consent.withdrawn"],
                                 recipient_id=competitor)

    await jobs.close()

    async def redis_down():
        raise ConnectionError("Connection refused (redis)")

    monkeypatch.setattr(jobs, "_get_pool", redis_down)
    r = await app_client.post("/api/v1/me/consents", headers=villager, json={
        "subject": "household", "recipient_id": recipient, "purpose": "credit_application", "data_scope": "grade",
        "notice_id": notice})
    assert r.status_code == 201, r.text
    grant = r.json()
    r = await app_client.post(f"/api/v1/consents/{grant['id']}/withdraw", headers=villager)
    assert r.status_code == 200, r.text
    withdrawal = r.json()
    # committed with the change, waiting in PostgreSQL; the competitor's endpoint has nothing
    written = await _messages(mine["id"])
    assert [(m["event_type"], m["status"]) for m in written] == [("consent.granted", "pending"),
                                                                 ("consent.withdrawn", "pending")]
    assert await _messages(theirs["id"]) == []

    # the worker comes back (its relay reads the outbox, not Redis)
    await relay.relay()
    # sent concurrently: no order is promised (as in Standard Webhooks); the payload's timestamp orders
    got = sorted(receiver.at(path), key=lambda g: [m["msg_id"] for m in written].index(g.headers["webhook-id"]))
    assert [g.headers["webhook-id"] for g in got] == [m["msg_id"] for m in written]
    payloads = [Webhook(mine["secret"]).verify(g.body, g.headers) for g in got]
    assert payloads[0]["timestamp"] <= payloads[1]["timestamp"]
    assert [p["type"] for p in payloads] == ["consent.granted", "consent.withdrawn"]
    assert payloads[1]["data"]["consent_id"] == withdrawal["id"] and payloads[1]["data"]["grant_id"] == grant["id"]
    assert payloads[1]["data"]["subject_kind"] == "household" and payloads[1]["data"]["recipient_id"] == recipient
    household = (await fetch("SELECT household_id FROM consent_event WHERE id = {}", grant["id"]))[0]["household_id"]
    names = [r["name"] for r in await fetch("""SELECT p.name FROM household_membership m JOIN person p ON p.id = m.person
                                               WHERE m.household = {}""", household)]
    for g in got:
        assert not any(name in g.body for name in names)
    assert receiver.at(other_path) == []
    await disable(app_client, county, mine["id"])
    await disable(app_client, county, theirs["id"])


async def test_objection_decided_and_ratings_effective(app_client, tokens, receiver):
    county = await tokens("county_admin")
    url, path = receiver.url("ok")
    endpoint = await make_endpoint(app_client, county, url, ["rating.effective", "objection.decided"])
    code = "W" + secrets.token_hex(5)
    ends = TODAY - timedelta(days=45)
    await rating_period(code, ends, TODAY - timedelta(days=30), None)
    period = (await fetch("SELECT id FROM rating_period WHERE code = {}", code))[0]["id"]
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens("villager"))).json()
    proposal = (await fetch("""SELECT id, grade FROM rating_proposal WHERE period = {} AND level = 'household'
                               AND subject_id = {}""", period, me["household_id"]))[0]
    # this household's publicity is still running (as if approved yesterday): the villager objects
    await fetch("UPDATE rating_proposal SET publicity_starts_on = {}, publicity_ends_on = {} WHERE id = {}",
                TODAY - timedelta(days=1), TODAY + timedelta(days=7), proposal["id"])
    r = await app_client.post(f"/api/v1/ratings/proposals/{proposal['id']}/objections",
                              headers=await tokens("villager"), json={"reason": "我家的志愿服务积分未计入"})
    assert r.status_code == 201, r.text
    r = await app_client.post(f"/api/v1/ratings/objections/{r.json()['id']}/resolve",
                              headers=await tokens("township_admin"),
                              json={"decision": "dismiss", "reason": "经核实，志愿服务时长未达到计分标准"})
    assert r.status_code == 200, r.text
    objection = r.json()

    r = await app_client.post("/api/v1/ratings/finalize", headers=county)
    assert r.status_code == 200, r.text
    effective = await fetch("SELECT id, subject_id, level FROM rating_proposal WHERE period = {} AND status = 'effective'",
                            period)
    assert effective and proposal["id"] not in [e["id"] for e in effective]  # still in its publicity

    written = await _messages(endpoint["id"])
    decided = [json.loads(m["body"]) for m in written if m["event_type"] == "objection.decided"]
    assert [d["data"] for d in decided] == [{
        "objection_id": objection["id"], "proposal_id": proposal["id"], "period_id": period, "level": "household",
        "subject_kind": "household", "subject_id": me["household_id"], "decision": "dismissed",
        "rating_status": "publicised"}]
    announced = {json.loads(m["body"])["data"]["proposal_id"]: json.loads(m["body"])["data"]
                 for m in written if m["event_type"] == "rating.effective"}
    assert set(announced) >= {e["id"] for e in effective}
    sample = announced[effective[0]["id"]]
    assert sample["status"] == "effective" and sample["effective_on"] == TODAY.isoformat()
    assert sample["period_code"] == code and "grade" not in json.dumps(sample)

    sent = 0
    while True:  # the relay as the worker's cron would run it
        n = await relay.relay_once(limit=200)
        sent += n
        if n == 0:
            break
    got = receiver.at(path)
    assert {g.headers["webhook-id"] for g in got} == {m["msg_id"] for m in written}
    Webhook(endpoint["secret"]).verify(got[0].body, got[0].headers)
    await disable(app_client, county, endpoint["id"])
