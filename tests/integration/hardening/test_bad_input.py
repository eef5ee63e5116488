"""Issue 9, point 1: a NUL (``\\u0000``) anywhere in a request — JSON body, query string, path —
is a 422 INPUT_CONTROL_CHARACTER, never a 500; in a batch it is that item's error alone."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from backend import clock
from backend.db import fetch

NUL = "\u0000"
CODE = "INPUT_CONTROL_CHARACTER"
WORKER = "grid_worker"


def _assert_refused(response) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == CODE
    assert body["message_zh"] and body["message_en"]


async def _worker_person(app_client, tokens) -> int:
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens(WORKER))).json()
    rows = await fetch("""SELECT m.person FROM household h
                          JOIN household_membership m ON m.household = h.id AND m.valid_to IS NULL
                          WHERE h.grid = ANY({}) ORDER BY m.person LIMIT 1""", sorted(me["grid_ids"]))
    return rows[0]["person"]


def _event(person: int, **overrides) -> dict:
    body = {"idempotency_key": "hard-" + uuid.uuid4().hex, "item_code": "COMMITMENT-KEPT", "subject_kind": "person",
            "subject_id": person, "occurred_on": (clock.today() - timedelta(days=1)).isoformat()}
    return {**body, **overrides}


async def test_nul_in_login_username_and_client_id(app_client):
    _assert_refused(await app_client.post("/api/v1/auth/login", json={"username": "a" + NUL, "password": "x"}))
    _assert_refused(await app_client.post("/api/v1/auth/token", json={
        "grant_type": "client_credentials", "client_id": NUL, "client_secret": "secret"}))


@pytest.mark.parametrize("field", ["note", "act_id", "idempotency_key", "level", "item_code"])
async def test_nul_in_event_fields(app_client, tokens, field):
    person = await _worker_person(app_client, tokens)
    response = await app_client.post("/api/v1/events", json=_event(person, **{field: "x" * 9 + NUL}),
                                     headers=await tokens(WORKER))
    _assert_refused(response)


async def test_nul_in_review_reason(app_client, tokens):
    response = await app_client.post("/api/v1/review/events/1/reject", json={"reason": "bad" + NUL},
                                     headers=await tokens("township_admin"))
    _assert_refused(response)


async def test_nul_in_query_and_path(app_client, tokens):
    headers = await tokens("county_admin")
    _assert_refused(await app_client.get("/api/v1/catalogue/versions/v%00"))
    _assert_refused(await app_client.get("/catalogue?version=%00"))
    _assert_refused(await app_client.get("/api/v1/audit/access-log?subject_kind=%00", headers=headers))


async def test_batch_answers_every_item_on_its_own(app_client, tokens):
    person = await _worker_person(app_client, tokens)
    good_before, good_after = _event(person), _event(person)
    bad = _event(person, note="bad" + NUL)
    wrong_type = _event(person, subject_id="not a number")
    response = await app_client.post("/api/v1/events:batch", json={"events": [good_before, bad, wrong_type, good_after]},
                                     headers=await tokens(WORKER))
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["created", "error", "error", "created"]
    assert results[1]["error"]["code"] == CODE
    assert results[1]["idempotency_key"] == bad["idempotency_key"]
    assert results[2]["error"]["code"] == "REQUEST_INVALID"
    rows = await fetch("SELECT count(*) AS n FROM credit_event WHERE idempotency_key = {}", bad["idempotency_key"])
    assert rows[0]["n"] == 0


@pytest.mark.parametrize("bad", ["\u202e", "\u200b", "\x1b[2J", "\ufeff"])
async def test_hiding_characters_in_a_note_or_reason_are_refused(app_client, tokens, bad):
    person = await _worker_person(app_client, tokens)
    _assert_refused(await app_client.post("/api/v1/events", json=_event(person, note="清理垃圾" + bad + "完成"),
                                          headers=await tokens(WORKER)))


async def test_rare_characters_in_a_note_are_kept(app_client, tokens):
    person = await _worker_person(app_client, tokens)
    note = "𠀀𪚥 e\u0301 第一行\n第二行"
    response = await app_client.post("/api/v1/events", json=_event(person, note=note), headers=await tokens(WORKER))
    assert response.status_code == 201, response.text
    stored = await fetch("SELECT note FROM credit_event WHERE id = {}", response.json()["id"])
    assert stored[0]["note"] == note


@pytest.mark.parametrize(("field", "value"), [("subject_id", True), ("subject_id", "151"), ("subject_id", 151.0),
                                              ("status", "counted"), ("recorded_by", 1)])
async def test_loose_types_and_unknown_fields_are_refused_and_write_nothing(app_client, tokens, field, value):
    person = await _worker_person(app_client, tokens)
    body = _event(person, **{field: value})
    response = await app_client.post("/api/v1/events", json=body, headers=await tokens(WORKER))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "REQUEST_INVALID" and response.json()["message_zh"]
    assert not await fetch("SELECT 1 FROM credit_event WHERE idempotency_key = {}", body["idempotency_key"])


@pytest.mark.parametrize("ids", [["151"], [True], [1, 2.0]])
async def test_ids_in_a_list_are_strict_too(app_client, tokens, ids):
    """A list of ids takes ids only: ``["151"]`` is refused, not read as event 151 (it was)."""
    response = await app_client.post("/api/v1/review/events:decide", json={"event_ids": ids},
                                     headers=await tokens("township_admin"))
    assert (response.status_code, response.json()["code"]) == (400, "REQUEST_INVALID"), response.text
