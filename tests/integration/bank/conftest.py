"""Shared set-up of the bank tests: the demo bank (its recipient, notices and products), a second
bank, an effective official rating for every household of the demo county (a rating period run
to the end with ``today=`` dates, as ``dev.demo_history`` runs the demo's), and villager accounts.

The period has its own code (``dev.demo_history`` seeds the demo's own code later in the session)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest

from backend.auth import accounts
from backend.auth.roles import Role
from backend.auth.services import account_actor
from backend.db import fetch
from backend.ratings import periods
from backend.ratings.schemas import ApprovalIn, PeriodIn
from backend.registry import protection
from dev.demo_data import COUNTY_CODE
from dev.seed import DEMO_BANK_CLIENT_ID, DEMO_BANK_SECRET, DEMO_PASSWORD

from ..conftest import TODAY

NOTICE_TEXT = ("本人作为户主同意{recipient}通过村信平台查询本户经公示生效的家庭信用等级和积分，用于{purpose}；"
               "查询方式：系统接口；保存期限：一年；可随时在村信应用中或向村委会撤回。")
RATED_ENDS = TODAY - timedelta(days=60)


@dataclass
class Bank:
    client_id: str
    secret: str
    db_id: int
    recipient: int
    token: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    bank: Bank
    other: Bank
    notices: dict[str, int]
    products: dict[str, dict]
    household: int          # the demo villager's household (the villager is its head)
    head_id_number: str
    member_headers: dict[str, str]  # another member of that household, as a villager
    period_code: str


async def login(client, username: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def bank_token(client, client_id: str, secret: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/token", json={"grant_type": "client_credentials", "client_id": client_id,
                                                       "client_secret": secret})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def villager_for(client, person_id: int) -> dict[str, str]:
    """A villager account (made here) for a person of the demo county."""
    cipher = (await fetch("SELECT id_number_cipher FROM person WHERE id = {}", person_id))[0]["id_number_cipher"]
    name = "villager_bank_" + secrets.token_hex(4)
    await accounts.create_account(name, DEMO_PASSWORD, Role.VILLAGER,
                                  person_id_number=protection.reveal_id_number(cipher), display_name="村民")
    return await login(client, name)


async def head_id_number(household_id: int) -> str:
    row = (await fetch("""SELECT p.id_number_cipher FROM household_membership m JOIN person p ON p.id = m.person
                          WHERE m.household = {} AND m.valid_to IS NULL AND m.relation = '户主'""", household_id))[0]
    return protection.reveal_id_number(row["id_number_cipher"])


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (64, 48), secrets.token_bytes(64 * 48 * 3)).save(buffer, "PNG")
    return buffer.getvalue()


async def counted_entry(client, headers: dict[str, str], person_id: int) -> int:
    """A reviewed wage-arrears entry (−30) for a person, recorded and approved by ``headers``'
    township admin: its ledger entry id."""
    photo = await client.post("/api/v1/evidence", headers=headers, files={"data": ("p.png", _png(), "image/png")})
    assert photo.status_code == 202, photo.text
    recorded = await client.post("/api/v1/events", headers=headers, json={
        "idempotency_key": f"bank-{uuid.uuid4().hex}", "item_code": "WAGE-ARREARS", "subject_kind": "person",
        "subject_id": person_id, "occurred_on": (TODAY - timedelta(days=10)).isoformat(), "level": "months_2_to_6",
        "evidence_ids": [photo.json()["id"]]})
    assert recorded.status_code == 201, recorded.text
    approved = await client.post(f"/api/v1/review/events/{recorded.json()['id']}/approve", headers=headers, json={})
    assert approved.status_code == 200, approved.text
    return approved.json()["entries"][0]["id"]


async def rating_period(code: str, ends_on: date, approve_on: date, finalize_on: date | None) -> None:
    """Close a period and approve its household ratings (maker, then checker), publicised from
    ``approve_on``; made effective by ``finalize(today=finalize_on)`` when given."""
    county = await account_actor((await fetch("SELECT id FROM account WHERE username = 'county_admin'"))[0]["id"])
    period = await periods.create_period(county, PeriodIn(code=code, name_zh=f"银行测试评定{code}",
                                                          starts_on=date(ends_on.year, 1, 1), ends_on=ends_on))
    await periods.close_period(county, period.id)
    for row in await fetch("""SELECT id FROM account WHERE role = 'township_admin'
                              AND township IN (SELECT id FROM township WHERE county = {}) ORDER BY id""",
                           county.county_id):
        await periods.approve(await account_actor(row["id"]), period.id, ApprovalIn(level="household"),
                              today=approve_on)
    await periods.approve(county, period.id, ApprovalIn(level="household"), today=approve_on)
    if finalize_on is not None:
        await periods.finalize(today=finalize_on)


async def recipient(client, county: dict[str, str], name: str, bank_client_db_id: int) -> int:
    r = await client.post("/api/v1/consent/recipients", headers=county, json={
        "kind": "bank", "code": f"bank-{uuid.uuid4().hex[:8]}", "name_zh": name, "bank_client_id": bank_client_db_id})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def notice(client, county: dict[str, str], purpose: str, *, days: int = 365) -> int:
    words = {"credit_application": "信贷申请", "credit_line_review": "授信额度审查"}[purpose]
    r = await client.post("/api/v1/consent/notices", headers=county, json={
        "recipient_kind": "bank", "purpose": purpose, "title_zh": f"银行查询授权书（{words}）",
        "text_zh": NOTICE_TEXT.replace("{purpose}", words) + f"（{uuid.uuid4().hex[:6]}）", "consent_days": days})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def product(client, county: dict[str, str], recipient: int, code: str, **policy) -> dict:
    body = {"recipient_id": recipient, "code": code, "name_zh": policy.pop("name_zh", f"测试产品{code}"),
            "purposes": ["credit_application"], "data_scope": "grade_score", "rating_mandatory": True,
            "stale_days": 3650, "failed_check_blocks": True, **policy}
    r = await client.post("/api/v1/bank/products", headers=county, json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def forget_rate_limits() -> None:
    """The limiter's counters live in Redis, which outlives each run's fresh database (whose bank
    client ids start again at 1): start the session's bank clients from zero."""
    from backend.auth import throttle

    redis = throttle.redis_client()
    async for name in redis.scan_iter(match="cunxin:bank:pulls:*"):
        await redis.delete(name)


