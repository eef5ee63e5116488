"""The demo step (``dev.demo_honour.seed``): consents in the app and on paper through the real
services, a second run changes nothing, and the roll then shows the consenting household —
observed inside a transaction that is rolled back (other modules count consents)."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

from piccolo.engine import engine_finder

from backend import jobs
from backend.db import fetch
from backend.honour import services
from backend.ledger.schemas import EventIn
from backend.ledger.services import record_event
from dev import demo_honour
from dev.demo_history import _actor, _photo
from tests.integration.conftest import TODAY


class _Rollback(Exception):
    pass


async def test_demo_consents_app_and_paper_and_the_roll_shows_them(app_client):
    seen: dict = {}
    try:
        async with engine_finder().transaction():
            worker = await _actor("grid_worker")
            admin = await _actor("county_admin")
            household = (await fetch("SELECT id FROM household WHERE grid = ANY({}) ORDER BY id DESC LIMIT 1",
                                     sorted(worker.grid_ids)))[0]["id"]
            with jobs.suppressed("recompute_standing"):
                await record_event(admin, EventIn(
                    idempotency_key=f"hr-demo-{uuid.uuid4().hex}", item_code="HONOUR", subject_kind="household",
                    subject_id=household, occurred_on=TODAY - timedelta(days=3), level="city",
                    evidence_ids=[await _photo(admin, random.Random(1))]))
            seen["first"] = await demo_honour.seed(TODAY)
            seen["second"] = await demo_honour.seed(TODAY)
            seen["events"] = await fetch(
                """SELECT e.subject_kind, e.subject_id, e.channel, e.capacity, e.delegate_name, e.evidence_id
                   FROM consent_event e JOIN consent_recipient r ON r.id = e.recipient
                   WHERE r.code = {} AND e.action = 'grant'""", demo_honour.RECIPIENT_CODE)
            seen["household"] = household
            seen["worker_households"] = {r["id"] for r in await fetch(
                "SELECT id FROM household WHERE grid = ANY({})", sorted(worker.grid_ids))}
            seen["roll"] = await services.honour_roll(county_code=None, township_code=None, village_code=None,
                                                      limit=200, offset=0)
            raise _Rollback
    except _Rollback:
        pass
    assert seen["first"]["created"] and seen["second"] == {"created": False}
    events = seen["events"]
    assert {e["channel"] for e in events} == {"app", "paper"}
    assert sum(e["channel"] == "app" for e in events) == seen["first"]["app"] >= 1
    paper = [e for e in events if e["channel"] == "paper"]
    assert len(paper) == seen["first"]["paper"] >= demo_honour.HOUSEHOLDS
    assert all(e["evidence_id"] for e in paper) and any(e["capacity"] == "delegate" and e["delegate_name"]
                                                       for e in paper)
    # The grid worker captures forms in their own grids only, for the households with the most to
    # show (other tests may have given other households there more than the honour recorded here).
    paper_households = {e["subject_id"] for e in paper if e["subject_kind"] == "household"}
    assert paper_households and paper_households <= seen["worker_households"]
    assert any(h.honours for h in seen["roll"].honoured), seen["roll"]  # someone consenting is shown with honours
    honoured = [h for h in seen["roll"].honoured if h.kind == "household"]
    if seen["household"] in paper_households:
        assert any(line.title_zh == "表彰奖励（市级）" for h in honoured for line in h.honours), seen["roll"]
    # Rolled back: nothing of it stays.
    assert not await fetch("SELECT 1 FROM consent_recipient WHERE code = {}", demo_honour.RECIPIENT_CODE)
