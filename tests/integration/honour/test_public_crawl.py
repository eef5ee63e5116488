"""The crawl (issue 10, done-means): every public endpoint of the app — the routes whose paths
match the auth middleware's PUBLIC_PATHS, the admin mount aside — visited with every value its
parameters take (every county, township and village filter of the honour roll, every page,
every catalogue version), after some seeded persons consented to the roll and got negative
entries. No answer may hold the ID number of any person in the database (decrypted: the seeded
county and whoever other tests added) — full, lower-case x, spaced or hyphenated, full-width,
the 17-digit body, the old 15-digit form, and on the roll even the masked form — nor a phone
number, nor the text of a negative entry. A public route added later that the crawl has no
visit for fails the test."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Awaitable, Callable

from litestar.routes import ASGIRoute, HTTPRoute

from backend.auth.middleware import PUBLIC_PATHS
from backend.db import fetch
from backend.identity.masking import mask_id_number, mask_phone
from backend.ledger.catalogue import catalogues
from dev.seed import DEMO_PASSWORD

from .conftest import World

Request = tuple[str, str, dict]  # (method, url, httpx keyword arguments)


def public_routes(app) -> set[tuple[str, str]]:
    """(method, path) of every public HTTP route (Litestar's automatic OPTIONS answers aside)."""
    found = set()
    for route in app.routes:
        if isinstance(route, ASGIRoute) or not any(re.search(p, route.path) for p in PUBLIC_PATHS):
            continue
        assert isinstance(route, HTTPRoute), route
        for handler in route.route_handlers:
            for method in handler.http_methods:
                if method == "OPTIONS" and handler.handler_name == "options_handler":
                    continue
                found.add((method, route.path))
    return found


async def _honour(client, w: World, url: str) -> list[Request]:
    """Every filter value (no filter, the county, each township, each village), every page of
    each (pages of 2 and one page of all), and the refusals."""
    filters = [{}, {"county": w.county_code}] + [{"township": t} for t in w.township_codes] + [
        {"village": v} for v in w.village_codes] + [{"county": w.county_code, "township": w.township_codes[-1]}]
    out: list[Request] = []
    for f in filters:
        total = (await client.get("/api/v1/public/honour-roll", params={**f, "limit": 200})).json()["total"]
        out.append(("GET", url, {"params": {**f, "limit": 200}}))
        out += [("GET", url, {"params": {**f, "limit": 2, "offset": o}}) for o in range(0, max(total, 1), 2)]
    out += [("GET", url, {"params": p}) for p in ({"township": "000000000"}, {"county": "000000"}, {"limit": 0},
                                                   {"village": "bad code"})]
    return out


async def _catalogue_versions(client, w: World) -> list[Request]:
    versions = [v["version"] for v in (await client.get("/api/v1/catalogue/versions")).json()]
    return [("GET", f"/api/v1/catalogue/versions/{v}", {}) for v in versions + ["1999.9"]]


async def _catalogue_page(client, w: World) -> list[Request]:
    versions = [v["version"] for v in (await client.get("/api/v1/catalogue/versions")).json()]
    return [("GET", "/catalogue", {})] + [("GET", "/catalogue", {"params": {"version": v}}) for v in versions]


def _fixed(*requests: Request) -> Callable[..., Awaitable[list[Request]]]:
    async def plan(client, w: World) -> list[Request]:
        return list(requests)
    return plan


async def _login(client, w: World) -> list[Request]:
    # A consenting villager's real login (the answer is their token), a wrong password, no body.
    c = w.villagers["consenting"]
    return [("POST", "/api/v1/auth/login", {"json": {"username": c.username, "password": DEMO_PASSWORD}}),
            ("POST", "/api/v1/auth/login", {"json": {"username": c.username, "password": "wrong-password"}}),
            ("POST", "/api/v1/auth/login", {"json": {}})]


async def _feed_intake(client, w: World) -> list[Request]:
    """Neighbouring systems' signed intake (authenticated by HMAC, not by a token): unsigned and
    badly signed posts naming a seeded person's ID number — the refusal must not echo it back."""
    codes = [r["code"] for r in await fetch("SELECT code FROM feed_source ORDER BY code")] + ["no-such-source"]
    person = next(w.demo.people())
    body = json.dumps({"records": [{"record_id": "r1", "id_number": person.id_number, "phone": person.phone}]})
    out: list[Request] = []
    for code in codes:
        url = f"/api/v1/feeds/inbound/{code}/records"
        out.append(("POST", url, {"content": body, "headers": {"content-type": "application/json"}}))
        out.append(("POST", url, {"content": body, "headers": {
            "content-type": "application/json", "X-Feed-Key": "k", "X-Feed-Timestamp": "1700000000",
            "X-Feed-Signature": "v1=" + "0" * 64}}))
    return out


async def _mobile_assets(client, method: str) -> list[Request]:
    """The H5 app's bundles its page names (and a name that is not one)."""
    page = await client.get("/m/")
    names = re.findall(r'(/m/assets/[^"]+)"', page.text) if page.status_code == 200 else []
    return [(method, url, {}) for url in [*names, "/m/assets/none.js"]]


VISITS: dict[tuple[str, str], Callable[..., Awaitable[list[Request]]]] = {
    ("GET", "/api/v1/public/honour-roll"): lambda c, w: _honour(c, w, "/api/v1/public/honour-roll"),
    ("GET", "/honour-roll"): lambda c, w: _honour(c, w, "/honour-roll"),
    ("GET", "/api/v1/catalogue/versions"): _fixed(("GET", "/api/v1/catalogue/versions", {})),
    ("GET", "/api/v1/catalogue/versions/{version:str}"): _catalogue_versions,
    ("GET", "/catalogue"): _catalogue_page,
    ("GET", "/.well-known/jwks.json"): _fixed(("GET", "/.well-known/jwks.json", {})),
    ("GET", "/healthz"): _fixed(("GET", "/healthz", {})),
    ("GET", "/readyz"): _fixed(("GET", "/readyz", {})),
    ("POST", "/api/v1/auth/login"): _login,
    ("POST", "/api/v1/auth/refresh"): _fixed(("POST", "/api/v1/auth/refresh", {"json": {"refresh_token": "x" * 40}})),
    ("POST", "/api/v1/auth/token"): _fixed(("POST", "/api/v1/auth/token", {"json": {
        "grant_type": "client_credentials", "client_id": "demo-bank", "client_secret": "wrong-secret"}})),
    ("POST", "/api/v1/feeds/inbound/{source_code:str}/records"): _feed_intake,
    ("GET", "/schema"): _fixed(("GET", "/schema", {})),
    ("GET", "/schema/openapi.json"): _fixed(("GET", "/schema/openapi.json", {})),
    ("GET", "/schema/assets/{file_path:path}"): _fixed(
        ("GET", "/schema/assets/swagger-ui-5.35.0/swagger-ui.css", {}),
        ("GET", "/schema/assets/swagger-ui-5.35.0/swagger-ui-bundle.js", {})),
    ("HEAD", "/schema/assets/{file_path:path}"): _fixed(("HEAD", "/schema/assets/swagger-ui-5.35.0/swagger-ui.css", {})),
    ("GET", "/m"): _fixed(("GET", "/m/", {}), ("GET", "/m", {})),
    ("GET", "/m/sw.js"): _fixed(("GET", "/m/sw.js", {})),
    ("GET", "/m/assets/{file_path:path}"): lambda c, w: _mobile_assets(c, "GET"),
    ("HEAD", "/m/assets/{file_path:path}"): lambda c, w: _mobile_assets(c, "HEAD"),
    ("GET", "/schema/swagger"): _fixed(("GET", "/schema/swagger", {})),
    ("GET", "/schema/oauth2-redirect.html"): _fixed(("GET", "/schema/oauth2-redirect.html", {})),
    ("GET", "/schema/{path:str}"): _fixed(("GET", "/schema/redoc", {}), ("GET", "/schema/openapi.yaml", {})),
}

_RUN = re.compile(r"[0-9X*]{11,}")
_SEPARATORS = re.compile(r"[\s\-._/·]")


def normalise(text: str) -> str:
    """Fold the ways a number can be disguised: full-width digits, lower-case x, separators."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()


def identifier_forms(people, *, masked: bool = False) -> dict[str, str]:
    """Every searchable unmasked form of every seeded ID number and phone → what it is; with
    ``masked`` also the masked forms (620702********1234, 138****8000), which reveal little and may
    match an example in the API documentation by chance, but have no business on the roll."""
    forms: dict[str, str] = {}
    for p in people:
        n = p.id_number.upper()
        for form in (n, n[:17], n[:6] + n[8:17]) + ((mask_id_number(n),) if masked else ()):
            forms[form] = f"ID number of a seeded person ({mask_id_number(n)})"
        if p.phone:
            for form in (p.phone,) + ((mask_phone(p.phone),) if masked else ()):
                forms[form] = f"phone of a seeded person ({mask_phone(p.phone)})"
    return forms


def leaked_identifiers(text: str, forms: dict[str, str]) -> list[str]:
    found = []
    for run in _RUN.findall(normalise(text)):
        for size in (11, 15, 17, 18):
            for i in range(len(run) - size + 1):
                if run[i:i + size] in forms:
                    found.append(forms[run[i:i + size]])
    return found


def test_the_leak_check_sees_disguised_numbers():
    """The detector itself can fail: each disguise of a real-looking number is found."""
    from types import SimpleNamespace

    forms = identifier_forms([SimpleNamespace(id_number="62070219800101123X", phone="13812345678")], masked=True)
    for text in ('{"id": "62070219800101123X"}', "身份证 620702 19800101 123x", "６２０７０２１９８００１０１１２３Ｘ",
                 "620702-1980-0101-123X", "62070219800101123", "620702800101123", "620702********123X",
                 "电话 138-1234-5678", "138****5678", "+8613812345678"):
        assert leaked_identifiers(text, forms), text
    assert not leaked_identifiers('{"as_of": "2026-12-03", "total": 12345}', forms)


async def everyone(w: World) -> list:
    """Every person in the database (the demo county's and any another test added), their ID
    number and phone decrypted — and, as a check on the decryption, the demo county's as generated."""
    from types import SimpleNamespace

    from backend.registry.protection import reveal_id_number, reveal_phone

    rows = await fetch("SELECT id_number_cipher, phone_cipher FROM person")
    stored = [SimpleNamespace(id_number=reveal_id_number(r["id_number_cipher"]),
                              phone=reveal_phone(r["phone_cipher"]) if r["phone_cipher"] else None) for r in rows]
    generated = list(w.demo.people())
    assert {p.id_number for p in generated} <= {p.id_number for p in stored}
    return stored


async def _negative_texts(w: World) -> list[str]:
    """Notes of the negative events and the explanations of every negative entry in the ledger."""
    negative = {i.code for v in catalogues().versions for i in v.items if i.direction == "negative"}
    rows = await fetch("SELECT explanation_zh FROM ledger_entry WHERE item_code = ANY({}) AND explanation_zh <> ''",
                       sorted(negative))
    return list(w.negative_notes) + sorted({r["explanation_zh"] for r in rows})


async def test_no_public_answer_holds_an_identifier_or_a_negative_entry(app_client, world):
    routes = public_routes(app_client.app)
    unvisited = routes - set(VISITS)
    assert not unvisited, f"public routes the crawl does not visit (add them to VISITS): {sorted(unvisited)}"
    stale = set(VISITS) - routes
    assert not stale, f"VISITS names routes the app no longer has: {sorted(stale)}"

    # The roll has someone on it with positive and negative entries, so the crawl looks at real cards.
    roll = (await app_client.get("/api/v1/public/honour-roll", params={"limit": 200})).json()
    assert roll["total"] >= 3 and roll["credit_villages"]
    people = await everyone(world)
    assert len(people) >= 6000
    forms, roll_forms = identifier_forms(people), identifier_forms(people, masked=True)
    negatives = await _negative_texts(world)
    assert len(negatives) >= len(world.negative_notes) + 1
    negative_items = {i.name_zh for v in catalogues().versions for i in v.items if i.direction == "negative"}

    visited: dict[tuple[str, str], int] = {}
    problems: list[str] = []
    for route, plan in sorted(VISITS.items()):
        for method, url, kwargs in await plan(app_client, world):
            response = await app_client.request(method, url, **kwargs)
            visited[route] = visited.get(route, 0) + 1
            where = f"{method} {url} {json.dumps(kwargs, ensure_ascii=False)} → {response.status_code}"
            if response.status_code >= 500:
                problems.append(f"{where}: server error")
            text = response.text + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())
            found = leaked_identifiers(text, roll_forms if "honour" in url else forms)
            problems += [f"{where}: {leak}" for leak in found]
            problems += [f"{where}: negative entry text {n[:30]!r}" for n in negatives if n in text]
            if "honour" in url:
                problems += [f"{where}: negative item {n}" for n in negative_items if n in response.text]
    assert not problems, "\n".join(problems[:40])
    assert set(visited) == routes
    print("crawl:", sum(visited.values()), "requests over", len(visited), "public routes")


async def test_the_crawl_would_see_a_leak(app_client, world):
    """Against a deliberately leaking answer, the same checks fire (they are not vacuous)."""
    person = next(world.demo.people())
    leak = f'{{"name": "{person.name}", "id": "{person.id_number.lower()}", "note": "{world.negative_notes[0]}"}}'
    assert leaked_identifiers(leak, identifier_forms(world.demo.people()))
    assert any(n in leak for n in await _negative_texts(world))


def test_a_new_public_route_is_noticed():
    """A route under a public path that VISITS does not know makes the crawl fail."""
    from litestar import Litestar, get

    @get("/api/v1/public/leaderboard", sync_to_thread=False)
    def leaderboard() -> dict:
        return {}

    app = Litestar(route_handlers=[leaderboard])
    assert ("GET", "/api/v1/public/leaderboard") in public_routes(app) - set(VISITS)
