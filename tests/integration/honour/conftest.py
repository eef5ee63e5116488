"""The honour roll's test world, built once per session in the demo county's third township
(上秦镇: no demo account works there): villagers with their own accounts and consents, positive
and negative events recorded through the ledger service, and effective official ratings.

Ratings are written as the rating workflow leaves them (a closed period, ``effective``
proposals): running the real workflow would close a period for the whole county and make other
tests' publicised ratings effective."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest

from backend import jobs
from backend.auth import accounts
from backend.auth.roles import Role
from backend.db import fetch
from backend.ledger.schemas import EventIn
from backend.ledger.services import decide, record_event
from backend.ratings import tables as rt
from dev import demo_data
from dev.demo_history import _actor, _photo
from dev.seed import DEMO_PASSWORD
from tests.integration.conftest import TODAY

TOWNSHIP_CODE = "620702102"  # 上秦镇
NOTICE = ("本人同意将本人（本户）的正面信用信息和信用户等级在{recipient}公开公示，用于红榜公示（表彰、志愿服务、"
          "公益慈善）；方式：在村信红榜网页和接口公示姓名、所在村和正面事项，不公示身份证号、电话、住址和积分；"
          "保存期限一年；可随时在村信应用中撤回，撤回后立即停止公示。")


@dataclass
class Villager:
    username: str
    person_id: int
    household_id: int
    name: str
    village_code: str
    headers: dict = field(default_factory=dict)
    grants: dict = field(default_factory=dict)  # label → consent id

    @property
    def household_name(self) -> str:
        return self.name + "家"


@dataclass
class World:
    county_code: str
    recipient: int
    notice: int
    township_codes: list[str]
    village_codes: list[str]
    villagers: dict[str, Villager]
    negative_notes: list[str]
    credit_village: str
    publicised_village: str
    demo: demo_data.DemoCounty


async def _event(actor, rng, item: str, kind: str, subject: int, *, level: str | None = None,
                 quantity: int | None = None, note: str = "", days_ago: int = 10) -> int:
    from backend.ledger.catalogue import catalogues

    needs_photo = catalogues().version_on(TODAY).item(item).evidence == "required"
    data = EventIn(idempotency_key=f"hr-{uuid.uuid4().hex}", item_code=item, subject_kind=kind, subject_id=subject,
                   occurred_on=TODAY - timedelta(days=days_ago), level=level,
                   quantity=Decimal(quantity) if quantity is not None else None, note=note,
                   evidence_ids=[await _photo(actor, rng)] if needs_photo else [])
    with jobs.suppressed("recompute_standing"):
        event, _ = await record_event(actor, data)
        if event.status == "pending_review":
            event = await decide(actor, event.id, approve=True, reason="经核实属实")
    assert event.status == "counted", (item, event.status)
    return event.id


async def _effective_ratings(county_id: int, households: dict[int, str], villages: dict[int, tuple[int, bool, str]],
                             townships: dict[int, bool]) -> None:
    """A closed test period whose proposals are effective (or, with status "publicised", not yet).
    It ends today and is written last, so it is every subject's newest rating whatever periods
    other tests have closed over the whole county."""
    period = (await rt.RatingPeriod.insert(rt.RatingPeriod(
        county=county_id, code=f"HR{uuid.uuid4().hex[:6]}", name_zh="红榜测试评定", starts_on=date(TODAY.year, 1, 1),
        ends_on=TODAY, status="closed")).returning(rt.RatingPeriod.id))[0]["id"]
    rows = []
    for household_id, grade in households.items():
        place = (await fetch("""SELECT h.village, v.township FROM household h JOIN village v ON v.id = h.village
                                WHERE h.id = {}""", household_id))[0]
        rows.append(rt.RatingProposal(county_id=county_id, period=period, level=rt.HOUSEHOLD, subject_id=household_id,
                                      township_id=place["township"], village_id=place["village"], computed_grade=grade,
                                      grade=grade, is_credit=grade != "none", status=rt.EFFECTIVE,
                                      catalogue_version="2026.2", effective_on=TODAY - timedelta(days=30)))
    for village_id, (township_id, is_credit, status) in villages.items():
        grade = "credit" if is_credit else "none"
        rows.append(rt.RatingProposal(county_id=county_id, period=period, level=rt.VILLAGE, subject_id=village_id, township_id=township_id,
                                      village_id=village_id, computed_grade=grade, grade=grade, is_credit=is_credit,
                                      status=status, catalogue_version="2026.2",
                                      effective_on=TODAY - timedelta(days=30) if status == rt.EFFECTIVE else None))
    for township_id, is_credit in townships.items():
        grade = "credit" if is_credit else "none"
        rows.append(rt.RatingProposal(county_id=county_id, period=period, level=rt.TOWNSHIP, subject_id=township_id,
                                      township_id=township_id, computed_grade=grade, grade=grade, is_credit=is_credit,
                                      status=rt.EFFECTIVE, catalogue_version="2026.2",
                                      effective_on=TODAY - timedelta(days=30)))
    await rt.RatingProposal.insert(*rows)


async def _grant(client, villager: Villager, world_recipient: int, notice: int, subject: str, scope: str) -> int:
    r = await client.post("/api/v1/me/consents", headers=villager.headers, json={
        "subject": subject, "recipient_id": world_recipient, "purpose": "honour_roll", "data_scope": scope,
        "notice_id": notice})
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.fixture(scope="session")
async def world(app_client, tokens) -> World:
    county = await tokens("county_admin")
    r = await app_client.post("/api/v1/consent/recipients", headers=county, json={
        "kind": "honour_roll", "code": f"honour-{uuid.uuid4().hex[:6]}", "name_zh": "甘州区信用红榜"})
    assert r.status_code == 201, r.text
    recipient = r.json()["id"]
    r = await app_client.post("/api/v1/consent/notices", headers=county, json={
        "recipient_kind": "honour_roll", "purpose": "honour_roll", "title_zh": "红榜公示同意书", "text_zh": NOTICE,
        "consent_days": 365})
    assert r.status_code == 201, r.text
    notice = r.json()["id"]

    demo = demo_data.generate_demo_county(today=TODAY)
    id_numbers = {h.code: h.head.id_number for h in demo.households()}
    county_row = (await fetch("SELECT id, code FROM county WHERE code = {}", demo_data.COUNTY_CODE))[0]
    township = (await fetch("SELECT id FROM township WHERE code = {}", TOWNSHIP_CODE))[0]["id"]
    villages = await fetch("SELECT id, code FROM village WHERE township = {} ORDER BY code", township)
    # Heads of the last households of the township's first two villages (other tests rate the first ones).
    picks = []
    for v in villages[:2]:
        picks += await fetch(
            """SELECT h.id AS household, h.code, m.person, p.name, {} AS village_code FROM household h
               JOIN household_membership m ON m.household = h.id AND m.valid_to IS NULL AND m.relation = '户主'
               JOIN person p ON p.id = m.person WHERE h.village = {} ORDER BY h.id DESC LIMIT 3""", v["code"], v["id"])
    labels = ["consenting", "refusing", "grade_only", "withdrawing", "negative_only", "spare"]
    villagers: dict[str, Villager] = {}
    for label, row in zip(labels, picks):
        username = f"hr-{label}-{uuid.uuid4().hex[:4]}"
        await accounts.create_account(username, DEMO_PASSWORD, Role.VILLAGER, person_id_number=id_numbers[row["code"]],
                                      display_name="红榜测试村民")
        villagers[label] = Villager(username=username, person_id=row["person"], household_id=row["household"],
                                    name=row["name"], village_code=row["village_code"], headers=await tokens(username))

    admin = await _actor("county_admin")
    rng = random.Random(47)
    marker = uuid.uuid4().hex[:10]
    notes = []
    for label, v in villagers.items():
        if label != "negative_only":
            await _event(admin, rng, "HONOUR", "person", v.person_id, level="county")
            await _event(admin, rng, "VOL-HOURS", "person", v.person_id, quantity=12, days_ago=40)
            await _event(admin, rng, "VOL-HOURS", "person", v.person_id, quantity=14, days_ago=20)
            await _event(admin, rng, "CHARITY-DONATION", "household", v.household_id, level="from_1000")
        await _event(admin, rng, "FILIAL-PIETY", "person", v.person_id)  # positive, but not a roll category
        note = f"拖欠工人工资{marker}{label}"
        await _event(admin, rng, "WAGE-ARREARS", "person", v.person_id, level="months_2_to_6", note=note, days_ago=15)
        dumping = f"乱倒建筑垃圾{marker}{label}"
        await _event(admin, rng, "ENV-DUMPING", "household", v.household_id, note=dumping, days_ago=12)
        notes += [note, dumping]
    # An honour that was reversed may not show (validity is checked in the pure tests: no
    # catalogue reaches back far enough for an entry that has lapsed by now).
    reversed_event = await _event(admin, rng, "HONOUR", "person", villagers["consenting"].person_id, level="national",
                                  days_ago=5)
    from backend.ledger.services import reverse_entry

    entry = (await fetch("SELECT id FROM ledger_entry WHERE event = {}", reversed_event))[0]["id"]
    with jobs.suppressed("recompute_standing"):
        await reverse_entry(admin, entry, reason="登记有误")

    await _effective_ratings(
        county_row["id"],
        {villagers["consenting"].household_id: "AAA", villagers["refusing"].household_id: "AA",
         villagers["grade_only"].household_id: "A", villagers["withdrawing"].household_id: "AA",
         villagers["negative_only"].household_id: "none"},
        {villages[0]["id"]: (township, True, rt.EFFECTIVE), villages[1]["id"]: (township, True, rt.PUBLICISED)},
        # The county's other townships rated not credit in this (newest) period, whatever earlier
        # periods of other tests said: exactly one 信用乡镇 is expected.
        {t["id"]: t["id"] == township
         for t in await fetch("SELECT id FROM township WHERE county = {}", county_row["id"])})

    c = villagers["consenting"]
    c.grants["person"] = await _grant(app_client, c, recipient, notice, "person", "grade_score_entries")
    c.grants["household"] = await _grant(app_client, c, recipient, notice, "household", "grade_score_entries")
    g = villagers["grade_only"]
    g.grants["household"] = await _grant(app_client, g, recipient, notice, "household", "grade")
    g.grants["person"] = await _grant(app_client, g, recipient, notice, "person", "grade")
    n = villagers["negative_only"]
    n.grants["person"] = await _grant(app_client, n, recipient, notice, "person", "grade_score_entries")
    n.grants["household"] = await _grant(app_client, n, recipient, notice, "household", "grade_score_entries")

    all_townships = await fetch("SELECT code FROM township WHERE county = {} ORDER BY code", county_row["id"])
    all_villages = await fetch("""SELECT v.code FROM village v JOIN township t ON t.id = v.township
                                  WHERE t.county = {} ORDER BY v.code""", county_row["id"])
    return World(county_code=county_row["code"], recipient=recipient, notice=notice,
                 township_codes=[t["code"] for t in all_townships], village_codes=[v["code"] for v in all_villages],
                 villagers=villagers, negative_notes=notes, credit_village=villages[0]["code"],
                 publicised_village=villages[1]["code"], demo=demo)
