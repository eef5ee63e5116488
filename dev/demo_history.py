"""A year of credit history for the demo county, recorded through the real services.

Events go through ``ledger.services.record_event`` (scored, hash-chained, reviewed where the
catalogue says), each with a real (generated) photo where evidence is required; then standing is
recomputed and a half-year rating period is closed, approved (maker-checker where required),
publicised and made effective — so every screen has something true to show.
Deterministic for a given seed and date.

Villages are not all alike, or the charts and queues would say nothing: the seeded random draw gives
each village a temperament (``TEMPERAMENTS``) — a few model villages (示范村) where good deeds are more
frequent, one lagging village where wrongs are (and a sixth of the households dumped rubbish twice:
fewer stars), and one struggling village where almost half the households broke the village's
environmental-sanitation commitment (门前三包/人居环境承诺, a COMMITMENT-BROKEN on the household) and
which is therefore not a 信用村. A few households are
文明家庭 (an honour, model courtyards, customs reform: AAA) or 美丽庭院示范户 (AA) (``CAMPAIGNS``).
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from PIL import Image

from backend import jobs
from backend.auth import scope
from backend.auth.roles import Actor
from backend.auth.services import account_actor
from backend.db import fetch
from backend.errors import CunxinError
from backend.evidence import imaging
from backend.evidence.services import storage
from backend.evidence.tables import READY, Evidence
from backend.ledger.catalogue import catalogues
from backend.ledger.schemas import EventIn
from backend.ledger.services import decide, record_event
from backend.notifications import outbox as notices
from backend.ratings import periods
from backend.ratings.recompute import full_recompute
from backend.ratings.schemas import ApprovalIn, PeriodIn

DEMO_PERIOD_CODE = "2026H1"


@dataclass(frozen=True)
class Plan:
    """(item code, subject kind, how many people/households, level choices, quantity range); ``lean``
    "good" draws the subjects more often from model villages, "bad" from the lagging and struggling ones."""

    item: str
    kind: str
    count: int
    levels: tuple[str, ...] = ()
    quantity: tuple[int, int] | None = None
    lean: str = "good"


# Fewer of the everyday plans than the county's size would suggest, so that the campaigns below fit in
# about the same seeding time (it runs on first start).
PLANS = (
    Plan("VOL-HOURS", "person", 340, quantity=(4, 36)),
    Plan("GRID-CLEANUP", "person", 200, levels=("took_part", "took_part", "outstanding", "organised")),
    Plan("GRID-MEDIATION", "person", 60, levels=("took_part", "settled", "major_settled")),
    Plan("ENV-COURTYARD", "household", 150, levels=("clean_household", "clean_household", "model_courtyard")),
    Plan("HONOUR", "person", 50, levels=("village", "township", "county", "county", "city")),
    Plan("BLOOD-DONATION", "person", 40),
    Plan("COMMITMENT-KEPT", "person", 60),
    Plan("FILIAL-PIETY", "person", 55),
    Plan("CHARITY-DONATION", "person", 40, levels=("under_1000", "under_1000", "from_1000")),
    Plan("ENV-DUMPING", "person", 45, lean="bad"),
    Plan("WAGE-ARREARS", "person", 18, levels=("up_to_2_months", "months_2_to_6", "over_6_months_or_malicious"),
         lean="bad"),
    Plan("COMMITMENT-BROKEN", "person", 12, lean="bad"),
    Plan("FILIAL-NEGLECT", "person", 6, lean="bad"),
    Plan("JUDGMENT-DEFAULTER", "person", 6, lean="bad"),
)

# Village temperaments, drawn per seed: how many of each (the rest are "ordinary"), and how much more
# often a village of that temperament is drawn for a plan of each lean.
TEMPERAMENTS = {"model": 3, "lagging": 1, "struggling": 1}
_LEAN_WEIGHTS = {
    "good": {"model": 3.0, "ordinary": 1.0, "lagging": 0.5, "struggling": 0.4},
    "bad": {"model": 0.3, "ordinary": 1.0, "lagging": 4.0, "struggling": 4.0},
}


@dataclass(frozen=True)
class Campaign:
    """The same events for each of a set of households: ``count`` households drawn (leaning "good") from
    the whole county, or ``share`` of the households of the villages of temperament ``where``."""

    name_zh: str
    events: tuple[tuple[str, str | None], ...]   # (item code, level), recorded in this order on different days
    count: int = 0
    share: float = 0.0
    where: str = ""


CAMPAIGNS = (
    # 文明家庭: a city honour (+10), two model-courtyard inspections (+3 +3, the yearly cap) and a customs
    # reform (+2): 65 + 18 = 83 for a family of A members → AAA.
    Campaign("文明家庭", (("HONOUR", "city"), ("ENV-COURTYARD", "model_courtyard"),
                         ("ENV-COURTYARD", "model_courtyard"), ("CUSTOMS-REFORM", None)), count=16),
    # 美丽庭院示范户: two model-courtyard inspections (+6): 71 → AA.
    Campaign("美丽庭院示范户", (("ENV-COURTYARD", "model_courtyard"), ("ENV-COURTYARD", "model_courtyard")), count=36),
    # The struggling village: 45 % of its households broke the sanitation commitment (−20 on the household:
    # 45, not a credit household), so fewer than 70 % are credit households even after review rejects some.
    Campaign("违反人居环境承诺", (("COMMITMENT-BROKEN", None),), share=0.45, where="struggling"),
    # The lagging village: a sixth of its households dumped rubbish twice (−2, then −4 as a repeat): 59, just
    # below a credit household — the village stays a 信用村, with fewer stars.
    Campaign("屡次乱倒垃圾", (("ENV-DUMPING", None), ("ENV-DUMPING", None)), share=0.16, where="lagging"),
)


def _temperaments(rng: random.Random, villages: list[int]) -> dict[int, str]:
    drawn = rng.sample(villages, sum(TEMPERAMENTS.values()))
    out = {v: "ordinary" for v in villages}
    for kind, n in TEMPERAMENTS.items():
        for v in drawn[:n]:
            out[v] = kind
        drawn = drawn[n:]
    return out


def _draw(rng: random.Random, subjects: list[int], village_of: dict[int, int], temper: dict[int, str],
          lean: str, k: int) -> list[int]:
    """``k`` distinct subjects, each drawn with the weight of its village's temperament for ``lean``
    (weighted sampling without replacement: the k largest ``u ** (1 / w)``, Efraimidis–Spirakis)."""
    weights = _LEAN_WEIGHTS[lean]
    keyed = [(rng.random() ** (1.0 / weights[temper[village_of[s]]]), s) for s in subjects]
    return [s for _, s in sorted(keyed, reverse=True)[:k]]


async def _actor(username: str) -> Actor:
    row = (await fetch("SELECT id FROM account WHERE username = {}", username))[0]
    actor = await account_actor(row["id"])
    assert actor is not None
    return actor


async def _photo(actor: Actor, rng: random.Random) -> int:
    """A unique generated photo, processed as the worker would (so perceptual hashes differ)."""
    image = Image.frombytes("RGB", (48, 36), rng.randbytes(48 * 36 * 3))
    buffer = io.BytesIO()
    image.resize((320, 240), Image.NEAREST).save(buffer, "JPEG", quality=80)
    result = imaging.process(buffer.getvalue())
    image_key, thumb_key = f"images/{result.sha256}.jpg", f"thumbs/{result.sha256}.jpg"
    storage().put(image_key, result.image_bytes)
    storage().put(thumb_key, result.thumbnail_bytes)
    rows = await Evidence.insert(Evidence(
        county_id=scope.county_of(actor), uploaded_by=actor.id, status=READY, declared_format="JPEG", byte_size=len(buffer.getvalue()),
        image_key=image_key, thumbnail_key=thumb_key, width=result.width, height=result.height,
        sha256=result.sha256, phash=result.phash)).returning(Evidence.id)
    return rows[0]["id"]


async def seed_history(today: date, *, seed: int = 2026, progress: Callable[[int], None] | None = None) -> dict:
    """Record the demo year's events, recompute, and run one rating period to the end."""
    rng = random.Random(seed)
    county = await _actor("county_admin")
    people = [r["person"] for r in await fetch(
        "SELECT person FROM household_membership WHERE valid_to IS NULL ORDER BY person")]
    household_rows = await fetch("SELECT id, village FROM household ORDER BY id")
    households = [r["id"] for r in household_rows]
    household_village = {r["id"]: r["village"] for r in household_rows}
    person_village = {r["person"]: r["village"] for r in await fetch(
        """SELECT m.person, h.village FROM household_membership m JOIN household h ON h.id = m.household
           WHERE m.valid_to IS NULL""")}
    temper = _temperaments(rng, sorted(set(household_village.values())))
    start = date(today.year, 1, 5)
    span = (today - timedelta(days=3) - start).days
    counts = {"events": 0, "pending": 0, "rejected": 0}
    version = catalogues().version_on(today)

    async def record(key: str, item_code: str, kind: str, subject: int, level: str | None,
                     quantity: Decimal | None, occurred: date) -> None:
        if not version.has_item(item_code):
            return
        item = version.item(item_code)
        evidence = [await _photo(county, rng)] if item.evidence == "required" else []
        data = EventIn(idempotency_key=key, item_code=item_code, subject_kind=kind, subject_id=subject,
                       occurred_on=occurred, level=level, quantity=quantity, evidence_ids=evidence, note="示范数据")
        try:
            event, _ = await record_event(county, data, today=occurred + timedelta(days=rng.randint(0, 5)))
        except CunxinError:
            return  # e.g. a subject kind an older catalogue version lacks: skip, as a clerk would
        counts["events"] += 1
        if event.status == "pending_review":
            roll = rng.random()
            if roll < 0.08:
                counts["pending"] += 1  # left for the township admin's review queue
            elif roll < 0.12:
                await decide(county, event.id, approve=False, reason="经核实证据不足，不予认定")
                counts["rejected"] += 1
            else:
                await decide(county, event.id, approve=True, reason="经核实属实")

    # thousands of back-dated demo events: no villager is told of each (the ratings' publicity still is)
    with jobs.suppressed("recompute_standing"), notices.suppressed():
        for plan in PLANS:
            pool, village_of = (people, person_village) if plan.kind == "person" else (households, household_village)
            for n, subject in enumerate(_draw(rng, pool, village_of, temper, plan.lean, plan.count)):
                occurred = start + timedelta(days=rng.randrange(span))
                await record(f"demo-{plan.item}-{n}-{subject}", plan.item, plan.kind, subject,
                             rng.choice(plan.levels) if plan.levels else None,
                             Decimal(rng.randint(*plan.quantity)) if plan.quantity else None, occurred)
                if progress:
                    progress(1)
        for c, campaign in enumerate(CAMPAIGNS):
            if campaign.where:
                pool = [h for h in households if temper[household_village[h]] == campaign.where]
                chosen = rng.sample(pool, round(campaign.share * len(pool)))
            else:
                chosen = _draw(rng, households, household_village, temper, "good", campaign.count)
            for subject in chosen:
                days = sorted(rng.sample(range(span), len(campaign.events)))   # one event per day, in order
                for n, ((item_code, level), day) in enumerate(zip(campaign.events, days)):
                    await record(f"demo-c{c}-{n}-{subject}", item_code, "household", subject, level, None,
                                 start + timedelta(days=day))
    await full_recompute(as_of=today)
    counts["period"] = await _demo_period(today)
    counts["temperaments"] = {kind: sorted(v for v, t in temper.items() if t == kind) for kind in TEMPERAMENTS}
    return counts


