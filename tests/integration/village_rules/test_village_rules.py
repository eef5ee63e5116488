"""村规民约积分 (issue 12 item 4) through the HTTP API: the county's limits, a village's rule set refused
item by item when it does not fit, proposed by a township admin and approved only by a second admin,
frozen once approved; village points recorded by the grid worker and the township (deductions by the
township only), idempotent, labelled as village items, totalled as of a day, reversed by a
compensating row; another township, another grid, another village refused; the county ledger
untouched; the county switch reports the county grade beside the village total without changing it.

Subjects: the last households of the demo grid worker's grids (and the villager's own person for
``/me``), in the grid worker's village and another village of the same township.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
import pytest

from backend import clock
from backend.db import fetch

TODAY = clock.today()


async def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


@dataclass
class World:
    village: dict  # the grid worker's village: id, code, name
    other_village: dict  # another village of township_admin's township
    person: int  # a member of the last household of the grid worker's grids
    household: int
    other_person: int  # a person of the other village
    far_person: int  # a person of township_admin2's township
    villager_person: int
    version: dict  # the approved rule set of ``village``


def _items(code: str) -> list[dict]:
    return [
        {"code": f"V-{code}-YARD", "name_zh": "庭院整洁", "behaviour_zh": "庭院干净整洁，经村评比获评",
         "category": "环境卫生", "points": 2, "validity_years": 1, "needs_review": False},
        {"code": f"V-{code}-MEETING", "name_zh": "参加村民会议", "behaviour_zh": "按时参加村民会议并签到",
         "category": "村务参与", "points": 0.5, "validity_years": 1, "needs_review": False},
        {"code": f"V-{code}-LITTER", "name_zh": "乱扔垃圾", "behaviour_zh": "在公共区域乱扔垃圾，经劝阻不改",
         "category": "环境卫生", "points": -3, "validity_years": 2, "needs_review": True},
    ]


LIMITS = {"min_points": -10, "max_points": 10, "max_validity_years": 3, "allowed_categories": ["环境卫生", "村务参与"],
          "max_items": 5, "counts_toward_county_grade": False, "note": "县信用办2026年第1号"}


async def _village(village_id: int) -> dict:
    return (await fetch("SELECT id, code, name FROM village WHERE id = {}", village_id))[0]


async def _last_member(condition: str, *args) -> tuple[int, int]:
    rows = await fetch(f"""SELECT m.person, m.household FROM household_membership m JOIN household h ON h.id = m.household
                           JOIN village v ON v.id = h.village WHERE m.valid_to IS NULL AND {condition}
                           ORDER BY h.id DESC, m.person DESC LIMIT 1""", *args)
    return rows[0]["person"], rows[0]["household"]


async def _approved(client, tokens, village: dict) -> dict:
    proposed = await _ok(await client.post("/api/v1/village-rule-versions", headers=await tokens("township_admin"), json={
        "village_id": village["id"], "effective_from": TODAY.isoformat(), "items": _items(village["code"]),
        "note": "村民会议决议"}), 201)
    return await _ok(await client.post(f"/api/v1/village-rule-versions/{proposed['id']}/decide",
                                       headers=await tokens("county_admin"), json={"decision": "approve"}))


@pytest.fixture(scope="module")
async def world(app_client, tokens) -> World:
    worker = await _ok(await app_client.get("/api/v1/auth/me", headers=await tokens("grid_worker")))
    admin = await _ok(await app_client.get("/api/v1/auth/me", headers=await tokens("township_admin")))
    admin2 = await _ok(await app_client.get("/api/v1/auth/me", headers=await tokens("township_admin2")))
    villager = await _ok(await app_client.get("/api/v1/auth/me", headers=await tokens("villager")))
    await _ok(await app_client.post("/api/v1/village-rule-limits", headers=await tokens("county_admin"), json=LIMITS),
              201)
    village = await _village((await fetch("SELECT village FROM grid WHERE id = {}", worker["grid_ids"][0]))[0]["village"])
    other = await _village((await fetch("SELECT id FROM village WHERE township = {} AND id <> {} ORDER BY id DESC LIMIT 1",
                                        admin["township_id"], village["id"]))[0]["id"])
    person, household = await _last_member("h.grid = ANY({})", worker["grid_ids"])
    other_person, _ = await _last_member("h.village = {}", other["id"])
    far_person, _ = await _last_member("v.township = {}", admin2["township_id"])
    version = await _approved(app_client, tokens, village)
    await _approved(app_client, tokens, other)
    return World(village, other, person, household, other_person, far_person, villager["person_id"], version)


def _event(person: int, code: str, *, key: str | None = None, kind: str = "person", **extra) -> dict:
    return {"idempotency_key": key or uuid.uuid4().hex, "subject_kind": kind, "subject_id": person,
            "item_code": code, "occurred_on": TODAY.isoformat(), **extra}


async def test_limits_are_versioned_and_checked(app_client, tokens, world):
    county = await tokens("county_admin")
    listed = await _ok(await app_client.get("/api/v1/village-rule-limits", headers=county))
    assert listed[0]["version"] >= 1 and listed[0]["min_points"] == "-10" and listed[0]["village_categories"] == ["村务参与"]
    bad = await app_client.post("/api/v1/village-rule-limits", headers=county, json={
        **LIMITS, "min_points": 5, "max_points": 5, "max_validity_years": 9, "allowed_categories": []})
    assert bad.status_code == 422 and bad.json()["code"] == "VILLAGE_RULES_LIMITS_INVALID", bad.text
    assert {p["field"] for p in bad.json()["details"]["problems"]} == {"max_points", "max_validity_years",
                                                                      "allowed_categories"}
    refused = await app_client.post("/api/v1/village-rule-limits", headers=await tokens("township_admin"), json=LIMITS)
    assert refused.status_code == 403
    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
        await fetch("UPDATE village_rule_limits SET max_items = 99 WHERE id = {}", listed[0]["id"])


async def test_an_out_of_range_item_is_refused_naming_item_and_field(app_client, tokens, world):
    code = world.village["code"]
    items = _items(code)
    items[0] = {**items[0], "points": 12}  # over +10
    items[1] = {**items[1], "category": "赌博", "validity_years": 4}
    response = await app_client.post("/api/v1/village-rule-versions", headers=await tokens("township_admin"), json={
        "village_id": world.village["id"], "effective_from": (TODAY - timedelta(days=1)).isoformat(), "items": items})
    assert response.status_code == 422 and response.json()["code"] == "VILLAGE_RULES_INVALID", response.text
    problems = response.json()["details"]["problems"]
    assert {(p["item"], p["code"], p["field"]) for p in problems} == {
        (0, f"V-{code}-YARD", "points"), (1, f"V-{code}-MEETING", "category"),
        (1, f"V-{code}-MEETING", "validity_years"), (None, None, "effective_from")}
    assert "超出县级限额" in next(p["message_zh"] for p in problems if p["field"] == "points")


async def test_maker_checker_and_frozen_once_approved(app_client, tokens, world):
    admin = await tokens("township_admin")
    effective = TODAY + timedelta(days=30)
    proposed = await _ok(await app_client.post("/api/v1/village-rule-versions", headers=admin, json={
        "village_id": world.village["id"], "effective_from": effective.isoformat(),
        "items": _items(world.village["code"])[:2]}), 201)
    assert proposed["status"] == "proposed" and proposed["version"] > world.version["version"]
    assert proposed["sha256"] == hashlib.sha256(proposed["canonical_json"].encode()).hexdigest()
    url = f"/api/v1/village-rule-versions/{proposed['id']}/decide"
    own = await app_client.post(url, headers=admin, json={"decision": "approve"})
    assert own.status_code == 403 and own.json()["code"] == "VILLAGE_RULES_SELF_APPROVAL", own.text
    other_township = await app_client.post(url, headers=await tokens("township_admin2"), json={"decision": "approve"})
    assert other_township.status_code == 404
    assert (await app_client.get(f"/api/v1/village-rule-versions/{proposed['id']}",
                                 headers=await tokens("township_admin2"))).status_code == 404
    # the grid worker sees only approved versions of their village
    assert (await app_client.get(f"/api/v1/village-rule-versions/{proposed['id']}",
                                 headers=await tokens("grid_worker"))).status_code == 404
    approved = await _ok(await app_client.post(url, headers=await tokens("county_admin2"), json={"decision": "approve"}))
    assert approved["status"] == "approved" and approved["decided_by"] != approved["proposed_by"]
    assert not approved["in_force"]  # from effective_from on
    again = await app_client.post(url, headers=await tokens("county_admin"), json={"decision": "reject", "reason": "重复"})
    assert again.status_code == 409 and again.json()["code"] == "VILLAGE_RULES_DECIDED"
    seen = await _ok(await app_client.get(f"/api/v1/village-rule-versions/{proposed['id']}",
                                          headers=await tokens("grid_worker")))
    assert seen["sha256"] == proposed["sha256"]
    for sql in ("UPDATE village_rule_version SET note = 'x' WHERE id = {}",
                "UPDATE village_rule_version SET status = 'rejected' WHERE id = {}",
                "DELETE FROM village_rule_version WHERE id = {}"):
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await fetch(sql, proposed["id"])
    listed = await _ok(await app_client.get("/api/v1/village-rule-versions", headers=await tokens("villager"),
                                            params={"village_id": world.village["id"]}))
    assert {v["status"] for v in listed} == {"approved"} and any(v["in_force"] for v in listed)


async def test_village_points_recorded_labelled_and_totalled(app_client, tokens, world):
    worker, admin, county = await tokens("grid_worker"), await tokens("township_admin"), await tokens("county_admin")
    code = world.village["code"]
    ledger_before = (await fetch("SELECT count(*) AS n FROM ledger_entry"))[0]["n"]
    body = _event(world.person, f"V-{code}-YARD")
    first = await app_client.post("/api/v1/village-points", headers=worker, json=body)
    assert first.status_code == 201 and first.json()["created"], first.text
    replay = await app_client.post("/api/v1/village-points", headers=worker, json=body)
    assert replay.status_code == 200 and not replay.json()["created"]
    assert replay.json()["entry"]["id"] == first.json()["entry"]["id"]
    clash = await app_client.post("/api/v1/village-points", headers=worker,
                                  json={**body, "item_code": f"V-{code}-MEETING"})
    assert clash.status_code == 409 and clash.json()["code"] == "VILLAGE_POINTS_IDEMPOTENCY_CONFLICT"
    await _ok(await app_client.post("/api/v1/village-points", headers=worker,
                                    json=_event(world.person, f"V-{code}-MEETING")), 201)
    deduction = _event(world.person, f"V-{code}-LITTER")
    refused = await app_client.post("/api/v1/village-points", headers=worker, json=deduction)
    assert refused.status_code == 403 and refused.json()["code"] == "VILLAGE_ITEM_NEEDS_TOWNSHIP"
    litter = await _ok(await app_client.post("/api/v1/village-points", headers=admin, json=deduction), 201)
    future = await app_client.post("/api/v1/village-points", headers=worker, json={
        **_event(world.person, f"V-{code}-YARD"), "occurred_on": (TODAY + timedelta(days=1)).isoformat()})
    assert future.status_code == 422
    unknown = await app_client.post("/api/v1/village-points", headers=worker, json=_event(world.person, f"V-{code}-NOPE"))
    assert unknown.status_code == 422 and unknown.json()["code"] == "VILLAGE_ITEM_UNKNOWN"

    view = await _ok(await app_client.get(f"/api/v1/persons/{world.person}/village-points", headers=county))
    assert view["total"] == "-0.5" and len(view["entries"]) == 3  # +2 +0.5 −3
    assert view["label_zh"] == f"村规民约积分（{world.village['name']}）"
    assert all(e["explanation_zh"].startswith(f"村规民约积分（{world.village['name']}）：") for e in view["entries"])
    assert not view["counts_toward_county_grade"] and view["county_grade"] is None and "不计入县级" in view["note_zh"]
    logged = await fetch("SELECT id FROM access_log WHERE subject_kind = 'person' AND subject_id = {} "
                         "AND purpose = 'village_points_view'", world.person)
    assert logged
    reads = len(logged)
    await _ok(await app_client.get(f"/api/v1/persons/{world.person}/village-points", headers=county))
    assert len(await fetch("SELECT id FROM access_log WHERE subject_kind = 'person' AND subject_id = {} "
                           "AND purpose = 'village_points_view'", world.person)) == reads + 1
    before = await _ok(await app_client.get(f"/api/v1/persons/{world.person}/village-points", headers=county,
                                            params={"as_of": (TODAY - timedelta(days=1)).isoformat()}))
    assert before["total"] == "0"
    # the county ledger never sees a village item
    assert (await fetch("SELECT count(*) AS n FROM ledger_entry"))[0]["n"] == ledger_before
    assert not await fetch("SELECT 1 FROM ledger_entry WHERE item_code LIKE 'V-%'")

    # reversal: a compensating row; the original stays
    entry_id = litter["entry"]["id"]
    reversal = await _ok(await app_client.post(f"/api/v1/village-points/{entry_id}/reverse", headers=admin,
                                               json={"reason": "登记对象有误"}), 201)
    assert reversal["points"] == "+3" and reversal["reverses_entry"] == entry_id
    again = await app_client.post(f"/api/v1/village-points/{entry_id}/reverse", headers=admin, json={"reason": "再次"})
    assert again.status_code == 409
    view = await _ok(await app_client.get(f"/api/v1/persons/{world.person}/village-points", headers=county))
    assert view["total"] == "2.5" and len(view["entries"]) == 4
    assert next(e for e in view["entries"] if e["id"] == entry_id)["reversed"]
    for sql in ("UPDATE village_points_entry SET points = 100 WHERE id = {}", "DELETE FROM village_points_entry WHERE id = {}"):
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await fetch(sql, entry_id)


async def test_household_and_own_points(app_client, tokens, world):
    admin = await tokens("township_admin")
    code = world.village["code"]
    await _ok(await app_client.post("/api/v1/village-points", headers=admin,
                                    json=_event(world.household, f"V-{code}-YARD", kind="household")), 201)
    view = await _ok(await app_client.get(f"/api/v1/households/{world.household}/village-points",
                                          headers=await tokens("grid_worker")))
    assert view["total"] == "2" and view["entries"][0]["subject_kind"] == "household"
    await _ok(await app_client.post("/api/v1/village-points", headers=admin,
                                    json=_event(world.villager_person, f"V-{code}-MEETING")), 201)
    mine = await _ok(await app_client.get("/api/v1/me/village-points", headers=await tokens("villager")))
    assert mine["subject_id"] == world.villager_person and mine["total"] == "0.5"
    assert mine["entries"][0]["explanation_zh"].startswith("村规民约积分（")
    # a neighbour's village points are not the villager's to see
    assert (await app_client.get(f"/api/v1/persons/{world.person}/village-points",
                                 headers=await tokens("villager"))).status_code == 404


async def test_another_township_grid_or_village_is_refused(app_client, tokens, world):
    code = world.village["code"]
    count = (await fetch("SELECT count(*) AS n FROM village_points_entry"))[0]["n"]
    admin2 = await tokens("township_admin2")
    for url in (f"/api/v1/persons/{world.person}/village-points", f"/api/v1/households/{world.household}/village-points"):
        response = await app_client.get(url, headers=admin2)
        assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND", url
    write = await app_client.post("/api/v1/village-points", headers=admin2, json=_event(world.person, f"V-{code}-YARD"))
    assert write.status_code == 404 and write.json()["code"] == "NOT_FOUND"
    outside = await app_client.post("/api/v1/village-points", headers=await tokens("grid_worker"),
                                    json=_event(world.far_person, f"V-{code}-YARD"))
    assert outside.status_code == 404
    # a village item for a person of another village (in the admin's own township)
    other = await app_client.post("/api/v1/village-points", headers=await tokens("township_admin"),
                                  json=_event(world.other_person, f"V-{code}-YARD"))
    assert other.status_code == 422 and other.json()["code"] == "VILLAGE_ITEM_OTHER_VILLAGE"
    proposal = await app_client.post("/api/v1/village-rule-versions", headers=admin2, json={
        "village_id": world.village["id"], "effective_from": TODAY.isoformat(), "items": _items(code)})
    assert proposal.status_code == 404
    entry = (await fetch("SELECT id FROM village_points_entry ORDER BY id LIMIT 1"))[0]["id"]
    reverse = await app_client.post(f"/api/v1/village-points/{entry}/reverse", headers=admin2, json={"reason": "越权"})
    assert reverse.status_code == 404
    assert (await fetch("SELECT count(*) AS n FROM village_points_entry"))[0]["n"] == count


async def test_the_county_switch_reports_the_grade_beside_without_changing_it(app_client, tokens, world):
    county = await tokens("county_admin")
    points = await _ok(await app_client.get(f"/api/v1/persons/{world.person}/points", headers=county))
    await _ok(await app_client.post("/api/v1/village-rule-limits", headers=county,
                                    json={**LIMITS, "counts_toward_county_grade": True}), 201)
    try:
        view = await _ok(await app_client.get(f"/api/v1/persons/{world.person}/village-points", headers=county))
        assert view["counts_toward_county_grade"] and view["county_grade"] == points["standing"]["grade"]
        assert "不改变县级" in view["note_zh"]
        after = await _ok(await app_client.get(f"/api/v1/persons/{world.person}/points", headers=county))
        assert after["standing"]["score"] == points["standing"]["score"]
    finally:
        await _ok(await app_client.post("/api/v1/village-rule-limits", headers=county, json=LIMITS), 201)


async def test_a_key_replayed_concurrently_records_once(app_client, tokens, world):
    import asyncio

    worker = await tokens("grid_worker")
    body = _event(world.household, f"V-{world.village['code']}-MEETING", kind="household")
    responses = await asyncio.gather(*(app_client.post("/api/v1/village-points", headers=worker, json=body)
                                       for _ in range(6)))
    assert sorted(r.status_code for r in responses) == [200] * 5 + [201], [r.text for r in responses]
    assert len({r.json()["entry"]["id"] for r in responses}) == 1
    rows = await fetch("SELECT count(*) AS n FROM village_points_entry WHERE idempotency_key = {}", body["idempotency_key"])
    assert rows[0]["n"] == 1


async def test_approval_checks_the_limits_in_force_then(app_client, tokens, world):
    county = await tokens("county_admin")
    proposed = await _ok(await app_client.post("/api/v1/village-rule-versions", headers=await tokens("township_admin"),
                                               json={"village_id": world.other_village["id"],
                                                     "effective_from": (TODAY + timedelta(days=60)).isoformat(),
                                                     "items": _items(world.other_village["code"])}), 201)
    await _ok(await app_client.post("/api/v1/village-rule-limits", headers=county, json={**LIMITS, "max_points": 1}), 201)
    try:
        response = await app_client.post(f"/api/v1/village-rule-versions/{proposed['id']}/decide", headers=county,
                                         json={"decision": "approve"})
        assert response.status_code == 422 and response.json()["code"] == "VILLAGE_RULES_INVALID", response.text
        assert [(p["item"], p["field"]) for p in response.json()["details"]["problems"]] == [(0, "points")]
        rejected = await _ok(await app_client.post(f"/api/v1/village-rule-versions/{proposed['id']}/decide",
                                                   headers=county, json={"decision": "reject", "reason": "超出新限额"}))
        assert rejected["status"] == "rejected" and rejected["decision_reason"] == "超出新限额"
    finally:
        await _ok(await app_client.post("/api/v1/village-rule-limits", headers=county, json=LIMITS), 201)


async def test_concurrent_deciders_decide_once(app_client, tokens, world):
    import asyncio

    proposed = await _ok(await app_client.post("/api/v1/village-rule-versions", headers=await tokens("township_admin"),
                                               json={"village_id": world.other_village["id"],
                                                     "effective_from": (TODAY + timedelta(days=90)).isoformat(),
                                                     "items": _items(world.other_village["code"])[:1]}), 201)
    url = f"/api/v1/village-rule-versions/{proposed['id']}/decide"
    responses = await asyncio.gather(
        app_client.post(url, headers=await tokens("county_admin"), json={"decision": "approve"}),
        app_client.post(url, headers=await tokens("county_admin2"), json={"decision": "reject", "reason": "不同意"}))
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]


async def test_the_database_keeps_the_fingerprint_and_the_second_approver(world):
    """A row whose SHA-256 is not that of its canonical text, or decided by its proposer, is refused."""
    v = world.version
    base = ("INSERT INTO village_rule_version (county_id, township_id, village_id, version, effective_from, items, "
            "canonical_json, sha256, limits_id, status, proposed_by, proposed_at, note, decided_by, decided_at, "
            "decision_reason) VALUES ({}, {}, {}, 9999, {}, '[]', {}, {}, {}, {}, {}, now(), '', {}, {}, '')")
    args = (v["county_id"], v["township_id"], v["village_id"], TODAY, "{}")
    with pytest.raises(asyncpg.exceptions.CheckViolationError, match="village_rule_version_sha256"):
        await fetch(base, *args, "0" * 64, v["limits_id"], "proposed", v["proposed_by"], None, None)
    with pytest.raises(asyncpg.exceptions.CheckViolationError, match="village_rule_version_decided"):
        await fetch(base, *args, hashlib.sha256(b"{}").hexdigest(), v["limits_id"], "approved", v["proposed_by"],
                    v["proposed_by"], clock.now())
