"""Patrol reports through the HTTP API: a grid worker's report for their grid whose findings become
ledger events (a negative item waits for review, as the catalogue says), replay-safe; a finding
about a household outside their grids refused alone; another grid, another township: 404."""

from __future__ import annotations

import uuid

from backend import clock
from backend.db import fetch
from dev.demo_data import COUNTY_CODE
from tests.integration.fieldwork.photos import upload

URL = "/api/v1/patrol-reports/"
TODAY = clock.today()


async def _households(where: str, *args, n: int) -> list[int]:
    rows = await fetch(f"""SELECT h.id FROM household h JOIN village v ON v.id = h.village
                           JOIN township t ON t.id = v.township JOIN county c ON c.id = t.county
                           WHERE c.code = {{}} AND {where} ORDER BY h.id DESC LIMIT {n}""", COUNTY_CODE, *args)
    assert len(rows) == n
    return [r["id"] for r in rows]


async def test_patrol_report_findings_become_events(app_client, tokens):
    worker = await tokens("grid_worker")
    grids = [r["grid"] for r in await fetch(
        """SELECT ga.grid FROM grid_assignment ga JOIN account a ON a.id = ga.account
           WHERE a.username = 'grid_worker' AND ga.valid_to IS NULL ORDER BY ga.grid""")]
    mine = await _households("h.grid = {}", grids[-1], n=1)
    outside = await _households("NOT (h.grid = ANY({}))", grids, n=1)
    foreign_grid = (await fetch("SELECT id FROM grid WHERE NOT (id = ANY({})) ORDER BY id DESC LIMIT 1", grids))[0]["id"]
    body = {"idempotency_key": f"pr-{uuid.uuid4().hex[:24]}", "grid_id": grids[-1], "patrolled_on": TODAY.isoformat(),
            "route": "二组—五组", "notes": "发现河边乱倒垃圾", "photo_evidence_id": await upload(app_client, worker),
            "findings": [
                {"item_code": "ENV-DUMPING", "subject_kind": "household", "subject_id": mine[0],
                 "evidence_ids": [await upload(app_client, worker)]},
                {"item_code": "ENV-DUMPING", "subject_kind": "household", "subject_id": outside[0],
                 "evidence_ids": [await upload(app_client, worker)]},
            ]}
    filed = await app_client.post(URL, json=body, headers=worker)
    assert filed.status_code == 200, filed.text
    out = filed.json()
    assert [r["outcome"] for r in out["results"]] == ["created", "error"]
    assert out["results"][0]["event"]["status"] == "pending_review"   # a negative item waits for review
    assert out["results"][1]["error"]["code"] == "NOT_FOUND"
    report_id = out["report"]["id"]
    assert out["report"]["event_ids"] == [out["results"][0]["event"]["id"]]

    replay = await app_client.post(URL, json=body, headers=worker)
    assert replay.status_code == 200 and (replay.json()["created"], replay.json()["replayed"]) == (0, 1)
    assert replay.json()["report"]["id"] == report_id
    events = await fetch("SELECT * FROM credit_event WHERE idempotency_key LIKE {}", f"patrol-report-{report_id}-%")
    assert len(events) == 1 and events[0]["subject_id"] == mine[0]
    assert (await app_client.post(URL, json=body | {"route": "别的路线"}, headers=worker)).status_code == 409

    assert (await app_client.get(f"{URL}{report_id}", headers=worker)).status_code == 200
    assert (await app_client.get(f"{URL}{report_id}", headers=await tokens("township_admin"))).status_code == 200
    assert (await app_client.get(f"{URL}{report_id}", headers=await tokens("township_admin2"))).status_code == 404
    other_grid = body | {"idempotency_key": f"pr-{uuid.uuid4().hex[:24]}", "grid_id": foreign_grid,
                         "photo_evidence_id": None, "findings": []}
    assert (await app_client.post(URL, json=other_grid, headers=worker)).status_code == 404
    assert (await app_client.post(URL, json=other_grid, headers=await tokens("township_admin"))).status_code == 403
