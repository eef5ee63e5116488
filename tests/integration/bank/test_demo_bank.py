"""The demo's bank step (``dev.demo_bank.seed``, run by ``python -m dev up`` after the demo year):
the demo bank with two products, app and paper consents, pulls the villagers see in their access
log; a second run changes nothing; without any effective rating it makes no pulls and does not
fail. Observed inside transactions that are rolled back (the other bank tests share the database)."""

from __future__ import annotations

import pytest
from piccolo.engine import engine_finder

from backend.db import fetch
from dev import demo_bank
from dev.seed import DEMO_BANK_CLIENT_ID

from ..conftest import TODAY


class _Rollback(Exception):
    pass


async def _pull_rows() -> int:
    return (await fetch("""SELECT count(*) AS n FROM bank_rating_pull p JOIN bank_client c ON c.id = p.bank_client
                           WHERE c.client_id = {} AND p.idempotency_key LIKE 'demo-pull-%'""",
                        DEMO_BANK_CLIENT_ID))[0]["n"]


async def test_demo_bank_seed_is_complete_and_idempotent(app_client, world, tokens):
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens("villager"))).json()
    with pytest.raises(_Rollback):
        async with engine_finder().transaction():
            first = await demo_bank.seed(TODAY)
            assert first["products"] == 2 and first["consents"] >= 3 and first["pulls"] >= 2, first
            products = await fetch("""SELECT p.code, p.name_zh FROM bank_product p JOIN consent_recipient r
                                      ON r.id = p.recipient JOIN bank_client c ON c.id = r.bank_client
                                      WHERE c.client_id = {}""", DEMO_BANK_CLIENT_ID)
            assert {"农户小额信用贷款", "信用村整村授信"} <= {p["name_zh"] for p in products}
            channels = {r["channel"] for r in await fetch(
                "SELECT channel FROM consent_event WHERE recipient_kind = 'bank' AND action = 'grant'")}
            assert {"app", "paper"} <= channels
            logged = await fetch("""SELECT purpose FROM access_log WHERE household_id = {}
                                    AND purpose LIKE 'bank_pull:%'""", me["household_id"])
            assert len(logged) >= 2  # the villager's household: both products
            rows = await _pull_rows()
            second = await demo_bank.seed(TODAY)
            assert (second["products"], second["consents"], second["recipient_created"]) == (0, 0, False), second
            assert await _pull_rows() == rows  # replays of the same keys: no new pulls
            raise _Rollback


async def test_demo_bank_seed_without_effective_ratings_makes_no_pulls(world):
    with pytest.raises(_Rollback):
        async with engine_finder().transaction():
            await fetch("UPDATE rating_proposal SET status = 'publicised' WHERE status = 'effective'")
            counts = await demo_bank.seed(TODAY)
            assert counts["pulls"] == 0 and await _pull_rows() == 0, counts
            raise _Rollback
