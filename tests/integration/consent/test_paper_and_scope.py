"""Paper consent captured by the grid worker with their own photo; a worker of another grid and an
admin of another township get 404 and nothing is written; consent events refuse UPDATE/DELETE."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from PIL import Image

from backend import clock
from backend.consent.tables import ConsentEvent
from backend.db import fetch

TEXT = "本人同意将家庭信用等级提供给{recipient}，用于补贴资格审核；方式：系统查询；保存一年；可随时撤回。"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((64, 64), 80).convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


async def _setup(app_client, county):
    r = await app_client.post("/api/v1/consent/recipients", headers=county,
                              json={"kind": "subsidy_office", "code": f"o-{uuid.uuid4().hex[:8]}", "name_zh": "甘州区农业农村局"})
    assert r.status_code == 201, r.text
    n = await app_client.post("/api/v1/consent/notices", headers=county,
                              json={"recipient_kind": "subsidy_office", "purpose": "subsidy_eligibility",
                                    "title_zh": "补贴授权", "text_zh": TEXT, "consent_days": 365})
    assert n.status_code == 201, n.text
    return r.json()["id"], n.json()["id"]


async def test_paper_capture_and_foreign_scope(app_client, tokens):
    county, worker = await tokens("county_admin"), await tokens("grid_worker")
    recipient, notice = await _setup(app_client, county)
    home = await fetch("""SELECT m.household FROM household_membership m JOIN account a ON a.person = m.person
                          WHERE a.username = 'villager' AND m.valid_to IS NULL""")
    household_id = home[0]["household"]
    photo = await app_client.post("/api/v1/evidence", headers=worker, files={"data": ("form.png", _png(), "image/png")})
    assert photo.status_code == 202, photo.text
    body = {"recipient_id": recipient, "purpose": "subsidy_eligibility", "data_scope": "grade_score",
            "notice_id": notice, "signed_on": clock.today().isoformat(), "evidence_id": photo.json()["id"],
            "capacity": "witness"}
    future = {**body, "signed_on": (clock.today() + timedelta(days=1)).isoformat()}
    r = await app_client.post(f"/api/v1/households/{household_id}/consents", headers=worker, json=future)
    assert r.status_code == 422 and r.json()["code"] == "CONSENT_SIGNED_ON_FUTURE"
    before = await ConsentEvent.count()
    township2 = await tokens("township_admin2")
    assert (await app_client.get(f"/api/v1/households/{household_id}/consents", headers=township2)).status_code == 404
    far = await fetch("""SELECT h.id FROM household h JOIN village v ON v.id = h.village JOIN township t ON t.id = v.township
                         WHERE t.code = (SELECT code FROM township ORDER BY id DESC LIMIT 1) LIMIT 1""")
    r = await app_client.post(f"/api/v1/households/{far[0]['id']}/consents", headers=worker, json=body)
    assert r.status_code == 404
    assert await ConsentEvent.count() == before
    r = await app_client.post(f"/api/v1/households/{household_id}/consents", headers=worker, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["channel"] == "paper" and r.json()["capacity"] == "witness" and r.json()["status"] == "active"
    r2 = await app_client.post(f"/api/v1/households/{household_id}/consents", headers=worker,
                               json={**body, "data_scope": "grade"})
    assert r2.status_code == 422 and r2.json()["code"] == "EVIDENCE_UNKNOWN"  # one photo, one consent
    listed = (await app_client.get(f"/api/v1/households/{household_id}/consents", headers=await tokens("township_admin")))
    assert any(c["id"] == r.json()["id"] for c in listed.json())
    events = await fetch("SELECT kind FROM security_event WHERE kind = 'consent_grant'")
    assert events
    with pytest.raises(Exception, match="append-only"):
        await fetch("UPDATE consent_event SET data_scope = 'grade_score_entries' WHERE id = {}", r.json()["id"])
    with pytest.raises(Exception, match="append-only"):
        await fetch("DELETE FROM consent_event WHERE id = {}", r.json()["id"])
