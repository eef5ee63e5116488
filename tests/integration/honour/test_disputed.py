"""An honour under objection is off the roll until the objection is decided (as it is off the
standing, official ratings and bank answers); refused, it shows again."""

from __future__ import annotations

from backend.db import fetch

from .conftest import TOWNSHIP_CODE
from .test_roll import _find, _roll


async def test_a_disputed_honour_leaves_the_roll_until_decided(app_client, tokens, world):
    c = world.villagers["consenting"]
    event = (await fetch("""SELECT ev.id FROM credit_event ev JOIN ledger_entry e ON e.event = ev.id
                            WHERE ev.item_code = 'HONOUR' AND ev.subject_kind = 'person' AND ev.subject_id = {}
                              AND ev.status = 'counted' AND ev.level = 'county' ORDER BY ev.id LIMIT 1""",
                         c.person_id))[0]["id"]

    def county_honour(roll: dict) -> bool:
        person = _find(roll, "person", c)
        return person is not None and "表彰奖励（县级）" in [h["title_zh"] for h in person["honours"]]

    assert county_honour(await _roll(app_client, township=TOWNSHIP_CODE))
    filed = await app_client.post("/api/v1/entry-objections", headers=c.headers,
                                  json={"event_id": event, "reason": "表彰级别登记有误"})
    assert filed.status_code == 201, filed.text
    try:
        assert not county_honour(await _roll(app_client, township=TOWNSHIP_CODE))
    finally:
        decided = await app_client.post(f"/api/v1/entry-objections/{filed.json()['id']}/decide",
                                        headers=await tokens("county_admin"),
                                        json={"decision": "refuse", "reason": "经核实表彰级别无误"})
        assert decided.status_code == 200, decided.text
    assert county_honour(await _roll(app_client, township=TOWNSHIP_CODE))
