"""The villager's access log (查询记录) in words: who (organisation · role), what, why, when —
other people's reads first, the villager's own apart, and nobody else's log reachable.

Each test villager here is a fresh account on a household of the demo grid worker's first grid
(not the demo villager), so the reads and events these tests make are their own data.
"""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from PIL import Image

from backend import clock
from backend.audit.tables import AccessLog
from backend.auth import accounts
from backend.auth.roles import Role
from backend.registry import protection
from dev.demo_data import COUNTY_NAME
from dev.seed import DEMO_PASSWORD
from backend.registry.tables import HEAD, HouseholdMembership, Person

ASCII_WORD = re.compile(r"[A-Za-z_]{2,}")
WHEN = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}$")
WORD_KEYS = ("when_zh", "who_zh", "organisation_zh", "role_zh", "about_zh", "why_zh")


@dataclass(frozen=True)
class Villager:
    username: str
    person_id: int
    household_id: int


async def _login(app_client, username: str) -> dict[str, str]:
    response = await app_client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _new_villager(household_id: int, person_id: int) -> Villager:
    cipher = (await Person.select(Person.id_number_cipher).where(Person.id == person_id).first())["id_number_cipher"]
    username = f"audit-{uuid.uuid4().hex[:10]}"
    await accounts.create_account(username, DEMO_PASSWORD, Role.VILLAGER,
                                  person_id_number=protection.reveal_id_number(cipher), display_name="测试村民")
    return Villager(username, person_id, household_id)


@pytest.fixture(scope="module")
async def villagers(app_client, tokens) -> tuple[Villager, Villager]:
    """Two villagers (heads of two households) in the grid worker's first grid, neither the demo villager."""
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens("villager"))).json()
    worker = (await app_client.get("/api/v1/auth/me", headers=await tokens("grid_worker"))).json()
    households = (await app_client.get("/api/v1/households", params={"grid_id": worker["grid_ids"][0], "limit": 20},
                                       headers=await tokens("grid_worker"))).json()["items"]
    picked = []
    for h in households:
        if h["id"] == me["household_id"] or h["member_count"] < 2:
            continue
        head = await HouseholdMembership.select(HouseholdMembership.person).where(
            (HouseholdMembership.household == h["id"]) & HouseholdMembership.valid_to.is_null()
            & (HouseholdMembership.relation == HEAD)).first()
        picked.append(await _new_villager(h["id"], head["person"]))
        if len(picked) == 2:
            return picked[0], picked[1]
    pytest.fail("the demo grid has too few households with two members")


async def _log(app_client, headers, section: str | None = None) -> dict:
    params = {"limit": 200} | ({"section": section} if section else {})
    response = await app_client.get("/api/v1/me/access-log", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _assert_words(item: dict) -> None:
    """Every word field is Chinese: no English token (``event_review``, ``points``, a username) leaks."""
    for key in WORD_KEYS:
        assert item[key] and not ASCII_WORD.search(item[key]), (key, item[key])
    assert item["what_zh"] and all(not ASCII_WORD.search(w) for w in item["what_zh"]), item["what_zh"]
    assert WHEN.match(item["when_zh"]), item["when_zh"]
    assert set(item) == {"ref", "at", "when_zh", "own", "who_zh", "organisation_zh", "role_zh", "about_zh",
                         "what_zh", "why_zh"}


async def test_a_township_admin_reading_points_is_shown_in_words(app_client, tokens, villagers):
    a, _ = villagers
    headers = await _login(app_client, a.username)
    read = await app_client.get(f"/api/v1/persons/{a.person_id}/points", headers=await tokens("township_admin"))
    assert read.status_code == 200, read.text

    log = await _log(app_client, headers)
    assert log["section"] == "others" and log["total"] == log["others_total"] >= 1
    newest = log["items"][0]
    _assert_words(newest)
    assert newest["who_zh"] == "梁家墩镇人民政府 · 乡镇管理员"
    assert (newest["organisation_zh"], newest["role_zh"]) == ("梁家墩镇人民政府", "乡镇管理员")
    assert newest["what_zh"] == ["信用积分", "信用等级", "积分明细"]
    assert newest["why_zh"] == "查看信用积分"
    assert newest["about_zh"] == "您本人"
    assert newest["own"] is False
    # 查询编号 is the row; its time is shown in Beijing time.
    row = await AccessLog.select().where(AccessLog.id == newest["ref"]).first()
    assert (row["actor_label"], row["purpose"], row["person_id"]) == ("township_admin", "points_view", a.person_id)
    local = row["at"].astimezone(clock.zone())
    assert newest["when_zh"] == f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    assert "township_admin" not in str(log) and "points_view" not in str(log)


async def test_a_rejected_event_review_reads_as_reviewing_a_credit_event(app_client, tokens, villagers):
    a, _ = villagers
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 40, 40)).save(buffer, "JPEG")
    photo = await app_client.post("/api/v1/evidence", files={"data": ("p.jpg", buffer.getvalue(), "image/jpeg")},
                                  headers=await tokens("grid_worker"))
    assert photo.status_code == 202, photo.text
    event = await app_client.post("/api/v1/events", headers=await tokens("grid_worker"), json={
        "idempotency_key": uuid.uuid4().hex, "item_code": "WAGE-ARREARS", "level": "months_2_to_6",
        "subject_kind": "person", "subject_id": a.person_id, "evidence_ids": [photo.json()["id"]],
        "occurred_on": (clock.today() - timedelta(days=3)).isoformat()})
    assert event.status_code == 201, event.text
    assert event.json()["status"] == "pending_review"
    rejected = await app_client.post(f"/api/v1/review/events/{event.json()['id']}/reject", json={"reason": "证据不足"},
                                     headers=await tokens("township_admin"))
    assert rejected.status_code == 200, rejected.text

    newest = (await _log(app_client, await _login(app_client, a.username)))["items"][0]
    _assert_words(newest)
    assert newest["who_zh"] == "梁家墩镇人民政府 · 乡镇管理员"
    assert (newest["why_zh"], newest["what_zh"]) == ("审核信用事件", ["信用事件记录"])
    row = await AccessLog.select(AccessLog.purpose).where(AccessLog.id == newest["ref"]).first()
    assert row["purpose"] == "event_review"


