"""信用修复 (issue 11.2, art. 45) through the HTTP API: what a repair needs, told at once; an application
missing documents kept incomplete with every missing one named; the documents supplemented; another
township neither sees nor decides; approval repairs a court-defaulter downgrade — the entry stays,
cancelled and marked repaired, JUDGMENT-PERFORMED (−50, 2 years) replaces it, and the household's
subsidy restriction ends; a corrected wage-arrears listing with a signed commitment becomes −60; a
refusal's written reasons reach the subject; the database keeps the filing and the decision."""

from __future__ import annotations

import io
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from PIL import Image

from backend import clock
from backend.auth import accounts
from backend.auth.roles import Role
from backend.db import fetch
from backend.ledger import chain
from backend.measures import build
from backend.registry import protection
from backend.repair import services
from dev.seed import DEMO_PASSWORD
from points_rules.units import add_months
from points_rules.workdays import WorkCalendar

TODAY = clock.today()
LONG_AGO = TODAY - timedelta(days=400)  # a serious entry's display period (1 year) is over
RECENT = TODAY - timedelta(days=20)


async def _photo(client, headers) -> int:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (32, 24), os.urandom(32 * 24 * 3)).save(buffer, "JPEG")
    response = await client.post("/api/v1/evidence", files={"data": ("p.jpg", buffer.getvalue(), "image/jpeg")},
                                 headers=headers)
    assert response.status_code == 202, response.text
    return response.json()["id"]


async def _login(client, username: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _villager_for(client, person_id: int) -> dict[str, str]:
    cipher = (await fetch("SELECT id_number_cipher FROM person WHERE id = {}", person_id))[0]["id_number_cipher"]
    name = f"villager_rep_{person_id}_{secrets.token_hex(3)}"
    await accounts.create_account(name, DEMO_PASSWORD, Role.VILLAGER, person_id_number=protection.reveal_id_number(cipher))
    return await _login(client, name)


@dataclass
class Home:
    household_id: int
    head: int
    member: int


async def _homes(township_id: int, n: int) -> list[Home]:
    """Households of the township with a head and another member, untouched by other tests (the last ones)."""
    rows = await fetch(
        """SELECT h.id, head.person AS head, (SELECT m.person FROM household_membership m
                   WHERE m.household = h.id AND m.valid_to IS NULL AND m.relation <> '户主'
                   ORDER BY m.person LIMIT 1) AS member
           FROM household h JOIN village v ON v.id = h.village
           JOIN household_membership head ON head.household = h.id AND head.valid_to IS NULL AND head.relation = '户主'
           WHERE v.township = {} AND NOT EXISTS (SELECT 1 FROM ledger_entry le WHERE le.household_id = h.id)
             AND NOT EXISTS (SELECT 1 FROM account a JOIN household_membership am ON am.person = a.person
                             AND am.valid_to IS NULL WHERE am.household = h.id)
           ORDER BY h.id DESC LIMIT 40""", township_id)
    homes = [Home(r["id"], r["head"], r["member"]) for r in rows if r["member"] is not None]
    assert len(homes) >= n
    return homes[:n]


async def _negative(client, headers, person_id: int, item_code: str, occurred_on: date) -> tuple[int, int]:
    """A reviewed negative entry: (event id, entry id)."""
    recorded = await client.post("/api/v1/events", headers=headers, json={
        "idempotency_key": f"rep-{uuid.uuid4().hex}", "item_code": item_code, "subject_kind": "person",
        "subject_id": person_id, "occurred_on": occurred_on.isoformat(),
        "evidence_ids": [await _photo(client, headers)]})
    assert recorded.status_code == 201, recorded.text
    event_id = recorded.json()["id"]
    approved = await client.post(f"/api/v1/review/events/{event_id}/approve", headers=headers, json={})
    assert approved.status_code == 200, approved.text
    (entry,) = approved.json()["entries"]
    return event_id, entry["id"]


def _entry(points: dict, entry_id: int) -> dict:
    return next(e for e in points["entries"] if e["id"] == entry_id)


async def _restricted(client, headers, household_id: int) -> bool:
    """Whether a serious-dishonesty subsidy restriction (art. 42) lists the household today."""
    measures = (await client.get("/api/v1/measures", headers=headers)).json()
    measure = next((m for m in measures if m["code"] == "REPAIR-SD-SUBSIDY"), None)
    if measure is None:
        created = await client.post("/api/v1/measures", headers=headers, json={
            "code": "REPAIR-SD-SUBSIDY", "kind": "restriction", "category": "subsidy",
            "name_zh": "严重失信限制财政补贴", "office_zh": "区财政局",
            "legal_basis": "《张掖市社会信用体系建设促进条例》第四十二条",
            "conditions": [{"kind": "serious_dishonesty"}], "valid_from": (TODAY - timedelta(days=30)).isoformat(),
            "valid_to": None})
        assert created.status_code == 201, created.text
        measure = created.json()
    queued = await client.post(f"/api/v1/measures/{measure['id']}/eligibility-lists", headers=headers,
                               json={"as_of": TODAY.isoformat()})
    assert queued.status_code == 202, queued.text
    assert await build.build_list(queued.json()["id"]) == "done"
    entries = (await client.get(f"/api/v1/eligibility-lists/{queued.json()['id']}/entries", headers=headers)).json()
    return household_id in {e["household_id"] for e in entries}


@pytest.fixture(scope="module")
async def townships(app_client, tokens) -> tuple[int, int]:
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens("township_admin"))).json()
    other = (await app_client.get("/api/v1/auth/me", headers=await tokens("township_admin2"))).json()
    return me["township_id"], other["township_id"]


