"""信用承诺 (issue 11.3) through the HTTP API: the county's templates (shipped defaults, a county
admin's new wording), signing in the app (the villager for themself, the head for the household),
on paper by the grid worker (photo required: 422 without it), scope (another township, another
grid, a neighbour: 404 to see, sign or decide), broken → a counted COMMITMENT-BROKEN event with its
points in the subject's ledger, kept after the check date → COMMITMENT-KEPT (under a frozen clock),
a second decision refused with nothing written twice, and ``usable_commitment`` for the repair slice."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import pytest

from backend import clock
from backend.auth import accounts
from backend.auth.roles import Role
from backend.auth.services import account_actor
from backend.commitments import services
from backend.commitments.jobs import count_due_commitments
from backend.commitments.schemas import DecisionIn
from backend.db import fetch
from backend.errors import Conflict, InvalidInput
from backend.registry import protection
from dev.seed import DEMO_PASSWORD
from points_rules.commitments import DEFAULT_TEMPLATES, PURPOSES, check_date, text_sha256
from tests.integration.fieldwork.photos import upload

TODAY = clock.today()


async def _login(client, username: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _villager_for(client, person_id: int) -> dict[str, str]:
    cipher = (await fetch("SELECT id_number_cipher FROM person WHERE id = {}", person_id))[0]["id_number_cipher"]
    name = f"villager_cmt_{person_id}_{secrets.token_hex(3)}"
    await accounts.create_account(name, DEMO_PASSWORD, Role.VILLAGER,
                                  person_id_number=protection.reveal_id_number(cipher))
    return await _login(client, name)


@dataclass
class Home:
    household_id: int
    head: int
    member: int  # another member, not the head


async def _households(where: str, *args, n: int) -> list[Home]:
    """Households (a head and another member) matching ``where`` (aliases h, v) that no test touched:
    no commitment, no ledger entry, no villager account."""
    rows = await fetch(
        f"""SELECT h.id, head.person AS head, (SELECT m.person FROM household_membership m
                   WHERE m.household = h.id AND m.valid_to IS NULL AND m.relation <> '户主'
                   ORDER BY m.person LIMIT 1) AS member
            FROM household h JOIN village v ON v.id = h.village
            JOIN household_membership head ON head.household = h.id AND head.valid_to IS NULL
                 AND head.relation = '户主'
            WHERE {where} AND NOT EXISTS (SELECT 1 FROM credit_commitment k WHERE k.household_id = h.id)
              AND NOT EXISTS (SELECT 1 FROM ledger_entry le WHERE le.household_id = h.id)
              AND NOT EXISTS (SELECT 1 FROM credit_event ce WHERE ce.household_id = h.id)
              AND NOT EXISTS (SELECT 1 FROM account a JOIN household_membership am ON am.person = a.person
                              AND am.valid_to IS NULL WHERE am.household = h.id)
            ORDER BY h.id LIMIT 60""", *args)
    homes = [Home(r["id"], r["head"], r["member"]) for r in rows if r["member"] is not None]
    assert len(homes) >= n
    return homes[:n]


@dataclass
class World:
    township: int
    other_township: int
    grids: list[int]
    township_admin_id: int
    county_admin_id: int


@pytest.fixture(scope="module")
async def world(app_client, tokens) -> World:
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens("township_admin"))).json()
    me2 = (await app_client.get("/api/v1/auth/me", headers=await tokens("township_admin2"))).json()
    worker = (await app_client.get("/api/v1/auth/me", headers=await tokens("grid_worker"))).json()
    county = (await app_client.get("/api/v1/auth/me", headers=await tokens("county_admin"))).json()
    return World(me["township_id"], me2["township_id"], worker["grid_ids"], me["id"], county["id"])


def _key() -> str:
    return f"cmt-{uuid.uuid4().hex}"


async def _template(app_client, headers, purpose: str = "repair") -> dict:
    listed = await app_client.get("/api/v1/commitment-templates", headers=headers, params={"purpose": purpose})
    assert listed.status_code == 200, listed.text
    return listed.json()[0]


async def _events(commitment_id: int) -> list[dict]:
    return await fetch("SELECT * FROM credit_event WHERE idempotency_key = {}", f"commitment:{commitment_id}")


# --- templates -------------------------------------------------------------------------------------------


async def test_templates_default_per_purpose_and_a_county_admin_adds_a_wording(app_client, tokens, world):
    worker = await tokens("grid_worker")
    listed = await app_client.get("/api/v1/commitment-templates", headers=worker)
    assert listed.status_code == 200, listed.text
    templates = listed.json()
    assert {t["purpose"] for t in templates} == set(PURPOSES)
    repair = next(t for t in templates if t["purpose"] == "repair" and t["created_at"])
    assert repair["purpose_name_zh"] == "信用修复守信承诺"
    assert all(t["text_sha256"] == text_sha256(t["text"]) and t["active"] for t in templates)
    defaults = {t["text"] for t in templates}
    assert {d["text"] for d in DEFAULT_TEMPLATES.values()} <= defaults

    body = {"purpose": "subsidy_claim", "title": "耕地地力保护补贴申领承诺书",
            "text": "本户申领耕地地力保护补贴，承诺申报面积与实际种植面积一致，不虚报、不冒领。", "term_months": 6}
    assert (await app_client.post("/api/v1/commitment-templates", headers=await tokens("township_admin"),
                                  json=body)).status_code == 403
    assert (await app_client.post("/api/v1/commitment-templates", headers=await tokens("county_admin"),
                                  json={**body, "term_months": 37})).status_code == 400
    created = await app_client.post("/api/v1/commitment-templates", headers=await tokens("county_admin"), json=body)
    assert created.status_code == 201, created.text
    new = created.json()
    assert new["text_sha256"] == text_sha256(body["text"]) and new["term_months"] == 6 and new["active"]
    newest = await _template(app_client, worker, "subsidy_claim")
    assert newest["id"] == new["id"]  # newest first within a purpose

    # The wording is immutable in the database itself: only ``active`` may change, nothing is deleted.
    with pytest.raises(Exception, match="cannot change"):
        await fetch("UPDATE commitment_template SET text = text || '。' WHERE id = {}", new["id"])
    with pytest.raises(Exception, match="never deleted"):
        await fetch("DELETE FROM commitment_template WHERE id = {}", new["id"])
    await fetch("UPDATE commitment_template SET active = false WHERE id = {}", new["id"])
    ids = [t["id"] for t in (await app_client.get("/api/v1/commitment-templates", headers=worker)).json()]
    assert new["id"] not in ids
    county_ids = [t["id"] for t in (await app_client.get("/api/v1/commitment-templates",
                                                         headers=await tokens("county_admin"))).json()]
    assert new["id"] in county_ids  # the county admin still sees the withdrawn wording


# --- signing in the app ----------------------------------------------------------------------------------


async def test_a_villager_signs_for_themself_and_the_head_for_the_household(app_client, tokens, world):
    home, neighbour = await _households("v.township = {}", world.township, n=2)
    head = await _villager_for(app_client, home.head)
    member = await _villager_for(app_client, home.member)
    template = await _template(app_client, head)

    mine = {"idempotency_key": _key(), "template_id": template["id"], "subject_kind": "person",
            "subject_id": home.member}
    signed = await app_client.post("/api/v1/commitments", headers=member, json=mine)
    assert signed.status_code == 201, signed.text
    own = signed.json()
    assert own["status"] == "signed" and own["due"] == "running" and own["channel"] == "app"
    assert own["signed_on"] == TODAY.isoformat() and own["term_months"] == template["term_months"]
    assert own["check_on"] == check_date(TODAY, template["term_months"]).isoformat()
    assert own["signed_by_person_id"] == home.member and own["person_id"] == home.member
    assert own["text_sha256"] == template["text_sha256"] and own["township_id"] == world.township
    replay = await app_client.post("/api/v1/commitments", headers=member, json=mine)
    assert replay.status_code == 201 and replay.json()["id"] == own["id"]
    reused = await app_client.post("/api/v1/commitments", headers=member, json={**mine, "term_months": 3})
    assert reused.status_code == 409 and reused.json()["code"] == "COMMITMENT_IDEMPOTENCY_CONFLICT"

    for_household = {"idempotency_key": _key(), "template_id": template["id"], "subject_kind": "household",
                     "subject_id": home.household_id, "term_months": 6}
    refused = await app_client.post("/api/v1/commitments", headers=member, json=for_household)
    assert refused.status_code == 403 and refused.json()["code"] == "COMMITMENT_NOT_SIGNER"
    as_head = await app_client.post("/api/v1/commitments", headers=head, json=for_household)
    assert as_head.status_code == 201, as_head.text
    household = as_head.json()
    assert household["subject_kind"] == "household" and household["signed_by_person_id"] == home.head
    assert household["term_months"] == 6 and household["person_id"] is None

    # A member's own commitment is theirs: the head cannot sign it for them; a neighbour is not found.
    for_member = {**mine, "idempotency_key": _key()}
    assert (await app_client.post("/api/v1/commitments", headers=head, json=for_member)).json()["code"] \
        == "COMMITMENT_NOT_SIGNER"
    foreign = {**for_household, "idempotency_key": _key(), "subject_id": neighbour.household_id}
    assert (await app_client.post("/api/v1/commitments", headers=head, json=foreign)).status_code == 404
    other_county = {**mine, "idempotency_key": _key(), "template_id": 2**31 - 1}
    assert (await app_client.post("/api/v1/commitments", headers=member, json=other_county)).json()["code"] \
        == "COMMITMENT_TEMPLATE_UNKNOWN"
    strict = await app_client.post("/api/v1/commitments", headers=member,
                                   json={**mine, "idempotency_key": _key(), "template_id": str(template["id"])})
    assert strict.status_code == 400

    # Each sees their own; the household's commitment is the household's, seen by both members.
    listed = (await app_client.get("/api/v1/commitments", headers=member)).json()
    assert {c["id"] for c in listed["items"]} == {own["id"], household["id"]}
    stranger = await _villager_for(app_client, neighbour.head)
    assert (await app_client.get(f"/api/v1/commitments/{own['id']}", headers=stranger)).status_code == 404
    assert (await app_client.get("/api/v1/commitments", headers=stranger)).json()["total"] == 0
    logged = await fetch("SELECT count(*) AS n FROM access_log WHERE subject_kind = 'person' AND subject_id = {} "
                         "AND purpose = 'credit_commitment'", home.member)
    assert logged[0]["n"] >= 1


# --- on paper, and scope -------------------------------------------------------------------------------


async def test_paper_needs_its_photo_and_other_townships_neither_see_nor_decide(app_client, tokens, world):
    home, = await _households("h.grid = ANY({})", world.grids, n=1)
    away, = await _households("v.township = {}", world.other_township, n=1)
    outside, = await _households("v.township = {} AND NOT (h.grid = ANY({}))", world.township, world.grids, n=1)
    worker = await tokens("grid_worker")
    template = await _template(app_client, worker, "tolerance_acceptance")
    body = {"idempotency_key": _key(), "template_id": template["id"], "subject_kind": "household",
            "subject_id": home.household_id, "signed_on": (TODAY - timedelta(days=3)).isoformat()}

    missing = await app_client.post("/api/v1/commitments/paper", headers=worker,
                                    json={**body, "signed_on": (TODAY + timedelta(days=1)).isoformat()})
    assert missing.status_code == 422, missing.text
    assert missing.json()["code"] == "COMMITMENT_PAPER_INVALID"
    assert {p["code"] for p in missing.json()["details"]["problems"]} == {"COMMITMENT_PHOTO_REQUIRED",
                                                                          "COMMITMENT_SIGNED_ON_FUTURE"}
    photo = await upload(app_client, worker)
    for subject in (outside, away):  # another grid of the township, another township: not found
        refused = await app_client.post("/api/v1/commitments/paper", headers=worker, json={
            **body, "idempotency_key": _key(), "subject_id": subject.household_id, "paper_evidence_id": photo})
        assert refused.status_code == 404, refused.text
    assert (await app_client.post("/api/v1/commitments/paper", headers=await tokens("villager"),
                                  json={**body, "paper_evidence_id": photo})).status_code == 403

    captured = await app_client.post("/api/v1/commitments/paper", headers=worker,
                                     json={**body, "paper_evidence_id": photo})
    assert captured.status_code == 201, captured.text
    paper = captured.json()
    assert paper["channel"] == "paper" and paper["paper_evidence_id"] == photo
    assert paper["signed_by_person_id"] == home.head and paper["recorded_by_role"] == "grid_worker"
    assert paper["check_on"] == check_date(TODAY - timedelta(days=3), template["term_months"]).isoformat()
    again = await app_client.post("/api/v1/commitments/paper", headers=worker,
                                  json={**body, "idempotency_key": _key(), "paper_evidence_id": photo})
    assert again.status_code == 422 and again.json()["details"]["problems"][0]["code"] == "EVIDENCE_UNKNOWN"

    other = await tokens("township_admin2")
    assert (await app_client.get(f"/api/v1/commitments/{paper['id']}", headers=other)).status_code == 404
    assert paper["id"] not in {c["id"] for c in (await app_client.get("/api/v1/commitments", headers=other,
                                                                      params={"limit": 200})).json()["items"]}
    other_photo = await upload(app_client, other)
    decided = await app_client.post(f"/api/v1/commitments/{paper['id']}/decide", headers=other, json={
        "outcome": "broken", "note": "未按期补齐材料", "evidence_ids": [other_photo]})
    assert decided.status_code == 404
    paper_by_other = await app_client.post("/api/v1/commitments/paper", headers=other, json={
        **body, "idempotency_key": _key(), "paper_evidence_id": other_photo})
    assert paper_by_other.status_code == 404
    assert (await app_client.get(f"/api/v1/commitments/{paper['id']}", headers=worker)).status_code == 200
    assert (await app_client.get(f"/api/v1/commitments/{paper['id']}",
                                 headers=await tokens("township_admin"))).status_code == 200
    assert not await _events(paper["id"])

    # The sheet's photo: seen by those who may see the commitment (the deciding township), logged.
    assert await services.photo_visible(await account_actor(world.township_admin_id), photo)
    other_actor = await account_actor((await fetch("SELECT id FROM account WHERE username = 'township_admin2'"))[0]["id"])
    assert not await services.photo_visible(other_actor, photo)
    assert (await fetch("SELECT status FROM credit_commitment WHERE id = {}", paper["id"]))[0]["status"] == "signed"


# --- deciding -----------------------------------------------------------------------------------------------


async def test_broken_becomes_a_counted_negative_event_once(app_client, tokens, world):
    home, = await _households("v.township = {}", world.township, n=1)
    head = await _villager_for(app_client, home.head)
    template = await _template(app_client, head)
    signed = await app_client.post("/api/v1/commitments", headers=head, json={
        "idempotency_key": _key(), "template_id": template["id"], "subject_kind": "person",
        "subject_id": home.head})
    assert signed.status_code == 201, signed.text
    commitment = signed.json()
    admin = await tokens("township_admin")

    no_photo = await app_client.post(f"/api/v1/commitments/{commitment['id']}/decide", headers=admin,
                                     json={"outcome": "broken", "note": "再次拖欠工资"})
    assert no_photo.status_code == 422
    assert [p["code"] for p in no_photo.json()["details"]["problems"]] == ["COMMITMENT_EVIDENCE_REQUIRED"]
    early = await app_client.post(f"/api/v1/commitments/{commitment['id']}/decide", headers=admin,
                                  json={"outcome": "kept", "note": "按期履约"})
    assert early.status_code == 422
    assert [p["code"] for p in early.json()["details"]["problems"]] == ["COMMITMENT_NOT_DUE"]
    assert (await app_client.post(f"/api/v1/commitments/{commitment['id']}/decide", headers=head,
                                  json={"outcome": "kept", "note": "按期履约"})).status_code == 403

    photo = await upload(app_client, admin)
    broken = await app_client.post(f"/api/v1/commitments/{commitment['id']}/decide", headers=admin, json={
        "outcome": "broken", "note": "承诺期内再次拖欠务工人员工资，经核实", "evidence_ids": [photo]})
    assert broken.status_code == 200, broken.text
    decided = broken.json()
    assert decided["status"] == "broken" and decided["due"] == "decided" and decided["event_id"]
    assert decided["decided_on"] == TODAY.isoformat() and decided["decision_evidence_ids"] == [photo]

    events = await _events(commitment["id"])
    assert len(events) == 1 and events[0]["id"] == decided["event_id"]
    event = events[0]
    assert event["item_code"] == "COMMITMENT-BROKEN" and event["status"] == "counted"
    assert (event["subject_kind"], event["subject_id"], event["occurred_on"]) == ("person", home.head, TODAY)
    entries = await fetch("SELECT * FROM ledger_entry WHERE event = {}", event["id"])
    assert [e["points"] for e in entries] == [-200]  # −20 分, in tenths
    assert (await fetch("SELECT event FROM evidence WHERE id = {}", photo))[0]["event"] == event["id"]
    points = (await app_client.get("/api/v1/me/points", headers=head)).json()
    assert any(e["item_code"] == "COMMITMENT-BROKEN" and e["points"] == "-20.0" for e in points["entries"])

    # Once only: a retry, the county, a kept afterwards — 409, and nothing written twice.
    for headers, outcome in ((admin, "broken"), (await tokens("county_admin"), "kept")):
        again = await app_client.post(f"/api/v1/commitments/{commitment['id']}/decide", headers=headers, json={
            "outcome": outcome, "note": "重复提交", "evidence_ids": [await upload(app_client, headers)]})
        assert again.status_code == 409 and again.json()["code"] == "COMMITMENT_DECIDED"
    assert len(await _events(commitment["id"])) == 1
    assert len(await fetch("SELECT id FROM ledger_entry WHERE event = {}", event["id"])) == 1
    with pytest.raises(Exception, match="decided and cannot change"):
        await fetch("UPDATE credit_commitment SET decision_note = 'x' WHERE id = {}", commitment["id"])

    assert await services.usable_commitment(commitment["id"], subject_kind="person", subject_id=home.head) is None


async def test_kept_after_the_check_date_and_concurrent_decisions(app_client, tokens, world):
    import asyncio

    home, = await _households("v.township = {}", world.township, n=1)
    head = await _villager_for(app_client, home.head)
    template = await _template(app_client, head)
    signed = await app_client.post("/api/v1/commitments", headers=head, json={
        "idempotency_key": _key(), "template_id": template["id"], "subject_kind": "household",
        "subject_id": home.household_id, "term_months": 1})
    assert signed.status_code == 201, signed.text
    commitment = signed.json()
    check_on = check_date(TODAY, 1)
    assert commitment["check_on"] == check_on.isoformat()

    township_admin = await account_actor(world.township_admin_id)
    county_admin = await account_actor(world.county_admin_id)
    kept = DecisionIn(outcome="kept", note="承诺期内无违诺行为，按期履约")
    with clock.frozen(datetime.combine(check_on - timedelta(days=1), time(10), clock.zone())):
        with pytest.raises(InvalidInput) as early:
            await services.decide(township_admin, commitment["id"], kept)
        assert early.value.details["problems"][0]["code"] == "COMMITMENT_NOT_DUE"
        assert commitment["id"] not in {c.id for c in (await services.list_commitments(
            township_admin, due="due", limit=200)).items}
    with clock.frozen(datetime.combine(check_on, time(10), clock.zone())):
        due = await services.list_commitments(township_admin, due="due", limit=200)
        assert commitment["id"] in {c.id for c in due.items}
        assert await count_due_commitments({}) >= 1
        results = await asyncio.gather(services.decide(township_admin, commitment["id"], kept),
                                       services.decide(county_admin, commitment["id"], kept),
                                       return_exceptions=True)
    done = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(done) == 1 and len(refused) == 1 and isinstance(refused[0], Conflict)
    assert refused[0].code == "COMMITMENT_DECIDED"
    assert done[0].status == "kept" and done[0].decided_on == check_on
    events = await _events(commitment["id"])
    assert len(events) == 1 and events[0]["item_code"] == "COMMITMENT-KEPT" and events[0]["status"] == "counted"
    assert (events[0]["subject_kind"], events[0]["subject_id"]) == ("household", home.household_id)
    assert events[0]["occurred_on"] == check_on  # fulfilled on the term's last day
    entries = await fetch("SELECT points, valid_from FROM ledger_entry WHERE event = {}", events[0]["id"])
    assert [(e["points"], e["valid_from"]) for e in entries] == [(20, check_on)]

    usable = await services.usable_commitment(commitment["id"], subject_kind="household",
                                              subject_id=home.household_id)
    assert usable is not None and usable["status"] == "kept"


async def test_usable_commitment(app_client, tokens, world):
    home, = await _households("v.township = {}", world.township, n=1)
    head = await _villager_for(app_client, home.head)
    templates = {t["purpose"]: t for t in (await app_client.get("/api/v1/commitment-templates", headers=head)).json()}

    async def sign(purpose: str, kind: str, subject: int) -> int:
        signed = await app_client.post("/api/v1/commitments", headers=head, json={
            "idempotency_key": _key(), "template_id": templates[purpose]["id"], "subject_kind": kind,
            "subject_id": subject})
        assert signed.status_code == 201, signed.text
        return signed.json()["id"]

    household_repair = await sign("repair", "household", home.household_id)
    person_repair = await sign("repair", "person", home.head)
    person_subsidy = await sign("subsidy_claim", "person", home.head)

    found = await services.usable_commitment(household_repair, subject_kind="household", subject_id=home.household_id)
    assert found is not None
    assert {k: found[k] for k in ("id", "purpose", "status", "signed_on", "subject_kind", "subject_id")} == {
        "id": household_repair, "purpose": "repair", "status": "signed", "signed_on": TODAY,
        "subject_kind": "household", "subject_id": home.household_id}
    assert found["check_on"] == check_date(TODAY, templates["repair"]["term_months"])
    # A household's commitment serves the household only, a person's the person only.
    assert await services.usable_commitment(household_repair, subject_kind="person", subject_id=home.head) is None
    assert await services.usable_commitment(person_repair, subject_kind="household",
                                            subject_id=home.household_id) is None
    assert (await services.usable_commitment(person_repair, subject_kind="person", subject_id=home.head))["id"] \
        == person_repair
    assert await services.usable_commitment(person_repair, subject_kind="person", subject_id=home.member) is None
    # Another purpose: not unless asked for.
    assert await services.usable_commitment(person_subsidy, subject_kind="person", subject_id=home.head) is None
    assert (await services.usable_commitment(person_subsidy, subject_kind="person", subject_id=home.head,
                                             purpose="subsidy_claim"))["id"] == person_subsidy
    assert await services.usable_commitment(2**62, subject_kind="person", subject_id=home.head) is None
