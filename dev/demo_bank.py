"""Demo data for the bank slice (called by :mod:`dev.demo_extras`, after the demo year's events and
rating period): the demo bank (``dev.seed``'s client 示范农商银行) as a consent recipient, its
notices, two products, household consents — in the app by the demo villager (the head) and on
signed paper captured by the demo grid worker — and a few pulls through the real service, so the
villagers of those households see them in their 查询记录.

Idempotent: the recipient, notices and products are found again, an active consent is not given
twice, and each pull has a fixed Idempotency-Key (a second run replays the stored answer). Pulls
are skipped for a household without an effective rating, and all of them when the rate limiter
(Redis) is unavailable.
"""

from __future__ import annotations

import random
from datetime import date

from backend import clock
from backend.auth.roles import Actor, Role
from backend.bank import services as bank
from backend.bank.schemas import ProductIn, PullIn
from backend.consent import services as consent
from backend.consent.schemas import GrantIn, NoticeIn, PaperGrantIn, RecipientIn
from backend.db import fetch
from backend.errors import CunxinError
from backend.ratings import periods
from backend.registry import protection
from points_rules.consent import DataScope, Purpose, RecipientKind

BANK_NAME = "示范农商银行"
PAPER_HOUSEHOLDS = 3
NOTICE_TEXT = (
    "本人作为户主，同意{recipient}通过村信平台查询本户经公示生效的家庭信用评级（信用等级，按产品需要含积分），"
    "用于{purpose}。方式：银行系统经接口查询，每次查询向银行出具签名的评级证明；不提供身份证号、电话和积分明细。"
    "保存期限：自签署之日起一年。撤回方式：随时在村信应用“我的授权”中撤回，或告知网格员；撤回后立即停止查询，"
    "不影响撤回前已进行的查询。每次查询都会记入本户的查询记录。")
PURPOSE_ZH = {Purpose.CREDIT_APPLICATION: "农户信用贷款申请", Purpose.CREDIT_LINE_REVIEW: "授信额度审查"}
PRODUCTS = [
    ProductIn(recipient_id=1, code="NHXD-01", name_zh="农户小额信用贷款", purposes=[Purpose.CREDIT_APPLICATION],
              data_scope=DataScope.GRADE, rating_mandatory=True, stale_days=400, failed_check_blocks=True),
    ProductIn(recipient_id=1, code="XYC-ZCSX", name_zh="信用村整村授信",
              purposes=[Purpose.CREDIT_APPLICATION, Purpose.CREDIT_LINE_REVIEW], data_scope=DataScope.GRADE_SCORE,
              rating_mandatory=True, stale_days=550, failed_check_blocks=False),
]


