"""Issue 12 items 1 and 2, "done means", through the HTTP API: an upload with an error is a 422
naming the line; a valid upload is a draft with its Chinese diff and its impact; the uploader cannot
publish it, a second county admin can; another county neither sees nor publishes it; the public
versions list and page show the county's versions; a person's score as of a day before and after
the new version's date follows each version; the past-dated version re-scores exactly the events it
governs, with explained compensating entries, and the chain still verifies.

Everything happens in a county this module makes (a published version is immutable and would
change scoring for whoever else used the county)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asyncpg.exceptions import PostgresError

from backend import clock
from backend.auth import accounts
from backend.auth.roles import Role
from backend.catalogue import county as county_versions
from backend.db import fetch
from backend.ledger import chain
from dev.demo_data import COUNTY_CODE
from dev.seed import DEMO_PASSWORD
from points_rules import DEFAULT_CATALOGUE_DIR
from tests.integration.admin_ui import admin_login
from tests.integration.counties import own_county

TODAY = clock.today()
URL = "/api/v1/county-catalogue/versions"
SHIPPED = (DEFAULT_CATALOGUE_DIR / "2026-07-01.yaml").read_text(encoding="utf-8")
BEFORE, EFFECTIVE, AFTER = TODAY - timedelta(days=30), TODAY - timedelta(days=20), TODAY - timedelta(days=10)


def version_text(version: str, effective, *, kept_points: str = "50", cap: str = "60") -> str:
    """The shipped 2026.2 file as a county's new version: COMMITMENT-KEPT worth ``kept_points``."""
    text = SHIPPED.replace('version: "2026.2"', f'version: "{version}"', 1)
    text = text.replace("effective_from: 2026-07-01", f"effective_from: {effective.isoformat()}", 1)
    text = text.replace("title_zh: 村信个人信用积分目录（2026年第2版）", f"title_zh: 测试区积分目录（{version}）", 1)
    head, _, tail = text.partition("  - code: COMMITMENT-KEPT\n")
    item, sep, rest = tail.partition("\n\n  - code:") if "\n\n  - code:" in tail else tail.partition("\n  - code:")
    item = item.replace("    points: 2\n", f"    points: {kept_points}\n", 1).replace("cap_per_year: 4", f"cap_per_year: {cap}", 1)
    return head + "  - code: COMMITMENT-KEPT\n" + item + sep + rest


@pytest.fixture(scope="module")
async def place(app_client, tokens):
    own = await own_county("CV", "目录", 2, birth_seed=70)
    code, county, people = own.code, own.county, own.people
    tag = code[2:]
    for name in ("a", "b"):
        await accounts.create_account(f"cv{tag}_{name}", DEMO_PASSWORD, Role.COUNTY_ADMIN, county_code=code,
                                      display_name=f"目录区管理员{name}", admin_ui=True)
    admin_a, admin_b = await tokens(f"cv{tag}_a"), await tokens(f"cv{tag}_b")
    # Person 0: COMMITMENT-KEPT before and after the new version's date; person 1: only before it.
    events = {}
    for person, when, key in ((people[0][0], BEFORE, "p0-before"), (people[0][0], AFTER, "p0-after"),
                              (people[1][0], BEFORE, "p1-before")):
        r = await app_client.post("/api/v1/events", headers=admin_a, json={
            "idempotency_key": f"cv-{tag}-{key}", "item_code": "COMMITMENT-KEPT", "subject_kind": "person",
            "subject_id": person, "occurred_on": when.isoformat()})
        assert r.status_code in (200, 201), r.text
        events[key] = r.json()["id"]
    return {"county": county, "code": code, "people": people, "a": admin_a, "b": admin_b, "events": events,
            "tag": tag}


def _problem_line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


async def _points(client, headers, person: int, as_of) -> dict:
    r = await client.get(f"/api/v1/persons/{person}/points", headers=headers, params={"as_of": as_of.isoformat()})
    assert r.status_code == 200, r.text
    return r.json()


