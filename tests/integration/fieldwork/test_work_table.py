"""Each grid worker's own work through the HTTP API, for a constructed set: a fresh grid worker logs
five events (two counted, one reviewed and passed, one rejected, one late) and one of them is
corrected by an upheld paper objection, and they file one patrol report; the township's table,
chart and workbook show exactly that; the worker sees only their own row; another township's admin
does not see the worker."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

from openpyxl import load_workbook

from backend import clock
from backend.auth.accounts import create_account
from backend.auth.roles import Role
from backend.db import fetch
from dev.demo_data import COUNTY_CODE
from dev.seed import DEMO_PASSWORD
from tests.integration.fieldwork.photos import upload

URL = "/api/v1/grid-worker-work"
TODAY = clock.today()


async def _event(app_client, headers, person: int, item: str, *, level: str | None = None, days_ago: int = 0) -> dict:
    body = {"idempotency_key": f"fw-{uuid.uuid4().hex[:24]}", "item_code": item, "subject_kind": "person",
            "subject_id": person, "occurred_on": (TODAY - timedelta(days=days_ago)).isoformat(),
            "evidence_ids": [await upload(app_client, headers)]}
    if level:
        body["level"] = level
    response = await app_client.post("/api/v1/events", headers=headers, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _login(app_client, username: str) -> dict:
    response = await app_client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_work_table_counts_a_constructed_set(app_client, tokens):
    township = (await fetch("SELECT township FROM account WHERE username = 'township_admin'"))[0]["township"]
    grid = (await fetch("""SELECT g.id, g.code FROM grid g JOIN village v ON v.id = g.village
                           JOIN township t ON t.id = v.township JOIN county c ON c.id = t.county
                           WHERE t.id = {} AND c.code = {} ORDER BY v.id DESC, g.id LIMIT 1""",
                        township, COUNTY_CODE))[0]
    people = [r["id"] for r in await fetch(
        """SELECT p.id FROM person p JOIN household_membership m ON m.person = p.id AND m.valid_to IS NULL
           JOIN household h ON h.id = m.household WHERE h.grid = {} ORDER BY h.id DESC, p.id LIMIT 5""", grid["id"])]
    assert len(people) == 5
    username = f"fw_{uuid.uuid4().hex[:10]}"
    await create_account(username, DEMO_PASSWORD, Role.GRID_WORKER, grid_codes=[grid["code"]], display_name="工作量测试网格员")
    worker = await _login(app_client, username)
    admin = await tokens("township_admin")

    counted = await _event(app_client, worker, people[0], "GRID-CLEANUP", level="took_part")
    await _event(app_client, worker, people[1], "GRID-CLEANUP", level="took_part")
    passed = await _event(app_client, worker, people[2], "FILIAL-PIETY")
    refused = await _event(app_client, worker, people[3], "FILIAL-PIETY")
    late = await _event(app_client, worker, people[4], "GRID-CLEANUP", level="took_part", days_ago=40)
    assert late["late"] and passed["status"] == "pending_review"
    assert (await app_client.post(f"/api/v1/review/events/{passed['id']}/approve", headers=admin, json={"reason": ""})).status_code == 200
    assert (await app_client.post(f"/api/v1/review/events/{refused['id']}/reject", headers=admin,
                                  json={"reason": "证据不足"})).status_code == 200
    paper = await app_client.post("/api/v1/entry-objections/paper", headers=worker, json={
        "event_id": counted["id"], "reason": "本人不服该记录，已签字", "signed_on": TODAY.isoformat(),
        "form_evidence_id": await upload(app_client, worker)})
    assert paper.status_code == 201, paper.text
    decided = await app_client.post(f"/api/v1/entry-objections/{paper.json()['id']}/decide", headers=admin,
                                    json={"decision": "uphold", "reason": "经核实记录有误，予以更正"})
    assert decided.status_code == 200, decided.text

    patrol = await app_client.post("/api/v1/patrol-reports/", headers=worker, json={
        "idempotency_key": f"pr-{uuid.uuid4().hex[:24]}", "grid_id": grid["id"], "patrolled_on": TODAY.isoformat(),
        "route": "村东—村西主路", "notes": "无异常"})
    assert patrol.status_code == 200 and patrol.json()["created"] == 0, patrol.text

    expected = {"events_logged": 5, "reviews_approved": 1, "reviews_rejected": 1, "late_entries": 1,
                "objections_upheld": 1, "patrols_filed": 1, "activities_recorded": 0}
    table = await app_client.get(URL, headers=admin)
    assert table.status_code == 200, table.text
    mine = [r for r in table.json()["grid_workers"] if r["username"] == username]
    assert len(mine) == 1 and {k: mine[0][k] for k in expected} == expected, mine
    county = (await app_client.get(URL, headers=await tokens("county_admin"))).json()["grid_workers"]
    assert [r for r in county if r["username"] == username] == mine

    own = (await app_client.get(URL, headers=worker)).json()["grid_workers"]
    assert [r["username"] for r in own] == [username]
    before = await app_client.get(URL, headers=admin, params={"from": (TODAY - timedelta(days=400)).isoformat(),
                                                              "to": (TODAY - timedelta(days=1)).isoformat()})
    # assigned today: not one of the township's grid workers over a range that ended yesterday
    assert before.status_code == 200 and username not in {r["username"] for r in before.json()["grid_workers"]}
    assert (await app_client.get(URL, headers=admin, params={"from": "2026-13-01"})).status_code == 422

    chart = await app_client.get(f"{URL}/chart.svg", headers=admin)
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in chart.text and "工作量测试网格员" in chart.text
    assert "href=\"http" not in chart.text and "url(http" not in chart.text and "@import" not in chart.text

    sheet = await app_client.get(f"{URL}/table.xlsx", headers=admin)
    assert sheet.status_code == 200
    ws = load_workbook(io.BytesIO(sheet.content)).active
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
    assert [username, "工作量测试网格员", 5, 1, 1, 1, 1, 1, 0] in rows
    assert "网格员工作量" in ws["A1"].value

    other = (await app_client.get(URL, headers=await tokens("township_admin2"))).json()["grid_workers"]
    assert username not in {r["username"] for r in other}
    assert (await app_client.get(URL, headers=await tokens("villager"))).status_code == 403
