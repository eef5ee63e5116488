"""Schemathesis against the app, for every role (issue 9 item 9).

Every operation of the app's own OpenAPI document (``/schema/openapi.json``, read from the running
app, so a new route is fuzzed without anyone adding it here) is sent as each demo account, the bank
client and an anonymous caller, with positive cases (valid by the schema; path and query ids are
often real ids of the demo county, so real rows reach the response models) and negative ones
(invalid by the schema). Every answer must pass Schemathesis' checks:

* ``not_a_server_error`` — no 5xx (a 503 counts: PostgreSQL and Redis are up);
* ``status_code_conformance`` — the status is documented for the operation;
* ``content_type_conformance`` — the media type is the documented one;
* ``response_headers_conformance`` — documented required headers are there (``Retry-After`` on 429);
* ``response_schema_conformance`` — the body matches the schema documented for that status.

Schemathesis generates the cases (its Python API, Hypothesis underneath) in a worker thread, and
each request goes back to the test's event loop (``asyncio.run_coroutine_threadsafe``) through
httpx's ASGI transport to the real app: the app's asyncpg pool belongs to that loop, and
Schemathesis' own ASGI runner would drive the app from a loop of its own.

The login, token, refresh and logout operations are not in the bulk run: logins are throttled per
address and per account, and a fuzzed logout or refresh would end the session the run uses. They
get their own small budget (``test_auth_operations``). The run writes into the shared test database
(random periods, notices, events…), so ``conftest.py`` orders this module after all the others.

Budget: ``CUNXIN_FUZZ_EXAMPLES`` cases per operation, identity and mode (default 3: about 6,000
requests, under two minutes on two cores); ``CUNXIN_FUZZ_SEED`` replays a run (the seed is in every
failure report); ``CUNXIN_FUZZ_ROLES`` (comma-separated) narrows the identities;
``CUNXIN_FUZZ_HISTORY=1`` records the demo year first when the ledger is empty (a run of this module
alone); ``CUNXIN_FUZZ_REPORT`` names a file for the full report, with the operations that never
answered 2xx. ``scripts/fuzz`` runs it longer.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import dataclasses
import os
import random
import re
import time
import zlib
from datetime import timedelta
from collections import Counter, defaultdict
from collections.abc import Callable

import httpx
import logging
import pytest
import requests
import schemathesis
from litestar import Litestar, MediaType, Response, get
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException
from schemathesis.core.errors import SchemathesisError
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend import clock
from backend.db import fetch
from dev.seed import DEMO_BANK_CLIENT_ID, DEMO_BANK_SECRET, DEMO_PASSWORD

# The run's own client address: login throttling by address neither reaches the other tests'
# client (127.0.0.1) nor is used up by them.
CLIENT = ("127.0.0.77", 50077)
BASE_URL = "http://testserver"
ACCOUNTS = ("county_admin", "county_admin2", "auditor", "township_admin", "township_admin2", "grid_worker",
            "villager")
IDENTITIES = (*ACCOUNTS, "bank", "anonymous")
AUTH_PATHS = re.compile(r"^/api/v1/auth/(login|token|refresh|logout)$")
TOKEN_LIFETIME = 600  # seconds a token is used before logging in again (tokens last 15 minutes)
EXAMPLES = int(os.environ.get("CUNXIN_FUZZ_EXAMPLES", "3"))
SEED = int(os.environ.get("CUNXIN_FUZZ_SEED") or random.randrange(2**32))
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


def not_a_server_error(ctx, response, case):
    """No 5xx at all. Schemathesis' own check lets a documented 5xx through (every operation that
    needs PostgreSQL or Redis documents 503); here both are up, so a 503 is a failure too."""
    if response.status_code >= 500:
        raise Failure(operation=case.operation.label, title="Server error",
                      message=f"{response.status_code}: {response.content[:500]!r}")


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]

# Path and query parameters → the table whose ids fill them in positive cases (other values still
# come from the generator, so unknown ids are tried as well).
ID_TABLES = {
    "household_id": "household", "person_id": "person", "subject_id": "person", "event_id": "credit_event",
    "entry_id": "ledger_entry", "evidence_id": "evidence", "proposal_id": "rating_proposal",
    "objection_id": "rating_objection", "grid_id": "grid", "village_id": "village", "branch_id": "party_branch",
    "township_id": "township", "organisation_id": "organisation", "period_id": "rating_period",
    "consent_id": "consent_event", "notice_id": "consent_notice", "recipient_id": "consent_recipient",
}


@dataclasses.dataclass
class Report:
    seed: int
    failures: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)  # (operation, kind) → first
    counts: Counter = dataclasses.field(default_factory=Counter)  # (operation, kind) → how often
    statuses: Counter = dataclasses.field(default_factory=Counter)
    errors: dict[str, str] = dataclasses.field(default_factory=dict)  # operation → generation error
    seconds: Counter = dataclasses.field(default_factory=Counter)  # operation → time spent
    answers: dict[str, Counter] = dataclasses.field(default_factory=lambda: defaultdict(Counter))  # op → statuses
    requests: int = 0

    def fail(self, operation: str, kind: str, text: str) -> None:
        self.counts[(operation, kind)] += 1
        self.failures.setdefault((operation, kind), text)

    def text(self) -> str:
        lines = [f"{len(self.failures)} failing (operation, check) pairs in {self.requests} requests "
                 f"(replay: CUNXIN_FUZZ_SEED={self.seed})"]
        for (operation, kind), text in sorted(self.failures.items()):
            lines.append(f"\n=== {operation} — {kind} (×{self.counts[(operation, kind)]})\n{text}")
        for operation, error in sorted(self.errors.items()):
            lines.append(f"\n=== {operation} — could not generate cases\n{error}")
        never = sorted(op for op, answers in self.answers.items() if not any(200 <= s < 300 for s in answers))
        if never:
            lines.append(f"\n{len(never)} operations never answered 2xx (their success bodies went unchecked):")
            lines += [f"  {op}: {dict(sorted(self.answers[op].items()))}" for op in never]
        return "\n".join(lines)

    def summary(self) -> str:
        slow = ", ".join(f"{op} {s:.1f}s" for op, s in self.seconds.most_common(5))
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items()))
        return f"{self.requests} requests; statuses {statuses}; slowest operations: {slow}"


class Caller:
    """Sends prepared requests from the generating thread to the app on the test loop."""

    def __init__(self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop):
        self.client, self.loop = client, loop

    def send(self, case, headers: dict[str, str]) -> httpx.Response:
        kwargs = case.as_transport_kwargs(base_url=BASE_URL)
        kwargs.pop("auth", None)
        kwargs["headers"] = {**{k: v for k, v in (kwargs.get("headers") or {}).items()
                                if k.lower() != "authorization"}, **headers}
        prepared = requests.Request(**{k: v for k, v in kwargs.items() if k in (
            "method", "url", "headers", "params", "json", "data", "files", "cookies")}).prepare()
        request = self.client.request(prepared.method, prepared.url, headers=dict(prepared.headers),
                                      content=prepared.body)
        return asyncio.run_coroutine_threadsafe(request, self.loop).result(timeout=120)


class Identities:
    """Authorization headers per identity, logged in again before a token expires (long runs)."""

    def __init__(self, client: httpx.AsyncClient):
        self.client = client
        self.cache: dict[str, tuple[float, dict[str, str]]] = {}

    async def headers(self, identity: str) -> dict[str, str]:
        if identity == "anonymous":
            return {}
        cached = self.cache.get(identity)
        if cached and time.monotonic() - cached[0] < TOKEN_LIFETIME:
            return cached[1]
        if identity == "bank":
            response = await self.client.post("/api/v1/auth/token", json={
                "grant_type": "client_credentials", "client_id": DEMO_BANK_CLIENT_ID,
                "client_secret": DEMO_BANK_SECRET})
        else:
            response = await self.client.post("/api/v1/auth/login",
                                              json={"username": identity, "password": DEMO_PASSWORD})
        assert response.status_code == 200, (identity, response.text)
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        self.cache[identity] = (time.monotonic(), headers)
        return headers


async def _seed_history() -> None:
    """Run alone (scripts/fuzz), the module finds only the demo registry: give it the demo year's
    events, photos, ratings and objections, and the other slices' demo data, so real ids lead to
    real rows. (In the full suite the other tests have left plenty.)"""
    from dev.demo_extras import seed_extras
    from dev.demo_history import seed_history

    with contextlib.redirect_stdout(io.StringIO()):
        await seed_history(clock.today())
        await seed_extras(clock.today())


async def _known_ids(client: httpx.AsyncClient, identities: Identities) -> dict[str, list]:
    """A few real ids per parameter name: the first and last rows of each table, and the
    identities' own person, household, township and grids (a villager's own household)."""
    known: dict[str, set] = {}
    for name, table in ID_TABLES.items():
        rows = await fetch(f"(SELECT id FROM {table} ORDER BY id LIMIT 4) UNION (SELECT id FROM {table} "
                           f"ORDER BY id DESC LIMIT 4)")
        known.setdefault(name, set()).update(row["id"] for row in rows)
    for identity in ("villager", "grid_worker", "township_admin"):
        me = (await client.get("/api/v1/auth/me", headers=await identities.headers(identity))).json()
        for key in ("person_id", "household_id", "township_id"):
            if me.get(key) is not None:
                known[key].add(me[key])
        known["grid_id"].update(me.get("grid_ids") or [])
    known["subject_id"] |= known["household_id"]
    versions = (await client.get("/api/v1/catalogue/versions")).json()
    known["version"] = {v["version"] for v in versions if isinstance(v, dict) and isinstance(v.get("version"), str)}
    known["item_code"] = {r["item_code"] for r in await fetch("SELECT DISTINCT item_code FROM credit_event")}
    today = clock.today()
    known["occurred_on"] = known["as_of"] = known["signed_on"] = {
        (today - timedelta(days=days)).isoformat() for days in (0, 1, 30, 200)}
    return {name: sorted(ids) for name, ids in known.items()}


def _substitute(value, known: dict[str, list], data) -> None:
    """Replace, at random, values of known names (in parameters, and anywhere in a JSON body) by
    real ones of the same type, so that positive cases reach past "not found"."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in list(items):
        candidates = [v for v in known.get(key, []) if type(v) is type(item)] if isinstance(key, str) else []
        if candidates and data.draw(st.booleans()):
            value[key] = data.draw(st.sampled_from(candidates))
        elif isinstance(item, (dict, list)):
            _substitute(item, known, data)