async def test_grid_worker_and_full_identifier_reads_are_named(app_client, tokens, villagers):
    a, _ = villagers
    housemate = await HouseholdMembership.select(HouseholdMembership.person).where(
        (HouseholdMembership.household == a.household_id) & HouseholdMembership.valid_to.is_null()
        & (HouseholdMembership.person != a.person_id)).first()
    name = (await Person.select(Person.name).where(Person.id == housemate["person"]).first())["name"]
    assert (await app_client.get(f"/api/v1/persons/{housemate['person']}",
                                 headers=await tokens("grid_worker"))).status_code == 200
    assert (await app_client.get(f"/api/v1/persons/{a.person_id}", params={"reveal": "true"},
                                 headers=await tokens("county_admin"))).status_code == 200
    assert (await app_client.get(f"/api/v1/households/{a.household_id}",
                                 headers=await tokens("township_admin"))).status_code == 200

    household, county, worker = (await _log(app_client, await _login(app_client, a.username)))["items"][:3]
    for item in (household, county, worker):
        _assert_words(item)
    assert worker["who_zh"] == "梁家墩社区居民委员会 · 网格员"
    assert worker["about_zh"] == f"家庭成员 {name}"
    assert worker["why_zh"] == "查看户籍信息" and "身份证号（部分隐藏）" in worker["what_zh"]
    assert county["who_zh"] == f"{COUNTY_NAME}发展和改革局（信用办） · 县区管理员"
    assert "身份证号（完整）" in county["what_zh"] and "手机号（完整）" in county["what_zh"]
    assert "身份证号（部分隐藏）" not in county["what_zh"]
    assert household["about_zh"] == "您家（全户）"
    assert household["what_zh"] == ["家庭成员", "住址", "联户党员"]


async def test_own_reads_are_kept_apart(app_client, tokens, villagers):
    a, _ = villagers
    headers = await _login(app_client, a.username)
    before = await _log(app_client, headers)
    for path in (f"/api/v1/persons/{a.person_id}/points", f"/api/v1/households/{a.household_id}"):
        assert (await app_client.get(path, headers=headers)).status_code == 200

    others = await _log(app_client, headers)
    assert others["others_total"] == before["others_total"] and others["items"] == before["items"]
    assert others["mine_total"] == before["mine_total"] + 2
    assert all(i["own"] is False for i in others["items"])
    mine = await _log(app_client, headers, "mine")
    assert mine["section"] == "mine" and mine["total"] == mine["mine_total"] == others["mine_total"]
    household, person = mine["items"][:2]
    for item in (household, person):
        _assert_words(item)
        assert item["own"] is True and item["who_zh"] == "本人"
    assert (person["about_zh"], person["why_zh"]) == ("您本人", "查看信用积分")
    assert household["about_zh"] == "您家（全户）"


