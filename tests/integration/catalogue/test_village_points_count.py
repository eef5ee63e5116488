"""Village points count toward the county grade only when the county's catalogue says so (issue 12
item 4): in a county of its own, a township's village rule set is approved and its entries recorded;
they change nothing while the county's catalogue is the shipped one; a county version with
``scoring.village_points`` (cap ±2) — uploaded, its impact shown, published by a second county admin
with a future effective date — makes them count from that date on, capped, in the person's view, the
household's, the county-wide computation and the village view; a reversal takes them out again; the
county ledger is never written.

In the catalogue group (LATE_MODULES): a published version is immutable and its county is its own."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from backend import clock
from backend.auth import accounts
from backend.auth.roles import Role
from backend.db import fetch
from backend.ratings.compute import compute_households
from dev.seed import DEMO_PASSWORD
from tests.integration.counties import own_county

from .test_county_versions import SHIPPED, URL

TODAY = clock.today()
TOMORROW = TODAY + timedelta(days=1)
ANCHOR = "    decision_working_days: 7"


def counting_version(version: str, effective) -> str:
    """The shipped 2026.2 file as the county's version that counts village points, at most ±2."""
    text = SHIPPED.replace('version: "2026.2"', f'version: "{version}"', 1)
    text = text.replace("effective_from: 2026-07-01", f"effective_from: {effective.isoformat()}", 1)
    text = text.replace("title_zh: 村信个人信用积分目录（2026年第2版）", f"title_zh: 村规计入测试（{version}）", 1)
    assert ANCHOR in text
    return text.replace(ANCHOR, ANCHOR + "\n  village_points: {counts_toward_grade: true, cap: 2}", 1)


async def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


@pytest.fixture(scope="module")
async def place(app_client, tokens):
    own = await own_county("VP", "村规", 1, birth_seed=80)
    code, county, village = own.code, own.county, own.village
    (person, household), = own.people
    tag = code[2:]
    for name in ("a", "b"):
        await accounts.create_account(f"vp{tag}_{name}", DEMO_PASSWORD, Role.COUNTY_ADMIN, county_code=code,
                                      display_name=f"村规区管理员{name}", admin_ui=True)
    await accounts.create_account(f"vp{tag}_t", DEMO_PASSWORD, Role.TOWNSHIP_ADMIN, township_code=f"{code}t",
                                  display_name="村规镇管理员")
    a, b, township_admin = await tokens(f"vp{tag}_a"), await tokens(f"vp{tag}_b"), await tokens(f"vp{tag}_t")
    village_code = f"{code}v"
    await _ok(await app_client.post("/api/v1/village-rule-limits", headers=a, json={
        "min_points": -10, "max_points": 10, "max_validity_years": 3, "allowed_categories": ["环境卫生", "村务参与"],
        "max_items": 5, "note": "县信用办通知"}), 201)
    proposed = await _ok(await app_client.post("/api/v1/village-rule-versions", headers=township_admin, json={
        "village_id": village, "effective_from": TODAY.isoformat(), "note": "村民会议决议", "items": [
            {"code": f"V-{village_code}-YARD", "name_zh": "庭院整洁", "behaviour_zh": "庭院干净整洁，经村评比获评",
             "category": "环境卫生", "points": 2, "validity_years": 1, "needs_review": False},
            {"code": f"V-{village_code}-MEETING", "name_zh": "参加村民会议", "behaviour_zh": "按时参加村民会议并签到",
             "category": "村务参与", "points": 0.5, "validity_years": 1, "needs_review": False}]}), 201)
    await _ok(await app_client.post(f"/api/v1/village-rule-versions/{proposed['id']}/decide", headers=b,
                                    json={"decision": "approve"}))
    recorded = {}
    for key, kind, subject, item in (("yard", "person", person, "YARD"), ("meeting", "person", person, "MEETING"),
                                     ("home", "household", household, "YARD")):
        r = await _ok(await app_client.post("/api/v1/village-points", headers=township_admin, json={
            "idempotency_key": uuid.uuid4().hex, "subject_kind": kind, "subject_id": subject,
            "item_code": f"V-{village_code}-{item}", "occurred_on": TODAY.isoformat()}), 201)
        recorded[key] = r["entry"]["id"]
    return {"county": county, "person": person, "household": household, "a": a, "b": b,
            "township_admin": township_admin, "entries": recorded}


