"""What the H5 app needs from the platform: the grid worker's offline roster (own grids only, masked
ID numbers, every person listed access-logged where the villager sees it; refused to other roles),
the county's catalogue in force for any logged-in account, and the app itself at /m/ (its page never
cached, its hashed bundles cached for a year, a policy that lets it show blob: photos and talk only to
the platform)."""

from __future__ import annotations

import re
from datetime import timedelta

from backend import clock
from backend.db import fetch


async def test_the_roster_lists_my_grids_only_and_logs_each_person(app_client, tokens):
    worker = await tokens("grid_worker")
    r = await app_client.get("/api/v1/me/roster", headers=worker)
    assert r.status_code == 200, r.text
    roster = r.json()
    me = (await app_client.get("/api/v1/auth/me", headers=worker)).json()
    assigned = await fetch("""SELECT DISTINCT grid FROM grid_assignment WHERE account = {} AND valid_to IS NULL""", me["id"])
    grid_ids = {g["id"] for g in roster["grids"]}
    assert grid_ids and grid_ids == {r["grid"] for r in assigned}
    people = [(m, h, g) for g in roster["grids"] for h in g["households"] for m in h["members"]]
    assert people
    expected = await fetch("""SELECT count(*) AS n FROM household_membership m JOIN household h ON h.id = m.household
                              WHERE m.valid_to IS NULL AND h.grid = ANY({})""", sorted(grid_ids))
    assert len(people) == expected[0]["n"]
    for member, household, grid in people:
        assert "*" in member["id_number_masked"] and len(member["id_number_masked"]) == 18, member
        assert household["code"] and grid["village_name"]
    # Heads of household first.
    for g in roster["grids"]:
        for h in g["households"]:
            relations = [m["relation"] for m in h["members"]]
            if "户主" in relations:
                assert relations[0] == "户主"
    # Nobody outside the worker's grids.
    outside = await fetch("""SELECT m.person FROM household_membership m JOIN household h ON h.id = m.household
                             WHERE m.valid_to IS NULL AND NOT (h.grid = ANY({})) LIMIT 50""", sorted(grid_ids))
    listed = {m["person_id"] for m, _, _ in people}
    assert outside and not listed & {o["person"] for o in outside}
    # Each person listed is in the access log, in words the villager reads.
    person_id = people[0][0]["person_id"]
    logged = await fetch("""SELECT fields FROM access_log WHERE person_id = {} AND purpose = 'offline_roster'
                            AND subject_kind = 'person'""", person_id)
    assert logged


async def test_the_roster_is_for_grid_workers_only(app_client, tokens):
    for account in ("villager", "township_admin", "county_admin"):
        r = await app_client.get("/api/v1/me/roster", headers=await tokens(account))
        assert r.status_code == 403 and r.json()["code"] == "ROSTER_GRID_WORKERS_ONLY", (account, r.text)
    assert (await app_client.get("/api/v1/me/roster")).status_code == 401


async def test_my_catalogue_is_the_version_in_force(app_client, tokens):
    public = (await app_client.get("/api/v1/catalogue/versions")).json()
    for account in ("grid_worker", "villager", "township_admin"):
        r = await app_client.get("/api/v1/me/catalogue", headers=await tokens(account))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["version"] in {v["version"] for v in public} and body["catalogue"]
        assert any("grid_worker" in i["logged_by"] for i in body["catalogue"])
    assert (await app_client.get("/api/v1/me/catalogue")).status_code == 401


async def test_the_app_is_served_at_m(app_client):
    page = await app_client.get("/m/")
    if page.status_code == 503:  # a checkout without a build says how to build it
        assert "scripts/build_mobile" in page.text
        return
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    csp = page.headers["content-security-policy"]
    assert "img-src 'self' data: blob:" in csp and "connect-src 'self'" in csp
    assets = re.findall(r'(?:src|href)="(/m/assets/[^"]+)"', page.text)
    assert assets, page.text
    for path in assets:
        asset = await app_client.get(path)
        assert asset.status_code == 200, path
        assert "max-age=31536000" in asset.headers["cache-control"] and "immutable" in asset.headers["cache-control"]
    assert (await app_client.get("/m/assets/nope.js")).status_code == 404


async def test_the_review_queue_reads_oldest_or_newest_first(app_client, tokens):
    import uuid

    worker, admin = await tokens("grid_worker"), await tokens("township_admin")
    roster = (await app_client.get("/api/v1/me/roster", headers=worker)).json()
    for household in roster["grids"][0]["households"][:2]:  # two events that wait for review
        r = await app_client.post("/api/v1/events", headers=worker, json={
            "idempotency_key": uuid.uuid4().hex, "item_code": "CUSTOMS-REFORM", "subject_kind": "household",
            "subject_id": household["id"], "occurred_on": (clock.today() - timedelta(days=5)).isoformat()})
        assert r.status_code == 201 and r.json()["status"] == "pending_review", r.text
    oldest = (await app_client.get("/api/v1/review/events", headers=admin, params={"limit": 50})).json()
    newest = (await app_client.get("/api/v1/review/events", headers=admin,
                                   params={"limit": 50, "order": "newest"})).json()
    assert oldest["total"] == newest["total"] and oldest["total"] >= 2
    ids_old, ids_new = [e["id"] for e in oldest["items"]], [e["id"] for e in newest["items"]]
    assert ids_old == sorted(ids_old) and ids_new == sorted(ids_new, reverse=True)
    assert ids_new[0] >= ids_old[-1]
    bad = await app_client.get("/api/v1/review/events", headers=admin, params={"order": "random"})
    assert bad.status_code == 400 or bad.status_code == 422, bad.text