async def seed(today: date) -> dict:
    from dev.demo_history import _actor, _photo
    from dev.seed import DEMO_BANK_CLIENT_ID

    clients = await fetch("SELECT id, county FROM bank_client WHERE client_id = {}", DEMO_BANK_CLIENT_ID)
    if not clients:
        return {"skipped": "no demo bank client"}
    client = clients[0]
    county = await _actor("county_admin")
    counts = {"recipient_created": False, "products": 0, "consents": 0, "pulls": 0}

    found = await fetch("SELECT id FROM consent_recipient WHERE kind = 'bank' AND bank_client = {} AND active "
                        "ORDER BY id LIMIT 1", client["id"])
    if found:
        recipient_id = found[0]["id"]
    else:
        recipient_id = (await consent.create_recipient(county, RecipientIn(
            kind=RecipientKind.BANK, code=DEMO_BANK_CLIENT_ID, name_zh=BANK_NAME, bank_client_id=client["id"]))).id
        counts["recipient_created"] = True
    notices = {}
    for purpose in (Purpose.CREDIT_APPLICATION, Purpose.CREDIT_LINE_REVIEW):
        current = await fetch("""SELECT id FROM consent_notice WHERE county = {} AND recipient_kind = 'bank'
                                 AND purpose = {} ORDER BY version DESC LIMIT 1""", county.county_id, purpose.value)
        notices[purpose] = current[0]["id"] if current else (await consent.create_notice(county, NoticeIn(
            recipient_kind=RecipientKind.BANK, purpose=purpose, title_zh=f"银行查询信用评级授权书（{PURPOSE_ZH[purpose]}）",
            text_zh=NOTICE_TEXT.replace("{purpose}", PURPOSE_ZH[purpose]), consent_days=365))).id

    existing = {r["code"] for r in await fetch("SELECT code FROM bank_product WHERE recipient = {}", recipient_id)}
    for product in PRODUCTS:
        if product.code not in existing:
            await bank.create_product(county, product.model_copy(update={"recipient_id": recipient_id}))
            counts["products"] += 1

    # Consents: the demo villager's household in the app (for both purposes), a few households of
    # the grid worker's grids on paper (credit applications).
    villager = await _actor("villager")
    worker = await _actor("grid_worker")
    households: list[int] = []
    if villager.household_id is not None:
        households.append(villager.household_id)
        for purpose in (Purpose.CREDIT_APPLICATION, Purpose.CREDIT_LINE_REVIEW):
            if await consent.active_consent(("household", villager.household_id), recipient_id, purpose,
                                            DataScope.GRADE_SCORE, clock.now()):
                continue
            try:
                await consent.grant_in_app(villager, GrantIn(subject="household", recipient_id=recipient_id,
                                                             purpose=purpose, data_scope=DataScope.GRADE_SCORE,
                                                             notice_id=notices[purpose]))
                counts["consents"] += 1
            except CunxinError:
                pass  # e.g. the demo villager is not the head
    rng = random.Random(53)
    paper = await fetch("""SELECT h.id FROM household h WHERE h.grid = ANY({}) AND h.id <> {}
                           AND EXISTS (SELECT 1 FROM household_membership m WHERE m.household = h.id
                                       AND m.valid_to IS NULL AND m.relation = '户主')
                           ORDER BY h.id LIMIT {}""", sorted(worker.grid_ids), villager.household_id or 0,
                        PAPER_HOUSEHOLDS)
    for row in paper:
        households.append(row["id"])
        if await consent.active_consent(("household", row["id"]), recipient_id, Purpose.CREDIT_APPLICATION,
                                        DataScope.GRADE_SCORE, clock.now()):
            continue
        try:
            await consent.capture_paper(worker, "household", row["id"], PaperGrantIn(
                recipient_id=recipient_id, purpose=Purpose.CREDIT_APPLICATION, data_scope=DataScope.GRADE_SCORE,
                notice_id=notices[Purpose.CREDIT_APPLICATION], signed_on=today,
                evidence_id=await _photo(worker, rng), capacity="witness"))
            counts["consents"] += 1
        except CunxinError:
            pass

    # Pulls, as the bank's server would make them (only where an effective rating exists).
    actor = Actor(kind="bank_client", id=client["id"], role=Role.BANK, label=DEMO_BANK_CLIENT_ID, sid="demo-seed",
                  county_id=client["county"])
    plan = [(h, "NHXD-01", Purpose.CREDIT_APPLICATION) for h in households]
    if villager.household_id is not None:
        plan.append((villager.household_id, "XYC-ZCSX", Purpose.CREDIT_LINE_REVIEW))
    for household_id, code, purpose in plan:
        if not await periods.official_ratings("household", household_id, client["county"]):
            continue
        head = await fetch("""SELECT p.id_number_cipher FROM household_membership m JOIN person p ON p.id = m.person
                              WHERE m.household = {} AND m.valid_to IS NULL AND m.relation = '户主'""", household_id)
        if not head:
            continue
        try:
            status, _ = await bank.pull(actor, PullIn(head_id_number=protection.reveal_id_number(
                head[0]["id_number_cipher"]), product_code=code, purpose=purpose),
                f"demo-pull-{household_id}-{code}-{purpose.value}")
        except CunxinError:
            break  # the rate limiter (Redis) is unavailable: no pulls this time
        counts["pulls"] += status == 200
    return counts
