"""Demo data for credit commitments (to be called from :mod:`dev.demo_extras` like the others:
``"commitments": await demo_commitments.seed(today)``): the shipped templates for the demo county,
and the demo villager's own repair commitment signed in the app — plus, if the villager heads their
household, a subsidy-claim commitment for the household. Idempotent: each signing has a fixed
idempotency key, so a second run answers the same commitments and writes nothing."""

from __future__ import annotations

from datetime import date

from backend.auth.services import account_actor
from backend.commitments import services
from backend.commitments.schemas import SignIn
from backend.consent.services import head_of
from backend.db import fetch
from dev.demo_data import COUNTY_CODE


async def seed(today: date) -> dict:
    county = await fetch("SELECT id FROM county WHERE code = {}", COUNTY_CODE)
    villager = await fetch("SELECT id FROM account WHERE username = 'villager'")
    if not county:
        return {"templates": 0, "commitments": []}
    templates = await services.ensure_default_templates(county[0]["id"])
    if not villager:
        return {"templates": templates, "commitments": []}
    actor = await account_actor(villager[0]["id"])
    by_purpose = {t.purpose: t for t in await services.list_templates(actor)}
    signed = [await services.sign(actor, SignIn(idempotency_key="demo-commitment-repair", template_id=by_purpose["repair"].id,
                                                subject_kind="person", subject_id=actor.person_id))]
    if actor.household_id is not None and await head_of(actor.household_id) == actor.person_id:
        signed.append(await services.sign(actor, SignIn(
            idempotency_key="demo-commitment-subsidy", template_id=by_purpose["subsidy_claim"].id,
            subject_kind="household", subject_id=actor.household_id)))
    return {"templates": templates, "commitments": [c.id for c in signed]}