async def test_upload_diff_publish_rescore(app_client, tokens, place):
    a, b = place["a"], place["b"]
    demo_admin = await tokens("county_admin")

    # An upload with an error: 422, every problem with its line and a Chinese message.
    broken = version_text("2026.9", EFFECTIVE).replace("  base: 1000\n", "  base: lots\n", 1)
    r = await app_client.post(URL, headers=a, json={"yaml": broken})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "CATALOGUE_INVALID"
    lines = {p["line"] for p in body["details"]["problems"]}
    assert _problem_line(broken, "base: lots") in lines
    assert all(p["message_zh"] and p["message_en"] for p in body["details"]["problems"])
    # A shipped version id (or date) is refused too.
    r = await app_client.post(URL, headers=a, json={"yaml": version_text("2026.2", EFFECTIVE)})
    assert r.status_code == 422 and any(p["path"] == "version" for p in r.json()["details"]["problems"]), r.text

    # A valid upload: a draft with its diff against the version in force on its date, and its impact.
    text = version_text("2026.9", EFFECTIVE)
    r = await app_client.post(URL, headers=a, json={"yaml": text})
    assert r.status_code == 201, r.text
    draft = r.json()
    upload_id = draft["id"]
    assert draft["status"] == "draft" and draft["against_version"] == "2026.2"
    import hashlib
    assert draft["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert draft["changes"] and all(c["code"] == "COMMITMENT-KEPT" for c in draft["changes"] if c["area"] == "item")
    assert any("COMMITMENT-KEPT" in z or "信用承诺履约" in z for z in draft["changes_zh"]), draft["changes_zh"]
    impact = draft["impact"]
    assert impact["events_governed"] == 1 and impact["events_rescored"] == 1, impact
    assert impact["persons_changing_grade"] == 1 and impact["households_changing_grade"] == 1, impact
    assert impact["persons"][0] == {"subject_kind": "person", "subject_id": place["people"][0][0],
                                    "old_grade": "A", "new_grade": "AAA"}
    assert impact["unscorable_subjects"] == 0

    # Another county: not found, cannot publish; its list does not show it.
    assert (await app_client.get(f"{URL}/{upload_id}", headers=demo_admin)).status_code == 404
    r = await app_client.post(f"{URL}/{upload_id}/publish", headers=demo_admin)
    assert r.status_code == 404, r.text
    assert upload_id not in [v["id"] for v in (await app_client.get(URL, headers=demo_admin)).json()]
    assert upload_id in [v["id"] for v in (await app_client.get(URL, headers=a)).json()]

    # The uploader cannot publish.
    r = await app_client.post(f"{URL}/{upload_id}/publish", headers=a)
    assert r.status_code == 403 and r.json()["code"] == "CATALOGUE_MAKER_CHECKER", r.text
    person, _ = place["people"][0]
    assert (await _points(app_client, a, person, TODAY))["standing"]["score"] == "1004.0"

    # A second county admin publishes: in force from its date, the past events it governs re-scored.
    r = await app_client.post(f"{URL}/{upload_id}/publish", headers=b)
    assert r.status_code == 200, r.text
    published = r.json()
    assert published["status"] == "published" and published["rescore_status"] == "queued"
    assert await county_versions.run_rescore(upload_id) == "done"
    r = await app_client.get(f"{URL}/{upload_id}", headers=b)
    state = r.json()
    assert state["rescore_status"] == "done" and state["rescore_done"] == state["rescore_total"] == 1
    assert state["rescore_entries"] == 2  # one reversal and one re-scored entry
    assert state["sha256"] == draft["sha256"]

    # Publishing twice is refused; the job again changes nothing.
    r = await app_client.post(f"{URL}/{upload_id}/publish", headers=b)
    assert r.status_code == 409 and r.json()["code"] == "CATALOGUE_ALREADY_PUBLISHED", r.text
    entries_before = (await fetch("SELECT count(*) AS n FROM ledger_entry"))[0]["n"]
    await fetch("UPDATE county_catalogue_version SET rescore_status = 'queued' WHERE id = {}", upload_id)
    assert await county_versions.run_rescore(upload_id) == "done"
    assert (await fetch("SELECT count(*) AS n FROM ledger_entry"))[0]["n"] == entries_before

    # A person's score as of a day before and after the new version's date follows each version.
    before = await _points(app_client, a, person, EFFECTIVE - timedelta(days=1))
    assert before["standing"]["score"] == "1002.0" and before["standing"]["catalogue_version"] == "2026.2"
    after = await _points(app_client, a, person, TODAY)
    assert after["standing"]["score"] == "1052.0" and after["standing"]["grade"] == "AAA"
    assert after["standing"]["catalogue_version"] == "2026.9"
    # The household is rated by the county's version too (its rating rules, not the shipped ones).
    rating = await app_client.get(f"/api/v1/households/{place['people'][0][1]}/rating", headers=a)
    assert rating.status_code == 200, rating.text
    assert rating.json()["catalogue_version"] == "2026.9" and rating.json()["live_grade"] is not None
    # Exactly the event after its date changed, with explained compensating entries.
    by_event: dict[int, list[dict]] = {}
    for e in after["entries"]:
        by_event.setdefault(e["event_id"], []).append(e)
    assert len(by_event[place["events"]["p0-before"]]) == 1
    changed = by_event[place["events"]["p0-after"]]
    assert len(changed) == 3  # the first entry, its reversal, the re-scored one
    assert all("因2026.9版积分目录生效" in e["explanation_zh"] for e in changed[1:]), changed
    assert any("重新计分" in e["explanation_zh"] for e in changed[1:])
    assert [e["points"] for e in changed if e["in_force"]] == ["+50.0"]
    other = await _points(app_client, a, place["people"][1][0], TODAY)
    assert other["standing"]["score"] == "1002.0" and len(other["entries"]) == 1
    assert (await chain.verify()).ok

    # The public list and page show the county's versions; the shipped default and another county do not.
    r = await app_client.get("/api/v1/catalogue/versions", params={"county": place["code"]})
    assert r.status_code == 200 and "2026.9" in [v["version"] for v in r.json()]
    assert "2026.9" not in [v["version"] for v in (await app_client.get("/api/v1/catalogue/versions")).json()]
    demo = await app_client.get("/api/v1/catalogue/versions", params={"county": COUNTY_CODE})
    assert demo.status_code == 200 and "2026.9" not in [v["version"] for v in demo.json()]
    r = await app_client.get("/api/v1/catalogue/versions/2026.9", params={"county": place["code"]})
    assert r.status_code == 200 and r.json()["title_zh"] == "测试区积分目录（2026.9）"
    assert (await app_client.get("/api/v1/catalogue/versions/2026.9")).status_code == 404
    page = await app_client.get("/catalogue", params={"county": place["code"]})
    assert page.status_code == 200 and "2026.9" in page.text
    assert (await app_client.get("/api/v1/catalogue/versions", params={"county": "NOPE"})).status_code == 404

    # Published is immutable in the database, and never deleted.
    with pytest.raises(PostgresError):
        await fetch("UPDATE county_catalogue_version SET yaml = yaml || ' ' WHERE id = {}", upload_id)
    with pytest.raises(PostgresError):
        await fetch("UPDATE county_catalogue_version SET status = 'draft', published_by = NULL, published_at = NULL "
                    "WHERE id = {}", upload_id)
    with pytest.raises(PostgresError):
        await fetch("DELETE FROM county_catalogue_version WHERE id = {}", upload_id)


async def test_future_version_rescores_nothing(app_client, place):
    a, b = place["a"], place["b"]
    await_entries = (await fetch("SELECT count(*) AS n FROM ledger_entry"))[0]["n"]
    future = TODAY + timedelta(days=30)
    r = await app_client.post(URL, headers=b, json={"yaml": version_text("2027.1", future, kept_points="3", cap="6")})
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["impact"]["as_of"] == future.isoformat() and draft["impact"]["events_governed"] == 0
    r = await app_client.post(f"{URL}/{draft['id']}/publish", headers=a)
    assert r.status_code == 200 and r.json()["rescore_status"] == "none", r.text
    assert (await fetch("SELECT count(*) AS n FROM ledger_entry"))[0]["n"] == await_entries
    # The same version id or date again is refused at upload.
    r = await app_client.post(URL, headers=a, json={"yaml": version_text("2027.1", future + timedelta(days=1))})
    assert r.status_code == 422 and r.json()["code"] == "CATALOGUE_INVALID"


async def test_admin_page_uploads_and_a_second_admin_publishes(app_client, place):
    tag = place["tag"]
    try:
        headers = await admin_login(app_client, f"cv{tag}_a")
        forms = (await app_client.get("/admin/api/forms/")).json()
        slugs = {f["name"]: f["slug"] for f in forms}
        upload_slug = next(s for n, s in slugs.items() if n.startswith("上传积分目录新版本"))
        publish_slug = next(s for n, s in slugs.items() if n.startswith("发布积分目录版本"))
        table = await app_client.get("/admin/api/tables/county_catalogue_version/")
        assert table.status_code == 200, table.text
        broken = version_text("2027.2", TODAY + timedelta(days=60)).replace("  base: 1000\n", "  base: lots\n", 1)
        r = await app_client.post(f"/admin/api/forms/{upload_slug}/", json={"yaml": broken}, headers=headers)
        assert r.status_code == 200 and "CATALOGUE_INVALID" in r.text and f"第{_problem_line(broken, 'base: lots')}行" in r.text, r.text
        r = await app_client.post(f"/admin/api/forms/{upload_slug}/",
                                  json={"yaml": version_text("2027.2", TODAY + timedelta(days=60))}, headers=headers)
        assert r.status_code == 200 and "已上传 2027.2" in r.text, r.text
        upload_id = (await fetch("SELECT id FROM county_catalogue_version WHERE county = {} AND version = '2027.2'",
                                 place["county"]))[0]["id"]
        r = await app_client.post(f"/admin/api/forms/{publish_slug}/", json={"upload_id": upload_id}, headers=headers)
        assert "CATALOGUE_MAKER_CHECKER" in r.text, r.text
        app_client.cookies.clear()
        headers = await admin_login(app_client, f"cv{tag}_b")
        r = await app_client.post(f"/admin/api/forms/{publish_slug}/", json={"upload_id": upload_id}, headers=headers)
        assert r.status_code == 200 and "已发布 2027.2" in r.text, r.text
        assert (await fetch("SELECT status FROM county_catalogue_version WHERE id = {}", upload_id))[0]["status"] == "published"
    finally:
        app_client.cookies.clear()
