"""A year of credit history for the demo county, recorded through the real services.

Events go through ``ledger.services.record_event`` (scored, hash-chained, reviewed where the
catalogue says), each with a real (generated) photo where evidence is required; then standing is
recomputed and a half-year rating period is closed, approved (maker-checker where required),
publicised and made effective — so every screen has something true to show.
Deterministic for a given seed and date.
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
from backend.ratings import periods
from backend.ratings.recompute import full_recompute
from backend.ratings.schemas import ApprovalIn, PeriodIn

DEMO_PERIOD_CODE = "2026H1"


@dataclass(frozen=True)
class Plan:
    """(item code, subject kind, share of people/households, level choices, quantity range)."""

    item: str
    kind: str
    count: int
    levels: tuple[str, ...] = ()
    quantity: tuple[int, int] | None = None


PLANS = (
    Plan("VOL-HOURS", "person", 420, quantity=(4, 36)),
    Plan("GRID-CLEANUP", "person", 260, levels=("took_part", "took_part", "outstanding", "organised")),
    Plan("GRID-MEDIATION", "person", 60, levels=("took_part", "settled", "major_settled")),
    Plan("ENV-COURTYARD", "household", 220, levels=("clean_household", "clean_household", "model_courtyard")),
    Plan("HONOUR", "person", 50, levels=("village", "township", "county", "county", "city")),
    Plan("BLOOD-DONATION", "person", 40),
    Plan("COMMITMENT-KEPT", "person", 80),
    Plan("FILIAL-PIETY", "person", 70),
    Plan("CHARITY-DONATION", "person", 40, levels=("under_1000", "under_1000", "from_1000")),
    Plan("ENV-DUMPING", "person", 45),
    Plan("WAGE-ARREARS", "person", 18, levels=("up_to_2_months", "months_2_to_6", "over_6_months_or_malicious")),
    Plan("COMMITMENT-BROKEN", "person", 12),
    Plan("FILIAL-NEGLECT", "person", 6),
    Plan("JUDGMENT-DEFAULTER", "person", 6),
)


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
        uploaded_by=actor.id, status=READY, declared_format="JPEG", byte_size=len(buffer.getvalue()),
        image_key=image_key, thumbnail_key=thumb_key, width=result.width, height=result.height,
        sha256=result.sha256, phash=result.phash)).returning(Evidence.id)
    return rows[0]["id"]


async def seed_history(today: date, *, seed: int = 2026, progress: Callable[[int], None] | None = None) -> dict:
    """Record the demo year's events, recompute, and run one rating period to the end."""
    rng = random.Random(seed)
    county = await _actor("county_admin")
    people = [r["person"] for r in await fetch(
        "SELECT person FROM household_membership WHERE valid_to IS NULL ORDER BY person")]
    households = [r["id"] for r in await fetch("SELECT id FROM household ORDER BY id")]
    start = date(today.year, 1, 5)
    span = (today - timedelta(days=3) - start).days
    counts = {"events": 0, "pending": 0, "rejected": 0}
    version = catalogues().version_on(today)
    with jobs.suppressed("recompute_standing"):
        for plan in PLANS:
            item = version.item(plan.item)
            subjects = rng.sample(people if plan.kind == "person" else households, plan.count)
            for n, subject in enumerate(subjects):
                occurred = start + timedelta(days=rng.randrange(span))
                evidence = [await _photo(county, rng)] if item.evidence == "required" else []
                data = EventIn(
                    idempotency_key=f"demo-{plan.item}-{n}-{subject}", item_code=plan.item, subject_kind=plan.kind,
                    subject_id=subject, occurred_on=occurred,
                    level=rng.choice(plan.levels) if plan.levels else None,
                    quantity=Decimal(rng.randint(*plan.quantity)) if plan.quantity else None,
                    evidence_ids=evidence, note="示范数据",
                )
                try:
                    event, _ = await record_event(county, data, today=occurred + timedelta(days=rng.randint(0, 5)))
                except CunxinError:
                    continue  # e.g. a subject kind an older catalogue version lacks: skip, as a clerk would
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
                if progress:
                    progress(1)
    await full_recompute(as_of=today)
    counts["period"] = await _demo_period(today)
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
