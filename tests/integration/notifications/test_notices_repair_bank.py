"""Notifications for two triggers that had no test of their own, against the real database and the
real app, in a county of this module's own (``test_notices``' ``place`` fixture, a fresh instance
here: one village, five one-person households — and a second member, 子女, added to the first
household, so that an applicant who is not the subject and a member who is not the head exist):

- a credit-repair decision (``backend/repair``): approving one writes exactly one ``repair_decided``
  notice (``repair:{id}:decided``) for the subject and one for the applicant who filed it for them
  (the head, for a member of the household), naming the item and the outcome in the app and
  nothing of them outside (``external_text`` is exactly the content-free sentence); deciding again
  is refused and a replay of the notice writes nothing; a refused application tells its applicant,
  who is the subject, once, with the refusal's reason;
- a bank rating pull (``backend/bank``): answered under the household's consent it tells the
  household's head (``bank_pull:{pull id}``) — not the other member — naming the bank; a replay
  of the pull by its Idempotency-Key writes no second notice; a pull refused for want of consent
  (never given, or withdrawn) tells nobody;
- the villagers read these in ``GET /api/v1/me/notices`` with their own tokens; a neighbour, the
  household's other member and the demo county's villager never see them listed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from piccolo.engine import engine_finder

from backend.auth import accounts
from backend.auth.roles import Role
from backend.db import fetch
from backend.identity import parse_id_number
from backend.notifications import outbox
from backend.ratings import periods as rating_periods
from backend.ratings.schemas import ApprovalIn, PeriodIn
from backend.registry import protection
from backend.registry.tables import HouseholdMembership, Person
from backend.registry.writer import person_row
from dev.seed import DEMO_PASSWORD
from points_rules.notifications import CONTENT_FREE
from tests.integration.bank.conftest import bank_token, notice, product, recipient
from tests.integration.counties import free_id_number
from tests.integration.fieldwork.photos import upload
from tests.integration.notifications.test_notices import (NEGATIVE_NAME, TODAY, Place, _dispatch_all, _login,
                                                          _notices, _record)
from tests.integration.notifications.test_notices import daytime, place  # noqa: F401 - fixtures (place: a fresh county here)

EXTERNAL = "您有一条新的信用信息，请登录村信查看"  # the brief's wording, checked against the rules' constant too
BANK_NAME = "通知测试农商银行"
PRODUCT = "NTLOAN"
PRODUCT_NAME = "通知测试农户贷款"


@dataclass
class Family:
    """The first household of the county: its head (person 0, ``villager0``) and a member added here."""

    head: int
    member: int
    household: int
    member_headers: dict[str, str]


@pytest.fixture(scope="module")
async def family(app_client, place) -> Family:  # noqa: F811 - the imported fixture
    head, household = place.own.people[0]
    number = await free_id_number(70)
    member = (await Person.insert(person_row(county_id=place.own.county, name="通知子女",
                                             resident_id=parse_id_number(number, today=TODAY), phone=None))
              .returning(Person.id))[0]["id"]
    await HouseholdMembership.insert(HouseholdMembership(
        county_id=place.own.county, person=member, household=household, relation="子女",
        valid_from=TODAY - timedelta(days=300), reason="测试添加家庭成员"))
    name = f"nt_member_{place.own.code}"
    await accounts.create_account(name, DEMO_PASSWORD, Role.VILLAGER, person_id_number=number)
    return Family(head, member, household, await _login(app_client, name))


async def _inbox(client, headers) -> list[dict]:
    response = await client.get("/api/v1/me/notices", headers=headers, params={"limit": 200})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def _kind_count(county_id: int, kind: str) -> int:
    return (await fetch("SELECT count(*) AS n FROM notice WHERE county_id = {} AND kind = {}", county_id, kind))[0]["n"]


# --- credit repair -----------------------------------------------------------------------------------------


async def _counted_negative(client, place: Place, person: int) -> int:
    """A reviewed 乱倒垃圾 (−2) on the person, recorded by the grid worker and approved: its entry id."""
    event_id, _ = await _record(client, place, person)
    approved = await client.post(f"/api/v1/review/events/{event_id}/approve", headers=place.headers["township_admin"],
                                 json={"reason": "经核实属实"})
    assert approved.status_code == 200, approved.text
    (entry,) = approved.json()["entries"]
    return entry["id"]


async def _open_application(client, place: Place, applicant: dict[str, str], entry_id: int) -> int:
    """Filed in the app by ``applicant`` (public-interest route), completed by the township: its id."""
    filed = await client.post("/api/v1/repairs", headers=applicant, json={
        "entry_id": entry_id, "route": "public_interest", "corrected_on": TODAY.isoformat(),
        "statement": "已清理屋后垃圾并参加村里的环境整治公益劳动"})
    assert filed.status_code == 201, filed.text
    application_id = filed.json()["id"]
    admin = place.headers["township_admin"]
    opened = await client.post(f"/api/v1/repairs/{application_id}/documents", headers=admin, json={"documents": {
        "activity_photo_ids": [await upload(client, admin)], "correction_photo_ids": [await upload(client, admin)]}})
    assert opened.status_code == 200 and opened.json()["status"] == "open", opened.text
    return application_id


async def test_an_approved_repair_tells_the_subject_and_the_applicant_once_each(app_client, place, family, tokens,
                                                                                daytime):  # noqa: F811
    assert EXTERNAL == CONTENT_FREE
    entry_id = await _counted_negative(app_client, place, family.member)
    # the head files for the member of the household: the applicant is not the subject
    application_id = await _open_application(app_client, place, place.headers["villager0"], entry_id)
    key = f"repair:{application_id}:decided"
    assert not await _notices(place.own.county, key)  # filing and supplementing announce nothing
    reason = "已清理并参加公益劳动，同意修复"
    decision = {"decision": "approve", "reason": reason}
    url = f"/api/v1/repairs/{application_id}/decide"
    decided = await app_client.post(url, headers=place.headers["township_admin"], json=decision)
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved"

    notices = await _notices(place.own.county, key)
    assert sorted(n["recipient_person_id"] for n in notices) == sorted([family.member, family.head])
    for n in notices:
        assert n["kind"] == "repair_decided" and n["link"] == "/me"
        assert (n["subject_kind"], n["subject_id"], n["ref_kind"], n["ref_id"]) == (
            "person", family.member, "repair", application_id)
        assert NEGATIVE_NAME in n["body_zh"] and "已批准" in n["body_zh"] and "未获批准" not in n["body_zh"]
        assert reason in n["body_zh"] and f"第{application_id}号" in n["body_zh"]
        assert n["external_text"] == EXTERNAL
        assert NEGATIVE_NAME not in n["external_text"] and not any(ch.isdigit() for ch in n["external_text"])
    # the replacement and the cancelling entries are not announced on their own: the decision says so
    replacement = decided.json()["replacement_event_id"]
    if replacement is not None:
        assert not await fetch("SELECT id FROM notice WHERE county_id = {} AND ref_kind = 'event' AND ref_id = {}",
                               place.own.county, replacement)

    # deciding is not repeatable — neither the same decision replayed nor another one — and writes nothing
    again = await app_client.post(url, headers=place.headers["township_admin"], json=decision)
    assert again.status_code == 409 and again.json()["code"] == "REPAIR_DECIDED", again.text
    other = await app_client.post(url, headers=place.headers["county_admin"],
                                  json={"decision": "refuse", "reason": "重复提交的决定"})
    assert other.status_code == 409 and other.json()["code"] == "REPAIR_DECIDED", other.text
    # the trigger itself, run again on the decided row (a retried transaction): nothing new
    row = (await fetch("SELECT * FROM repair_application WHERE id = {}", application_id))[0]
    async with engine_finder().transaction():
        assert await outbox.notify_repair_decided(row, approved=True, reason=reason) == []
    assert [n["id"] for n in await _notices(place.own.county, key)] == [n["id"] for n in notices]

    # what leaves the platform is the content-free sentence only (quiet hours off: sent now)
    await _dispatch_all()
    texts = await fetch("SELECT DISTINCT text FROM notice_attempt WHERE county_id = {} AND notice = ANY({})",
                        place.own.county, [n["id"] for n in notices])
    assert [t["text"] for t in texts] == [EXTERNAL]

    # each reads their own in the app; a neighbour and the demo county's villager do not
    by_person = {n["recipient_person_id"]: n for n in notices}
    for person, headers in ((family.member, family.member_headers), (family.head, place.headers["villager0"])):
        mine = [n for n in await _inbox(app_client, headers) if n["id"] == by_person[person]["id"]]
        assert len(mine) == 1 and mine[0]["kind"] == "repair_decided"
        assert NEGATIVE_NAME in mine[0]["body_zh"] and "已批准" in mine[0]["body_zh"]
        assert mine[0]["title_zh"] == "信用修复申请结果"
    both = {n["id"] for n in notices}
    for headers in (place.headers["villager1"], await tokens("villager")):
        assert not both & {n["id"] for n in await _inbox(app_client, headers)}
        read = await app_client.post(f"/api/v1/me/notices/{by_person[family.member]['id']}/read", headers=headers)
        assert read.status_code == 404
    # the member does not see the head's copy, nor the head the member's
    assert by_person[family.head]["id"] not in {n["id"] for n in await _inbox(app_client, family.member_headers)}
    assert by_person[family.member]["id"] not in {n["id"] for n in await _inbox(app_client, place.headers["villager0"])}


async def test_a_refused_repair_tells_the_applicant_who_is_the_subject_once_with_the_reason(app_client, place):
    person = place.person(1)
    entry_id = await _counted_negative(app_client, place, person)
    application_id = await _open_application(app_client, place, place.headers["villager1"], entry_id)
    reason = "公益劳动证明未加盖村委会公章，请补充后重新申请"
    decided = await app_client.post(f"/api/v1/repairs/{application_id}/decide", headers=place.headers["township_admin"],
                                    json={"decision": "refuse", "reason": reason})
    assert decided.status_code == 200 and decided.json()["status"] == "refused", decided.text

    (notice_row,) = await _notices(place.own.county, f"repair:{application_id}:decided")  # one: applicant = subject
    assert (notice_row["kind"], notice_row["recipient_person_id"]) == ("repair_decided", person)
    assert "未获批准" in notice_row["body_zh"] and reason in notice_row["body_zh"]
    assert NEGATIVE_NAME in notice_row["body_zh"]
    assert notice_row["external_text"] == EXTERNAL and reason not in notice_row["external_text"]
    again = await app_client.post(f"/api/v1/repairs/{application_id}/decide", headers=place.headers["township_admin"],
                                  json={"decision": "refuse", "reason": reason})
    assert again.status_code == 409 and again.json()["code"] == "REPAIR_DECIDED"
    assert len(await _notices(place.own.county, f"repair:{application_id}:decided")) == 1

    inbox = await _inbox(app_client, place.headers["villager1"])
    (seen,) = [n for n in inbox if n["id"] == notice_row["id"]]
    assert seen["kind"] == "repair_decided" and reason in seen["body_zh"] and seen["read_at"] is None
    assert notice_row["id"] not in {n["id"] for n in await _inbox(app_client, place.headers["villager0"])}


# --- bank pulls ------------------------------------------------------------------------------------------


@dataclass
class Bank:
    token: dict[str, str]
    recipient: int
    notice: int


async def _id_number(person_id: int) -> str:
    cipher = (await fetch("SELECT id_number_cipher FROM person WHERE id = {}", person_id))[0]["id_number_cipher"]
    return protection.reveal_id_number(cipher)


@pytest.fixture(scope="module")
async def bank(app_client, place, family) -> Bank:  # noqa: F811 - the imported fixture
    """An effective official household rating for every household (a period ended 60 days ago,
    publicised then, made effective by this county's admin), and a bank of this county with a
    product and its consent notice."""
    ends = TODAY - timedelta(days=60)
    period = await rating_periods.create_period(place.county_admin, PeriodIn(
        code=f"NB{uuid.uuid4().hex[:6]}", name_zh="通知测试银行评定", starts_on=ends.replace(month=1, day=1),
        ends_on=ends))
    await rating_periods.close_period(place.county_admin, period.id)
    approved = await rating_periods.approve(place.township_admin, period.id, ApprovalIn(level="household"),
                                            today=ends + timedelta(days=5))
    assert approved.publicised == len(place.own.people)
    assert await rating_periods.finalize(today=ends + timedelta(days=30), actor=place.county_admin) == len(
        place.own.people)
    county = place.headers["county_admin"]
    client_id, secret = await accounts.create_bank_client(BANK_NAME, place.own.code)
    db_id = (await fetch("SELECT id FROM bank_client WHERE client_id = {}", client_id))[0]["id"]
    to = await recipient(app_client, county, BANK_NAME, db_id)
    consent_notice = await notice(app_client, county, "credit_application")
    await product(app_client, county, to, PRODUCT, name_zh=PRODUCT_NAME)
    return Bank(await bank_token(app_client, client_id, secret), to, consent_notice)


async def _pull(client, bank: Bank, person_id: int, key: str):
    return await client.post("/api/v1/bank/rating-pulls", headers={**bank.token, "Idempotency-Key": key},
                             json={"head_id_number": await _id_number(person_id), "product_code": PRODUCT,
                                   "purpose": "credit_application"})


async def test_a_pull_under_consent_tells_the_head_only_once(app_client, place, family, bank, tokens):
    granted = await app_client.post("/api/v1/me/consents", headers=place.headers["villager0"], json={
        "subject": "household", "recipient_id": bank.recipient, "purpose": "credit_application",
        "data_scope": "grade_score", "notice_id": bank.notice})
    assert granted.status_code == 201, granted.text
    consent_id = granted.json()["id"]
    before = await _kind_count(place.own.county, "bank_pull")
    key = f"nt-pull-{uuid.uuid4().hex[:16]}"
    answered = await _pull(app_client, bank, family.head, key)
    assert answered.status_code == 200, answered.text
    assert (answered.json()["outcome"], answered.json()["consent_id"]) == ("rated", consent_id)
    pull_id = answered.json()["pull_id"]

    (n,) = await _notices(place.own.county, f"bank_pull:{pull_id}")
    assert (n["kind"], n["recipient_person_id"]) == ("bank_pull", family.head)  # the head, not the member
    assert (n["subject_kind"], n["subject_id"], n["ref_kind"], n["ref_id"]) == (
        "household", family.household, "bank_pull", pull_id)
    assert BANK_NAME in n["body_zh"] and f"第{consent_id}号" in n["body_zh"] and PRODUCT in n["body_zh"]
    assert n["external_text"] == EXTERNAL and BANK_NAME not in n["external_text"]
    assert await _kind_count(place.own.county, "bank_pull") == before + 1
    assert not await fetch("SELECT id FROM notice WHERE county_id = {} AND recipient_person_id = {} AND kind = 'bank_pull'",
                           place.own.county, family.member)

    # the replay (same Idempotency-Key, same request) is the stored answer and tells nobody again
    replay = await _pull(app_client, bank, family.head, key)
    assert replay.status_code == 200 and replay.json() == answered.json()
    assert [r["id"] for r in await _notices(place.own.county, f"bank_pull:{pull_id}")] == [n["id"]]
    assert await _kind_count(place.own.county, "bank_pull") == before + 1

    # the head reads it in the app; the household's other member, a neighbour and the demo villager do not
    (seen,) = [i for i in await _inbox(app_client, place.headers["villager0"]) if i["id"] == n["id"]]
    assert seen["kind"] == "bank_pull" and BANK_NAME in seen["body_zh"]
    for headers in (family.member_headers, place.headers["villager1"], await tokens("villager")):
        listed = await _inbox(app_client, headers)
        assert n["id"] not in {i["id"] for i in listed} and not [i for i in listed if i["kind"] == "bank_pull"
                                                                 and BANK_NAME in i["body_zh"]]


async def test_a_pull_refused_for_want_of_consent_tells_nobody(app_client, place, family, bank):
    before = await _kind_count(place.own.county, "bank_pull")
    # a household that never consented
    never = await _pull(app_client, bank, place.person(2), f"nt-pull-{uuid.uuid4().hex[:16]}")
    assert never.status_code == 403 and never.json()["code"] == "CONSENT_REQUIRED", never.text
    assert not await _notices(place.own.county, f"bank_pull:{never.json()['details']['pull_id']}")
    assert not await fetch("SELECT id FROM notice WHERE county_id = {} AND recipient_person_id = {} AND kind = 'bank_pull'",
                           place.own.county, place.person(2))
    # the first household, after withdrawing its consent
    consents = (await app_client.get("/api/v1/me/consents", headers=place.headers["villager0"])).json()
    active = [c for c in consents if c["recipient_id"] == bank.recipient and c["status"] == "active"]
    assert active, "the previous test's consent"
    for c in active:
        withdrawn = await app_client.post(f"/api/v1/consents/{c['id']}/withdraw", headers=place.headers["villager0"])
        assert withdrawn.status_code == 200, withdrawn.text
    refused = await _pull(app_client, bank, family.head, f"nt-pull-{uuid.uuid4().hex[:16]}")
    assert refused.status_code == 403 and refused.json()["code"] == "CONSENT_WITHDRAWN", refused.text
    assert not await _notices(place.own.county, f"bank_pull:{refused.json()['details']['pull_id']}")
    assert await _kind_count(place.own.county, "bank_pull") == before