async def _demo_period(today: date) -> str:
    """The first-half-year rating, approved in July and effective by August."""
    county = await _actor("county_admin")
    ends = date(today.year, 6, 30)
    if today <= ends + timedelta(days=40):
        return "skipped (too early in the year)"
    period = await periods.create_period(county, PeriodIn(code=DEMO_PERIOD_CODE, name_zh=f"{today.year}年上半年信用评定",
                                                          starts_on=date(today.year, 1, 1), ends_on=ends))
    await periods.close_period(county, period.id)
    approve_on = ends + timedelta(days=10)
    for row in await fetch("SELECT username FROM account WHERE role = 'township_admin' ORDER BY id"):
        admin = await _actor(row["username"])
        await periods.approve(admin, period.id, ApprovalIn(level="household"), today=approve_on)
        await periods.approve(admin, period.id, ApprovalIn(level="village"), today=approve_on)
    # Second approvals: the county admin checks what township admins made, and a second county
    # admin checks the township level.
    await periods.approve(county, period.id, ApprovalIn(level="household"), today=approve_on)
    await periods.approve(county, period.id, ApprovalIn(level="village"), today=approve_on)
    await periods.approve(county, period.id, ApprovalIn(level="township"), today=approve_on)
    await periods.approve(await _actor("county_admin2"), period.id, ApprovalIn(level="township"), today=approve_on)
    await periods.finalize(today=approve_on + timedelta(days=21))
    return DEMO_PERIOD_CODE