def _fuzz(operation, mode, identity: str, headers: Callable[[], dict[str, str]], caller: Caller,
          known: dict[str, list], report: Report, examples: int) -> None:
    """``examples`` cases of one operation, in one mode, as one identity; failures are collected
    (not raised), so one run reports every failing operation and check."""
    strategy = operation.as_strategy(generation_mode=mode)
    positive = mode is schemathesis.GenerationMode.POSITIVE
    label = operation.label

    @seed(zlib.crc32(f"{SEED} {identity} {label} {mode.value}".encode()))  # each its own cases, replayable
    @settings(max_examples=examples, database=None, deadline=None, derandomize=False,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(case=strategy, data=st.data())
    def run(case, data):
        if positive:
            for container in (case.path_parameters, case.query):
                _substitute(container, known, data)
            if isinstance(case.body, (dict, list)):
                _substitute(case.body, known, data)
        response = caller.send(case, headers())
        report.requests += 1
        report.statuses[response.status_code] += 1
        report.answers[label][response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                kind = getattr(failure, "title", None) or type(failure).__name__
                report.fail(label, kind, f"as {identity}, {mode.value} case:\n{group.args[0][:3000]}")
        except Failure as failure:
            report.fail(label, failure.title or type(failure).__name__, f"as {identity}, {mode.value} case:\n{failure}")

    started = time.monotonic()
    try:
        run()
    except (HypothesisException, SchemathesisError) as exc:
        report.errors.setdefault(f"{label} ({mode.value})", repr(exc)[:1000])
    finally:
        report.seconds[label] += time.monotonic() - started


def _write(report: Report, title: str) -> None:
    """The summary on stdout (shown with ``-s``); everything in ``CUNXIN_FUZZ_REPORT`` if set."""
    print(f"\nschemathesis, {title}: {report.summary()}")
    if os.environ.get("CUNXIN_FUZZ_REPORT"):
        with open(os.environ["CUNXIN_FUZZ_REPORT"], "a", encoding="utf-8") as out:
            out.write(f"# {title}\n{report.summary()}\n{report.text()}\n\n")


def _modes(operation) -> tuple:
    """Negative cases need something to make invalid: an operation without parameters or body has none."""
    inputs = (operation.path_parameters, operation.query, operation.headers, operation.cookies, operation.body)
    return MODES if any(len(group) for group in inputs) else MODES[:1]


def _operations(schema, want: Callable[[str], bool]):
    for result in schema.get_all_operations():
        operation = result.ok()
        if want(operation.path):
            yield operation


def _roles() -> tuple[str, ...]:
    wanted = os.environ.get("CUNXIN_FUZZ_ROLES")
    return tuple(r for r in IDENTITIES if not wanted or r in wanted.split(","))


@pytest.fixture(scope="module")
async def fuzz_client(app_client):
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would bury the report
    if os.environ.get("CUNXIN_FUZZ_HISTORY") and not await fetch("SELECT 1 FROM credit_event LIMIT 1"):
        await _seed_history()
    transport = httpx.ASGITransport(app=app_client.app, client=CLIENT)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


async def _schema(client: httpx.AsyncClient):
    document = (await client.get("/schema/openapi.json")).json()
    return schemathesis.openapi.from_dict(document)


async def test_every_operation_for_every_role(fuzz_client):
    loop = asyncio.get_running_loop()
    schema = await _schema(fuzz_client)
    identities = Identities(fuzz_client)
    known = await _known_ids(fuzz_client, identities)
    caller = Caller(fuzz_client, loop)
    report = Report(seed=SEED)
    operations = list(_operations(schema, lambda path: not AUTH_PATHS.search(path)))
    assert len(operations) >= 60

    for identity in _roles():
        headers = await identities.headers(identity)  # logged in here, on the loop; refreshed between operations

        def work(identity=identity):
            current = {"headers": headers}
            for operation in operations:
                current["headers"] = asyncio.run_coroutine_threadsafe(identities.headers(identity), loop).result()
                for mode in _modes(operation):
                    _fuzz(operation, mode, identity, lambda: current["headers"], caller, known, report, EXAMPLES)

        await asyncio.to_thread(work)
    _write(report, "every operation for every role")
    assert not report.failures and not report.errors, report.text()


async def test_auth_operations(fuzz_client):
    """Login, token and refresh anonymously (they are public), a small budget under the login
    throttle; logout anonymously, then once with a session of its own."""
    loop = asyncio.get_running_loop()
    schema = await _schema(fuzz_client)
    caller = Caller(fuzz_client, loop)
    report = Report(seed=SEED)
    operations = list(_operations(schema, lambda path: bool(AUTH_PATHS.search(path))))
    assert {op.path for op in operations} == {f"/api/v1/auth/{name}" for name in ("login", "token", "refresh", "logout")}

    def work():
        for operation in operations:
            for mode in _modes(operation):
                _fuzz(operation, mode, "anonymous", dict, caller, {}, report, max(EXAMPLES * 3, 5))

    await asyncio.to_thread(work)
    session = await Identities(fuzz_client).headers("county_admin2")
    logout = next(op for op in operations if op.path.endswith("/logout"))

    def last():
        case = logout.Case()
        response = caller.send(case, session)
        assert response.status_code == 204, response.text
        case.validate_response(response, checks=CHECKS)

    await asyncio.to_thread(last)
    _write(report, "auth operations")
    assert not report.failures and not report.errors, report.text()


@dataclasses.dataclass
class _Thing:
    count: int


async def test_the_harness_fails_on_500_undocumented_status_and_wrong_body():
    """The checks above can fail: the same harness against a small app whose routes answer a 500,
    an undocumented status, a body unlike its schema and an undocumented media type."""
    @get("/boom", sync_to_thread=False)
    def boom() -> _Thing:
        raise RuntimeError("a bug")

    @get("/teapot", sync_to_thread=False)
    def teapot() -> Response[_Thing]:
        return Response(_Thing(count=1), status_code=418)

    @get("/shape", sync_to_thread=False)
    def shape() -> Response[_Thing]:
        return Response({"count": "many"})

    @get("/text", sync_to_thread=False)
    def text() -> Response[_Thing]:
        return Response("1", media_type=MediaType.TEXT)

    @get("/fine", sync_to_thread=False)
    def fine() -> _Thing:
        return _Thing(count=1)

    app = Litestar([boom, teapot, shape, text, fine], logging_config=None)
    schema = schemathesis.openapi.from_dict(app.openapi_schema.to_schema())
    report = Report(seed=SEED)
    transport = httpx.ASGITransport(app=app, client=CLIENT)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        caller = Caller(client, asyncio.get_running_loop())

        def work():
            for operation in _operations(schema, lambda path: True):
                _fuzz(operation, MODES[0], "anonymous", dict, caller, {}, report, 1)

        await asyncio.to_thread(work)
    kinds = {operation: sorted(kind for op, kind in report.failures if op == operation)
             for operation in ("GET /boom", "GET /teapot", "GET /shape", "GET /text", "GET /fine")}
    assert kinds == {"GET /boom": ["Server error", "Undocumented status code"],
                     "GET /teapot": ["Undocumented status code"], "GET /shape": ["Response violates schema"],
                     "GET /text": ["Undocumented Content-Type"], "GET /fine": []}
