"""Integration fixtures: the migrated test database with the demo county, the real app
behind an async HTTP client, and real tokens from the real login endpoint."""

from __future__ import annotations

import contextlib
import io
import pytest
import httpx

from backend import clock
from dev.seed import DEMO_PASSWORD

TODAY = clock.today()  # the county's today (CUNXIN_TZ), as the app sees it


# Modules that change the shared database widely run after those that count or pick from the demo
# county (the sort is stable, so each group keeps its own order): the slices that add counties of
# their own or rate subjects other tests pick, then the feeds (10,000 counted events on demo people),
# the route matrix (a second county), Schemathesis (random rows everywhere). The bank tests stay in
# their place, before the ratings tests: they need their own rating period to be the demo
# villager's newest, which the ratings tests' period (ending today) would not let it be.
LATE_MODULES = (
    ("tests.integration.honour.", "tests.integration.measures.",
     "tests.integration.objections.", "tests.integration.webhooks.", "tests.integration.repair.",
     "tests.integration.commitments.", "tests.integration.fieldwork."),
    ("tests.integration.history.",),  # a county of its own with 10,000 imported events; imports on demo people
    ("tests.integration.catalogue.", "tests.integration.ledger.test_county_chains",
     "tests.integration.notifications.", "tests.integration.quality.", "tests.integration.reports."),  # a county of its own (people with entries the demo county admin cannot read)
    ("tests.integration.feeds.",),
    ("tests.integration.browser.",),  # a live server and a real browser; events recorded on demo people
    ("tests.integration.test_route_matrix",),
    ("tests.integration.test_schemathesis",),
)


def _lateness(item) -> int:
    name = item.module.__name__
    return next((rank for rank, prefixes in enumerate(LATE_MODULES, 1) if name.startswith(prefixes)), 0)


def pytest_collection_modifyitems(items):
    items.sort(key=_lateness)


@pytest.fixture(scope="session")
async def app_client():
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from backend.app import create_app
    from dev.seed import seed_demo

    app = create_app()
    # The app's own start-up/shut-down hooks, run on the test loop: Litestar's test client would
    # run the app on a portal thread, and an asyncpg pool must not be shared across loops.
    for hook in app.on_startup:
        await hook(app)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            result = await run_forwards("all")
        assert result.success, result.message
        await seed_demo(today=TODAY)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = app
            yield client
    finally:
        for hook in app.on_shutdown:
            await hook(app)


@pytest.fixture(scope="session")
async def tokens(app_client):
    """Access tokens per demo account, from the real login endpoint."""
    cache: dict[str, str] = {}

    async def get(username: str) -> dict[str, str]:
        if username not in cache:
            response = await app_client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
            assert response.status_code == 200, response.text
            cache[username] = response.json()["access_token"]
        return {"Authorization": f"Bearer {cache[username]}"}

    return get
