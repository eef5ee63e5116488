"""The photo of a signed paper consent belongs to no event: besides the grid worker who took it,
those whose scope covers the consent's subject see it (the township checks the form); another
township and another household's villager get 404, as for a photo that does not exist."""

from __future__ import annotations

from backend import clock
from backend.db import fetch
from backend.evidence import services as evidence
from tests.integration.consent.test_paper_and_scope import _png, _setup


async def test_the_signed_form_is_seen_by_the_subjects_township_only(app_client, tokens):
    county, worker = await tokens("county_admin"), await tokens("grid_worker")
    recipient, notice = await _setup(app_client, county)
    home = await fetch("""SELECT m.household FROM household_membership m JOIN account a ON a.person = m.person
                          WHERE a.username = 'villager' AND m.valid_to IS NULL""")
    household_id = home[0]["household"]
    photo = await app_client.post("/api/v1/evidence", headers=worker, files={"data": ("form.png", _png(), "image/png")})
    assert photo.status_code == 202, photo.text
    photo_id = photo.json()["id"]
    assert await evidence.process_evidence(photo_id) == "ready"
    r = await app_client.post(f"/api/v1/households/{household_id}/consents", headers=worker, json={
        "recipient_id": recipient, "purpose": "subsidy_eligibility", "data_scope": "grade", "notice_id": notice,
        "signed_on": clock.today().isoformat(), "evidence_id": photo_id, "capacity": "witness"})
    assert r.status_code == 201, r.text

    async def status(username: str, suffix: str = "") -> int:
        response = await app_client.get(f"/api/v1/evidence/{photo_id}{suffix}", headers=await tokens(username))
        return response.status_code

    before = (await fetch("SELECT count(*) AS n FROM access_log WHERE household_id = {}", household_id))[0]["n"]
    for username in ("township_admin", "county_admin", "villager", "grid_worker"):
        assert await status(username) == 200, username
        assert await status(username, "/image") == 200, username
    after = (await fetch("SELECT count(*) AS n FROM access_log WHERE household_id = {}", household_id))[0]["n"]
    assert after >= before + 6  # the admins' and the villager's reads are logged (the uploader's own is not)
    for username in ("township_admin2",):
        assert await status(username) == 404, username
        assert await status(username, "/image") == 404, username
