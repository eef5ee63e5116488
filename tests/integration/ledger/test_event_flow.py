"""The main path: a grid worker logs events, a township admin reviews, the villager sees points."""

from datetime import date, timedelta
import uuid

from backend import clock
from backend.ledger import chain


async def _my_household_person(app_client, tokens):
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens("grid_worker"))).json()
    households = (await app_client.get(f"/api/v1/households?grid_id={me['grid_ids'][0]}&limit=5",
                                       headers=await tokens("grid_worker"))).json()["items"]
    household = (await app_client.get(f"/api/v1/households/{households[1]['id']}",
                                      headers=await tokens("grid_worker"))).json()
    return household["members"][0]["person_id"]


async def _photo(app_client, tokens, colour=(200, 30, 30)) -> int:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    response = await app_client.post("/api/v1/evidence", files={"data": ("p.jpg", buffer.getvalue(), "image/jpeg")},
                                     headers=await tokens("grid_worker"))
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    return response.json()["id"]


def _event(person_id, **overrides):
    body = {"idempotency_key": uuid.uuid4().hex, "item_code": "VOL-HOURS", "subject_kind": "person",
            "subject_id": person_id, "occurred_on": (clock.today() - timedelta(days=3)).isoformat(),
            "quantity": "12"}
    body.update(overrides)
    return body


async def test_volunteer_event_counts_at_once_and_replays(app_client, tokens):
    person_id = await _my_household_person(app_client, tokens)
    body = _event(person_id, evidence_ids=[await _photo(app_client, tokens)])
    first = await app_client.post("/api/v1/events", json=body, headers=await tokens("grid_worker"))
    assert first.status_code == 201, first.text
    event = first.json()
    assert event["status"] == "counted"
    assert [e["points"] for e in event["entries"]] == ["+2.0"]
    again = await app_client.post("/api/v1/events", json=body, headers=await tokens("grid_worker"))
    assert again.status_code == 200
    assert again.json()["id"] == event["id"]
    conflict = await app_client.post("/api/v1/events", json={**body, "quantity": "13"},
                                     headers=await tokens("grid_worker"))
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "LEDGER_IDEMPOTENCY_CONFLICT"
    points = (await app_client.get(f"/api/v1/persons/{person_id}/points", headers=await tokens("township_admin"))).json()
    assert points["standing"]["score"] == "1002.0"
    assert (await chain.verify()).ok


async def test_negative_event_waits_for_review(app_client, tokens):
    person_id = await _my_household_person(app_client, tokens)
    body = _event(person_id, item_code="WAGE-ARREARS", level="months_2_to_6", quantity=None,
                  evidence_ids=[await _photo(app_client, tokens, (10, 90, 200))])
    created = await app_client.post("/api/v1/events", json=body, headers=await tokens("grid_worker"))
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending_review" and created.json()["entries"] == []
    queue = (await app_client.get("/api/v1/review/events", headers=await tokens("township_admin"))).json()
    assert created.json()["id"] in [e["id"] for e in queue["items"]]
    other = await app_client.post(f"/api/v1/review/events/{created.json()['id']}/approve", json={},
                                  headers=await tokens("township_admin2"))
    assert other.status_code == 404
    approved = await app_client.post(f"/api/v1/review/events/{created.json()['id']}/approve", json={"reason": "核实"},
                                     headers=await tokens("township_admin"))
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "counted"
    assert [e["points"] for e in approved.json()["entries"]] == ["-30.0"]
