"""Demo data for the honour roll (called by :mod:`dev.demo_extras`, after the demo year's events
and rating period): the county's public honour roll as a consent recipient, its notice, and
honour-roll consents through the real consent services —

* in the app: the demo villager for themself and (as head) their household;
* on paper: signed forms photographed and captured by the demo grid worker for households of its
  grids with the most to show (a credit household rating, honours, volunteering, charity) and for
  their most honoured members; one form signed by a delegate.

Everyone else in the county has not consented and stays off the roll. Idempotent: a second run
finds the recipient and changes nothing.
"""

from __future__ import annotations

import random
from datetime import date

from backend.consent import services as consent
from backend.consent.schemas import GrantIn, NoticeIn, PaperGrantIn, RecipientIn
from backend.db import fetch
from backend.errors import CunxinError
from points_rules.consent import DataScope, Purpose, RecipientKind
from points_rules.honour import HONOUR_CATEGORIES

RECIPIENT_CODE = "honour-roll"
NOTICE_TEXT = (
    "本人同意将本人（或本户）的正面信用信息在{recipient}公开公示。用途：红榜公示（信用户、表彰奖励、志愿服务、公益慈善）。"
    "方式：在村信红榜网页和接口公开姓名（家庭以户主姓名）、所在乡镇和村、信用户等级及上述正面事项；不公示身份证号、"
    "电话、住址、积分和任何负面信息。保存期限：自签署之日起一年，期满不再公示。撤回方式：随时在村信应用“我的授权”中撤回，"
    "或告知网格员；撤回后立即停止公示，不影响撤回前已进行的公示。")
HOUSEHOLDS = 6
PERSONS = 4


def _roll_items() -> list[str]:
    from backend.ledger.catalogue import catalogues

    return sorted({i.code for v in catalogues().versions for i in v.items
                   if i.direction == "positive" and i.category in HONOUR_CATEGORIES})


async def seed(today: date) -> dict:
    from dev.demo_history import _actor, _photo

    if await fetch("SELECT 1 FROM consent_recipient WHERE kind = {} AND code = {}", RecipientKind.HONOUR_ROLL.value,
                   RECIPIENT_CODE):
        return {"created": False}
    county = await _actor("county_admin")
    county_name = (await fetch("SELECT name FROM county WHERE id = {}", county.county_id))[0]["name"]
    recipient = await consent.create_recipient(county, RecipientIn(kind=RecipientKind.HONOUR_ROLL, code=RECIPIENT_CODE,
                                                                   name_zh=f"{county_name}信用红榜"))
    current = next((n for n in recipient.current_notices if n.purpose is Purpose.HONOUR_ROLL), None)
    notice_id = current.notice_id if current else (await consent.create_notice(county, NoticeIn(
        recipient_kind=RecipientKind.HONOUR_ROLL, purpose=Purpose.HONOUR_ROLL, title_zh="红榜公示同意书",
        text_zh=NOTICE_TEXT, consent_days=365))).id
    counts = {"created": True, "app": 0, "paper": 0}

    villager = await _actor("villager")
    for subject in ("person", "household"):
        try:
            await consent.grant_in_app(villager, GrantIn(subject=subject, recipient_id=recipient.id,
                                                         purpose=Purpose.HONOUR_ROLL,
                                                         data_scope=DataScope.GRADE_SCORE_ENTRIES, notice_id=notice_id))
            counts["app"] += 1
        except CunxinError:
            pass  # e.g. the demo villager is not the head: no household consent

    worker = await _actor("grid_worker")
    items = _roll_items()
    grids = sorted(worker.grid_ids)
    # Households of the worker's grids with the most to show: a credit rating, then roll entries.
    households = await fetch(
        """SELECT h.id,
                  coalesce((SELECT p.is_credit FROM rating_proposal p JOIN rating_period pe ON pe.id = p.period
                            WHERE p.level = 'household' AND p.subject_id = h.id AND p.status = 'effective'
                            ORDER BY pe.ends_on DESC LIMIT 1), false) AS credit,
                  (SELECT count(*) FROM ledger_entry e WHERE e.item_code = ANY({})
                     AND ((e.subject_kind = 'household' AND e.subject_id = h.id)
                          OR (e.subject_kind = 'person' AND e.person_id IN
                              (SELECT m.person FROM household_membership m
                               WHERE m.household = h.id AND m.valid_to IS NULL)))) AS honours
           FROM household h WHERE h.grid = ANY({}) AND h.id <> {}
           ORDER BY 2 DESC, 3 DESC, h.id LIMIT {}""", items, grids, villager.household_id or 0, HOUSEHOLDS)
    persons = await fetch(
        """SELECT e.subject_id AS id, count(*) AS n FROM ledger_entry e
           JOIN household_membership m ON m.person = e.subject_id AND m.valid_to IS NULL
           WHERE e.subject_kind = 'person' AND e.item_code = ANY({}) AND e.points > 0 AND m.household = ANY({})
           GROUP BY e.subject_id ORDER BY n DESC, e.subject_id LIMIT {}""",
        items, [h["id"] for h in households], PERSONS)
    rng = random.Random(47)
    subjects = [("household", h["id"]) for h in households] + [("person", p["id"]) for p in persons]
    for n, (kind, subject_id) in enumerate(subjects):
        delegate = n == len(households) - 1  # one head could not write: a relative signed for them
        try:
            await consent.capture_paper(worker, kind, subject_id, PaperGrantIn(
                recipient_id=recipient.id, purpose=Purpose.HONOUR_ROLL, data_scope=DataScope.GRADE_SCORE_ENTRIES,
                notice_id=notice_id, signed_on=today, evidence_id=await _photo(worker, rng),
                capacity="delegate" if delegate else "witness", delegate_name="户主之子代签" if delegate else ""))
            counts["paper"] += 1
        except CunxinError:
            pass  # a household without a head, or a subject already consenting
    return counts
