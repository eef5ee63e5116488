"""Issue 9, point 1: request bodies have a size limit that fits their purpose (413 with a code)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from backend import clock
from backend.body_limits import BULK_JSON_BODY, JSON_BODY
from backend.ledger.schemas import MAX_BATCH
from tests.integration.hardening.test_bad_input import WORKER, _event, _worker_person


def _assert_too_large(response) -> None:
    assert response.status_code == 413, response.text[:200]
    body = response.json()
    assert body["code"] == "PAYLOAD_TOO_LARGE" and body["message_zh"] and body["message_en"]


def _padded(body: dict, size: int) -> bytes:
    """``body`` as JSON with trailing whitespace up to ``size`` bytes (whitespace is valid JSON)."""
    raw = json.dumps(body).encode()
    return raw + b" " * (size - len(raw))


async def test_a_login_body_over_the_json_limit_is_refused_before_it_is_parsed(app_client):
    body = _padded({"username": "grid_worker", "password": "x"}, JSON_BODY + 1)
    _assert_too_large(await app_client.post("/api/v1/auth/login", content=body,
                                            headers={"content-type": "application/json"}))
    at_limit = _padded({"username": "nobody", "password": "x"}, JSON_BODY)
    response = await app_client.post("/api/v1/auth/login", content=at_limit, headers={"content-type": "application/json"})
    assert response.status_code == 401, response.text


async def test_one_event_may_not_be_a_megabyte(app_client, tokens):
    person = await _worker_person(app_client, tokens)
    body = _padded(_event(person), JSON_BODY + 1)
    _assert_too_large(await app_client.post("/api/v1/events", content=body,
                                            headers={**await tokens(WORKER), "content-type": "application/json"}))


async def test_a_full_batch_with_long_notes_fits_and_a_bigger_body_does_not(app_client, tokens):
    person = await _worker_person(app_client, tokens)
    day = (clock.today() - timedelta(days=2)).isoformat()
    # The largest batch a phone can send: 200 events, each with a 500-character note written as
    # JSON escapes (6 bytes a character) — far beyond the 64 KB of a single JSON body.
    events = [_event(person, occurred_on=day, note="诚" * 500, idempotency_key=f"limit-{uuid.uuid4().hex}")
              for _ in range(MAX_BATCH)]
    raw = json.dumps({"events": events}, ensure_ascii=True).encode()
    assert JSON_BODY < len(raw) < BULK_JSON_BODY
    headers = {**await tokens(WORKER), "content-type": "application/json"}
    response = await app_client.post("/api/v1/events:batch", content=raw, headers=headers)
    assert response.status_code == 200, response.text[:300]
    assert len(response.json()["results"]) == MAX_BATCH
    _assert_too_large(await app_client.post("/api/v1/events:batch", content=_padded({"events": events[:1]},
                                                                                     BULK_JSON_BODY + 1),
                                            headers=headers))