async def new_bank(client, county: dict[str, str], name: str) -> Bank:
    """A bank client of the demo county, registered as a consent recipient."""
    client_id, secret = await accounts.create_bank_client(name, COUNTY_CODE)
    db_id = (await fetch("SELECT id FROM bank_client WHERE client_id = {}", client_id))[0]["id"]
    return Bank(client_id, secret, db_id, await recipient(client, county, name, db_id))


@pytest.fixture(scope="session")
async def world(app_client, tokens) -> World:
    await forget_rate_limits()
    county = await tokens("county_admin")
    demo_db = (await fetch("SELECT id FROM bank_client WHERE client_id = {}", DEMO_BANK_CLIENT_ID))[0]["id"]
    bank = Bank(DEMO_BANK_CLIENT_ID, DEMO_BANK_SECRET, demo_db,
                await recipient(app_client, county, "示范农商银行", demo_db))
    other = await new_bank(app_client, county, "另一家村镇银行")
    notices = {p: await notice(app_client, county, p) for p in ("credit_application", "credit_line_review")}
    products = {
        "MICRO": await product(app_client, county, bank.recipient, "MICRO", name_zh="农户小额信用贷款"),
        "REVIEW": await product(app_client, county, bank.recipient, "REVIEW", name_zh="授信额度复审",
                                purposes=["credit_application", "credit_line_review"]),
        "STALE": await product(app_client, county, bank.recipient, "STALE", stale_days=30),
        "SOFT": await product(app_client, county, bank.recipient, "SOFT", stale_days=30, failed_check_blocks=False),
        "FULL": await product(app_client, county, bank.recipient, "FULL", data_scope="grade_score_entries"),
        "OTHER": await product(app_client, county, other.recipient, "MICRO", name_zh="另一银行的农户贷款"),
    }
    code = "B" + secrets.token_hex(5)
    await rating_period(code, RATED_ENDS, RATED_ENDS + timedelta(days=5), RATED_ENDS + timedelta(days=30))
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens("villager"))).json()
    household = me["household_id"]
    member = (await fetch("""SELECT person FROM household_membership WHERE household = {} AND valid_to IS NULL
                             AND person <> {} ORDER BY person LIMIT 1""", household, me["person_id"]))
    assert member, "the demo villager's household has a second member"
    return World(bank=bank, other=other, notices=notices, products=products, household=household,
                 head_id_number=await head_id_number(household),
                 member_headers=await villager_for(app_client, member[0]["person"]), period_code=code)