async def test_a_court_defaulter_repaired_keeps_minus_50_for_two_years_and_the_restriction_ends(
        app_client, tokens, townships):
    township, _ = townships
    admin, other, county = await tokens("township_admin"), await tokens("township_admin2"), await tokens("county_admin")
    home, neighbour = await _homes(township, 2)
    event_id, entry_id = await _negative(app_client, admin, home.head, "JUDGMENT-DEFAULTER", LONG_AGO)
    head, member, stranger = (await _villager_for(app_client, home.head), await _villager_for(app_client, home.member),
                              await _villager_for(app_client, neighbour.head))
    before = (await app_client.get("/api/v1/me/points", headers=head)).json()
    assert before["standing"]["grade_override"] == "D" and _entry(before, entry_id)["in_force"]
    assert await _restricted(app_client, county, home.household_id)

    # what it needs, told at once
    needs = await app_client.get(f"/api/v1/repairs/requirements?entry_id={entry_id}", headers=head)
    assert needs.status_code == 200, needs.text
    needs = needs.json()
    assert (needs["severity"], needs["can_apply"], needs["refusals"]) == ("serious", True, [])
    assert needs["display_ends_on"] == add_months(LONG_AGO, 12).isoformat()
    routes = {r["route"]: r for r in needs["routes"]}
    assert set(routes) == {"commitment", "rectification", "training", "public_interest"}
    assert routes["rectification"]["replaced_by"] == {"item_code": "JUDGMENT-PERFORMED", "name_zh": routes[
        "rectification"]["replaced_by"]["name_zh"], "points": "-50.0", "validity_years": 2}
    assert [d["name"] for d in routes["rectification"]["documents"]] == ["rectification_photo_ids",
                                                                         "correction_photo_ids"]
    assert (await app_client.get(f"/api/v1/repairs/requirements?entry_id={entry_id}", headers=stranger)).status_code == 404
    assert (await app_client.get(f"/api/v1/repairs/requirements?entry_id={entry_id}", headers=other)).status_code == 404

    # the application: the member is not the subject, a stranger does not see it; the head files it
    corrected_on = TODAY - timedelta(days=3)
    body = {"entry_id": entry_id, "route": "rectification", "corrected_on": corrected_on.isoformat(),
            "statement": "已于本月全部履行（2025）甘0702执字第88号判决确定的义务，法院已出具结案通知书"}
    assert (await app_client.post("/api/v1/repairs", headers=stranger, json=body)).status_code == 404
    refused = await app_client.post("/api/v1/repairs", headers=member, json=body)
    assert refused.status_code == 403 and refused.json()["code"] == "REPAIR_NOT_SUBJECT"
    future = await app_client.post("/api/v1/repairs", headers=head,
                                   json={**body, "corrected_on": (TODAY + timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and future.json()["code"] == "REPAIR_CORRECTED_ON_INVALID"
    filed = await app_client.post("/api/v1/repairs", headers=head, json=body)
    assert filed.status_code == 201, filed.text
    application = filed.json()
    assert application["status"] == application["due"] == "incomplete"
    assert [m["name"] for m in application["missing"]] == ["rectification_photo_ids", "correction_photo_ids"]
    assert all(m["name_zh"] for m in application["missing"])
    assert application["township_id"] == township and application["decide_by"] is None
    again = await app_client.post("/api/v1/repairs", headers=head, json=body)
    assert again.status_code == 409 and again.json()["code"] == "REPAIR_ALREADY_PENDING"

    url = f"/api/v1/repairs/{application['id']}"
    decision = {"decision": "approve", "reason": "经核查法院结案通知书，义务已全部履行，同意修复"}
    early = await app_client.post(url + "/decide", headers=admin, json=decision)
    assert early.status_code == 409 and early.json()["code"] == "REPAIR_INCOMPLETE"

    # another township: neither sees, supplements nor decides; the household sees it
    assert (await app_client.get(url, headers=other)).status_code == 404
    foreign_photo = await _photo(app_client, other)
    assert (await app_client.post(url + "/documents", headers=other, json={
        "documents": {"correction_photo_ids": [foreign_photo]}})).status_code == 404
    assert (await app_client.post(url + "/decide", headers=other, json=decision)).status_code == 404
    assert application["id"] not in [a["id"] for a in (await app_client.get("/api/v1/repairs", headers=other)).json()["items"]]
    assert (await app_client.get(url, headers=stranger)).status_code == 404
    assert (await app_client.get(url, headers=member)).status_code == 200

    # the township supplements: first one document (still incomplete, one missing), then the other
    first = await app_client.post(url + "/documents", headers=admin, json={
        "documents": {"rectification_photo_ids": [await _photo(app_client, admin)]}})
    assert first.status_code == 200, first.text
    assert (first.json()["status"], [m["name"] for m in first.json()["missing"]]) == ("incomplete",
                                                                                    ["correction_photo_ids"])
    used = await app_client.post(url + "/documents", headers=admin, json={
        "documents": {"correction_photo_ids": first.json()["documents"]["rectification_photo_ids"]}})
    assert used.status_code == 422 and used.json()["code"] == "EVIDENCE_UNKNOWN"  # a photo serves one purpose
    complete = await app_client.post(url + "/documents", headers=admin, json={
        "documents": {"correction_photo_ids": [await _photo(app_client, admin)]}})
    assert complete.status_code == 200, complete.text
    opened = complete.json()
    assert (opened["status"], opened["missing"], opened["complete_on"]) == ("open", [], TODAY.isoformat())
    assert opened["decide_by"] == WorkCalendar().add_working_days(TODAY, 7).isoformat()

    # approved: repaired in the ledger, replaced by the catalogue's kept deduction, the restriction ends
    decided = await app_client.post(url + "/decide", headers=admin, json=decision)
    assert decided.status_code == 200, decided.text
    approved = decided.json()
    assert approved["status"] == "approved" and approved["decided_on_time"] and approved["replacement_event_id"]
    again = await app_client.post(url + "/decide", headers=admin, json=decision)
    assert again.status_code == 409 and again.json()["code"] == "REPAIR_DECIDED"

    after = (await app_client.get("/api/v1/me/points", headers=head)).json()
    original = _entry(after, entry_id)
    assert original["repaired"] and original["cancelled"] and not original["in_force"]
    cancel = next(e for e in after["entries"] if e["reverses_entry"] == entry_id)
    assert cancel["explanation_zh"].startswith("信用修复：") and "原记录保留" in cancel["explanation_zh"]
    assert decision["reason"] in cancel["explanation_zh"]
    kept = [e for e in after["entries"] if e["item_code"] == "JUDGMENT-PERFORMED"]
    assert [(e["points"], e["valid_from"], e["in_force"], e["event_id"]) for e in kept] == [
        ("-50.0", corrected_on.isoformat(), True, approved["replacement_event_id"])]
    assert date.fromisoformat(kept[0]["valid_until"]) == corrected_on.replace(year=corrected_on.year + 2)
    assert "经信用修复" in kept[0]["explanation_zh"]
    assert after["standing"]["grade_override"] is None
    assert float(after["standing"]["score"]) == float(before["standing"]["base"]) - 50
    assert not await _restricted(app_client, county, home.household_id)
    assert (await fetch("SELECT status FROM credit_event WHERE id = {}", event_id))[0]["status"] == "repaired"
    assert (await chain.verify()).ok

    # the subject sees the decision; the filing and the decision cannot be rewritten nor deleted
    seen = (await app_client.get(url, headers=head)).json()
    assert seen["decision_reason"] == decision["reason"] and seen["status"] == "approved"
    with pytest.raises(Exception, match="cannot change"):
        await fetch("UPDATE repair_application SET decision_reason = 'x' WHERE id = {}", application["id"])
    with pytest.raises(Exception, match="never deleted"):
        await fetch("DELETE FROM repair_application WHERE id = {}", application["id"])
    # nothing left to repair: a second application is refused with the reason
    ended = await app_client.post("/api/v1/repairs", headers=head, json=body)
    assert ended.status_code == 422 and [r["code"] for r in ended.json()["details"]["refusals"]] == [
        "REPAIR_ALREADY_ENDED"]


async def test_every_reason_is_told_at_once_and_a_refusal_carries_written_reasons(app_client, tokens, townships):
    township, _ = townships
    admin = await tokens("township_admin")
    (home,) = await _homes(township, 1)
    _, recent = await _negative(app_client, admin, home.head, "JUDGMENT-DEFAULTER", RECENT)
    head = await _villager_for(app_client, home.head)
    needs = (await app_client.get(f"/api/v1/repairs/requirements?entry_id={recent}", headers=head)).json()
    assert not needs["can_apply"] and [r["code"] for r in needs["refusals"]] == ["REPAIR_DISPLAY_NOT_OVER"]
    body = {"entry_id": recent, "route": "training", "corrected_on": TODAY.isoformat(), "statement": "已参加培训"}
    refused = await app_client.post("/api/v1/repairs", headers=head, json=body)
    assert refused.status_code == 422 and refused.json()["code"] == "REPAIR_NOT_ACCEPTED"
    assert [r["code"] for r in refused.json()["details"]["refusals"]] == ["REPAIR_DISPLAY_NOT_OVER"]
    assert all(r["message_zh"] and r["message_en"] for r in refused.json()["details"]["refusals"])
    assert not await fetch("SELECT 1 FROM repair_application WHERE entry_id = {}", recent)

    # a minor deduction may be repaired at once; the township refuses with written reasons
    _, minor = await _negative(app_client, admin, home.member, "ENV-DUMPING", RECENT)
    member = await _villager_for(app_client, home.member)
    assert (await app_client.get(f"/api/v1/repairs/requirements?entry_id={minor}", headers=member)).json()[
        "can_apply"]
    filed = await app_client.post("/api/v1/repairs", headers=member, json={**body, "entry_id": minor,
                                                                            "corrected_on": RECENT.isoformat()})
    assert filed.status_code == 201, filed.text
    url = f"/api/v1/repairs/{filed.json()['id']}"
    await app_client.post(url + "/documents", headers=admin, json={"documents": {
        "training_certificate_photo_ids": [await _photo(app_client, admin)],
        "correction_photo_ids": [await _photo(app_client, admin)]}})
    reason = "培训证明与本人身份不符，请补充本人参加培训的证明后重新申请"
    decided = await app_client.post(url + "/decide", headers=admin, json={"decision": "refuse", "reason": reason})
    assert decided.status_code == 200, decided.text
    seen = (await app_client.get(url, headers=member)).json()
    assert (seen["status"], seen["decision_reason"], seen["replacement_event_id"]) == ("refused", reason, None)
    points = (await app_client.get("/api/v1/me/points", headers=member)).json()
    assert _entry(points, minor)["in_force"] and not _entry(points, minor)["repaired"]  # it stands


async def test_a_corrected_wage_arrears_listing_with_a_signed_commitment_becomes_minus_60(app_client, tokens, townships):
    township, _ = townships
    admin = await tokens("township_admin")
    (home,) = await _homes(township, 1)
    _, entry_id = await _negative(app_client, admin, home.head, "WAGE-ARREARS-LISTED", LONG_AGO)
    head = await _villager_for(app_client, home.head)
    needs = (await app_client.get(f"/api/v1/repairs/requirements?entry_id={entry_id}", headers=head)).json()
    assert [r["route"] for r in needs["routes"]] == ["commitment"]
    assert needs["routes"][0]["replaced_by"]["points"] == "-60.0"
    training = await app_client.post("/api/v1/repairs", headers=head, json={
        "entry_id": entry_id, "route": "training", "corrected_on": TODAY.isoformat(), "statement": "工资已全部付清"})
    assert [r["code"] for r in training.json()["details"]["refusals"]] == ["REPAIR_ROUTE_NOT_ALLOWED"]

    templates = (await app_client.get("/api/v1/commitment-templates", headers=head)).json()
    template = next(t for t in (templates["items"] if isinstance(templates, dict) else templates)
                    if t["purpose"] == "repair")
    signed = await app_client.post("/api/v1/commitments", headers=head, json={
        "idempotency_key": f"rep-{uuid.uuid4().hex}", "template_id": template["id"], "subject_kind": "person",
        "subject_id": home.head})
    assert signed.status_code == 201, signed.text
    other_home = (await _homes(township, 2))[1]
    foreign = await _villager_for(app_client, other_home.head)
    theirs = await app_client.post("/api/v1/commitments", headers=foreign, json={
        "idempotency_key": f"rep-{uuid.uuid4().hex}", "template_id": template["id"], "subject_kind": "person",
        "subject_id": other_home.head})
    assert theirs.status_code == 201, theirs.text
    body = {"entry_id": entry_id, "route": "commitment", "corrected_on": (TODAY - timedelta(days=1)).isoformat(),
            "statement": "拖欠工资已于上月全部付清，满足提前移出条件，签署守信承诺"}
    wrong = await app_client.post("/api/v1/repairs", headers=head, json={**body, "commitment_id": theirs.json()["id"]})
    assert wrong.status_code == 422 and wrong.json()["code"] == "REPAIR_COMMITMENT_UNUSABLE"
    filed = await app_client.post("/api/v1/repairs", headers=head, json={**body, "commitment_id": signed.json()["id"]})
    assert filed.status_code == 201, filed.text
    assert [m["name"] for m in filed.json()["missing"]] == ["correction_photo_ids"]
    url = f"/api/v1/repairs/{filed.json()['id']}"
    opened = await app_client.post(url + "/documents", headers=admin, json={
        "documents": {"correction_photo_ids": [await _photo(app_client, admin)]}})
    assert opened.json()["status"] == "open", opened.text
    decided = await app_client.post(url + "/decide", headers=await tokens("county_admin"),
                                    json={"decision": "approve", "reason": "工资已付清，承诺已签署，同意修复"})
    assert decided.status_code == 200, decided.text
    points = (await app_client.get("/api/v1/me/points", headers=head)).json()
    kept = [e for e in points["entries"] if e["item_code"] == "DOWNGRADE-CORRECTED"]
    assert [(e["points"], e["in_force"]) for e in kept] == [("-60.0", True)]
    assert points["standing"]["grade_override"] is None


async def test_the_crons_warn_and_escalate_once(app_client, tokens, townships):
    township, _ = townships
    admin = await tokens("township_admin")
    (home,) = await _homes(township, 1)
    _, entry_id = await _negative(app_client, admin, home.head, "ENV-DUMPING", RECENT)
    worker_home = home
    head = await _villager_for(app_client, worker_home.head)
    filed = await app_client.post("/api/v1/repairs", headers=head, json={
        "entry_id": entry_id, "route": "public_interest", "corrected_on": RECENT.isoformat(), "statement": "参加公益劳动"})
    url = f"/api/v1/repairs/{filed.json()['id']}"
    opened = (await app_client.post(url + "/documents", headers=admin, json={"documents": {
        "activity_photo_ids": [await _photo(app_client, admin)],
        "correction_photo_ids": [await _photo(app_client, admin)]}})).json()
    warn_on, decide_by = date.fromisoformat(opened["warn_on"]), date.fromisoformat(opened["decide_by"])
    assert filed.json()["id"] not in await services.warn_due(warn_on - timedelta(days=1))
    assert filed.json()["id"] in await services.warn_due(warn_on)
    assert filed.json()["id"] not in await services.warn_due(warn_on)  # once
    assert filed.json()["id"] not in await services.escalate_overdue(decide_by)
    assert filed.json()["id"] in await services.escalate_overdue(decide_by + timedelta(days=1))
    county = await tokens("county_admin")
    queue = (await app_client.get("/api/v1/repairs?due=escalated", headers=county)).json()
    assert filed.json()["id"] in [a["id"] for a in queue["items"]]
    withdrawn = await app_client.post(url + "/withdraw", headers=head)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert (await app_client.post(url + "/withdraw", headers=head)).status_code == 409
