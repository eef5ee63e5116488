"""The in-memory catalogue sets and another process's publish (``backend.ledger.catalogue``): a
write always checks for a publish first; a read may go on the last check for at most
``READ_MAX_AGE`` seconds, and sees the publish once that has passed.

"Another process" is this process with its registry put back to what it held before the publish
(the publish itself refreshed it), and the clock the check uses is held still or moved on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend import clock
from backend.auth import accounts
from backend.auth.roles import Role
from backend.ledger import catalogue
from dev.seed import DEMO_PASSWORD
from tests.integration.catalogue.test_county_versions import URL, version_text
from tests.integration.counties import own_county

FUTURE = clock.today() + timedelta(days=40)


def _registry() -> tuple:
    return catalogue._published, catalogue._sets, catalogue._marker, catalogue._checked_at


def _put_back(saved: tuple, checked_at: float) -> None:
    catalogue._published, catalogue._sets, catalogue._marker, _ = saved
    catalogue._checked_at = checked_at


def _versions(county: int) -> set[str]:
    return {v.version for v in catalogue.catalogues(county).versions}


@pytest.fixture
def still_clock(monkeypatch):
    now = {"t": 1000.0}
    monkeypatch.setattr(catalogue, "_monotonic", lambda: now["t"])
    return now


async def test_reads_see_another_process_publish_within_the_max_age_and_writes_at_once(
        app_client, tokens, still_clock):
    own = await own_county("CR", "刷新", 1, birth_seed=71)
    tag = own.code[2:]
    for name in ("a", "b"):
        await accounts.create_account(f"cr{tag}_{name}", DEMO_PASSWORD, Role.COUNTY_ADMIN, county_code=own.code,
                                      display_name=f"刷新区管理员{name}", admin_ui=True)
    a, b = await tokens(f"cr{tag}_a"), await tokens(f"cr{tag}_b")
    person = own.people[0][0]
    read = f"/api/v1/persons/{person}/points"

    assert (await app_client.get(read, headers=a)).status_code == 200
    before = _registry()
    assert "2027.7" not in _versions(own.county)
    r = await app_client.post(URL, headers=a, json={"yaml": version_text("2027.7", FUTURE)})
    assert r.status_code == 201, r.text
    r = await app_client.post(f"{URL}/{r.json()['id']}/publish", headers=b)
    assert r.status_code == 200, r.text
    assert "2027.7" in _versions(own.county)  # the publishing process knows at once

    # Another process, checked a moment ago: its reads go on the set it has...
    _put_back(before, checked_at=still_clock["t"])
    still_clock["t"] += catalogue.READ_MAX_AGE / 2
    assert (await app_client.get(read, headers=a)).status_code == 200
    assert "2027.7" not in _versions(own.county)
    # ...but a write checks first, however recent the last check (even one refused as invalid).
    r = await app_client.post("/api/v1/events", headers=a, json={})
    assert r.status_code == 400, r.text
    assert "2027.7" in _versions(own.county)

    # Once READ_MAX_AGE has passed since its last check, a read sees the publish too.
    _put_back(before, checked_at=still_clock["t"])
    still_clock["t"] += catalogue.READ_MAX_AGE
    assert (await app_client.get(read, headers=a)).status_code == 200
    assert "2027.7" in _versions(own.county)