async def test_another_villager_cannot_see_this_log(app_client, tokens, villagers):
    a, b = villagers
    read = await app_client.get(f"/api/v1/persons/{a.person_id}/points", headers=await tokens("township_admin"))
    assert read.status_code == 200
    ref = (await _log(app_client, await _login(app_client, a.username)))["items"][0]["ref"]

    b_headers = await _login(app_client, b.username)
    for section in ("others", "mine"):
        assert ref not in [i["ref"] for i in (await _log(app_client, b_headers, section))["items"]]
    b_refs = {i["ref"] for i in (await _log(app_client, b_headers))["items"]}
    rows = await AccessLog.select(AccessLog.person_id, AccessLog.household_id).where(AccessLog.id.is_in(
        sorted(b_refs) or [-1]))
    assert all(r["person_id"] == b.person_id or r["household_id"] == b.household_id for r in rows)
    # No way to ask for someone else's log: the auditors' endpoint is closed to villagers, and
    # a's data itself is out of b's reach (404, like anything that does not exist).
    assert (await app_client.get("/api/v1/audit/access-log", headers=b_headers)).status_code == 403
    assert (await app_client.get(f"/api/v1/persons/{a.person_id}/points", headers=b_headers)).status_code == 404
    bad = await app_client.get("/api/v1/me/access-log", params={"section": "everyone"}, headers=b_headers)
    assert bad.status_code == 400


async def test_the_organisation_is_a_snapshot(app_client, tokens, villagers):
    """Renaming the township later (区划调整) does not rewrite who read the data back then."""
    a, _ = villagers
    assert (await app_client.get(f"/api/v1/persons/{a.person_id}/points",
                                 headers=await tokens("township_admin"))).status_code == 200
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens("township_admin"))).json()
    was = (await Person.raw("SELECT name, kind FROM township WHERE id = {}", me["township_id"]))[0]
    assert was == {"name": "梁家墩镇", "kind": "镇"}
    await Person.raw("UPDATE township SET name = '梁家墩街道', kind = '街道' WHERE id = {}", me["township_id"])
    try:
        assert (await app_client.get(f"/api/v1/persons/{a.person_id}",
                                     headers=await tokens("township_admin"))).status_code == 200
        renamed, before = (await _log(app_client, await _login(app_client, a.username)))["items"][:2]
    finally:
        await Person.raw("UPDATE township SET name = {}, kind = {} WHERE id = {}", was["name"], was["kind"],
                         me["township_id"])
    assert renamed["who_zh"] == "梁家墩街道办事处 · 乡镇管理员"
    assert before["who_zh"] == "梁家墩镇人民政府 · 乡镇管理员"


async def test_the_auditor_keeps_the_machine_detail(app_client, tokens, villagers):
    a, _ = villagers
    assert (await app_client.get(f"/api/v1/persons/{a.person_id}/points",
                                 headers=await tokens("township_admin"))).status_code == 200
    ref = (await _log(app_client, await _login(app_client, a.username)))["items"][0]["ref"]

    response = await app_client.get("/api/v1/audit/access-log", params={"ref": ref}, headers=await tokens("auditor"))
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == 1
    row = page["items"][0]
    assert row["id"] == ref and row["actor_kind"] == "account" and row["actor_role"] == "township_admin"
    assert row["actor_label"] == "township_admin" and row["actor_org_zh"] == "梁家墩镇人民政府"
    assert (row["subject_kind"], row["subject_id"], row["person_id"]) == ("person", a.person_id, a.person_id)
    assert row["fields"] == ["grade", "ledger_entries", "points"] and row["purpose"] == "points_view"
    assert row["who_zh"] == "梁家墩镇人民政府 · 乡镇管理员" and row["why_zh"] == "查看信用积分"


async def test_a_family_members_read_is_someone_else_but_family(app_client, tokens, villagers):
    a, _ = villagers
    housemate = await HouseholdMembership.select(HouseholdMembership.person).where(
        (HouseholdMembership.household == a.household_id) & HouseholdMembership.valid_to.is_null()
        & (HouseholdMembership.person != a.person_id)).first()
    family = await _new_villager(a.household_id, housemate["person"])
    family_headers = await _login(app_client, family.username)
    assert (await app_client.get(f"/api/v1/persons/{a.person_id}/points", headers=family_headers)).status_code == 200

    seen_by_a = (await _log(app_client, await _login(app_client, a.username)))["items"][0]
    _assert_words(seen_by_a)
    assert (seen_by_a["who_zh"], seen_by_a["own"], seen_by_a["about_zh"]) == ("本户家庭成员 · 村民", False, "您本人")
    own = (await _log(app_client, family_headers, "mine"))["items"][0]
    assert (own["ref"], own["who_zh"], own["own"]) == (seen_by_a["ref"], "本人", True)
    assert own["about_zh"].startswith("家庭成员 ")