async def _standing(client, headers, person: int, day) -> dict:
    return (await _ok(await client.get(f"/api/v1/persons/{person}/points", headers=headers,
                                       params={"as_of": day.isoformat()})))["standing"]


async def _village_view(client, headers, person: int, day) -> dict:
    return await _ok(await client.get(f"/api/v1/persons/{person}/village-points", headers=headers,
                                      params={"as_of": day.isoformat()}))


async def test_village_points_count_only_from_the_version_that_says_so(app_client, place):
    a, b, person, household = place["a"], place["b"], place["person"], place["household"]
    # Under the shipped catalogue: 2.5 village points, the county score untouched.
    for day in (TODAY, TOMORROW):
        s = await _standing(app_client, a, person, day)
        assert s["score"] == "1000.0" and "村规民约" not in s["explanation_zh"], s
    view = await _village_view(app_client, a, person, TOMORROW)
    assert view["total"] == "2.5" and not view["counted_in_county_grade"] and "不计入县级" in view["note_zh"]

    # The county's version that counts them: checked, its impact computed, published by the second admin.
    upload = await _ok(await app_client.post(URL, headers=a, json={"yaml": counting_version("2026.11", TOMORROW)}), 201)
    assert any("村规民约积分计入县级积分" in line and "上限±2" in line for line in upload["changes_zh"]), upload["changes_zh"]
    assert upload["impact"]["as_of"] == TOMORROW.isoformat()
    refused = await app_client.post(f"{URL}/{upload['id']}/publish", headers=a)
    assert refused.status_code == 403
    await _ok(await app_client.post(f"{URL}/{upload['id']}/publish", headers=b))

    # Today (the shipped version): still nothing; from tomorrow: +2.0 of the 2.5, explained.
    assert (await _standing(app_client, a, person, TODAY))["score"] == "1000.0"
    s = await _standing(app_client, a, person, TOMORROW)
    assert s["score"] == "1002.0" and s["catalogue_version"] == "2026.11", s
    assert "村规民约积分+2.5分，计入+2分（按本县目录上限±2分）" in s["explanation_zh"], s["explanation_zh"]
    view = await _village_view(app_client, a, person, TOMORROW)
    assert view["counted_in_county_grade"] and view["county_grade"] == "A" and "计入县级信用积分" in view["note_zh"]

    # The county-wide computation (live standing, ratings, the bank's answers) reads the same.
    computed = await compute_households(TOMORROW, household_ids=[household])
    assert computed.persons[person].score == 10020
    rating = computed.households[household]
    assert rating.explanation["village_points"] == 20 and rating.explanation["village_points_counted"] == 20
    assert "村规民约积分" in rating.explanation_zh
    today = await compute_households(TODAY, household_ids=[household])
    assert today.persons[person].score == 10000 and today.households[household].explanation["village_points_counted"] == 0

    # A reversal takes the entry out again (1000 + 0.5).
    await _ok(await app_client.post(f"/api/v1/village-points/{place['entries']['yard']}/reverse",
                                    headers=place["township_admin"], json={"reason": "评比结果撤销"}), 201)
    assert (await _standing(app_client, a, person, TOMORROW))["score"] == "1000.5"
    # The county ledger was never written for these subjects.
    rows = await fetch("""SELECT count(*) AS n FROM ledger_entry WHERE (subject_kind = 'person' AND subject_id = {})
                          OR (subject_kind = 'household' AND subject_id = {})""", person, household)
    assert rows[0]["n"] == 0
