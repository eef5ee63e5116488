"""The data-quality views on a county of the test's own (two townships): known cases for each check
with their near-misses — a review waiting exactly N and N-1 working days, an event with one good
photo, a household whose head moved into another household — counted and listed exactly; the other
township's admin sees none of it (0, and 404 when naming the township); a grid worker is refused;
list reads are logged; a past week's trend is the same computed on two different days."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, time, timedelta

import pytest

from backend import clock
from backend.auth import accounts
from backend.auth.roles import Role
from backend.db import fetch
from backend.ledger.catalogue import catalogues
from backend.ratings.calendar import work_calendar
from backend.registry.tables import Grid, Household, HouseholdMembership, HouseholdResidence, Township, Village
from dev.seed import DEMO_PASSWORD
from tests.integration.counties import own_county

TODAY = clock.today()
N = 3


@pytest.fixture(scope="module")
async def county(app_client, tokens):
    own = await own_county("QA", "质检", 5, birth_seed=71)
    code = own.code
    other = (await Township.insert(Township(code=f"{code}u", name="质检二镇", county=own.county))
             .returning(Township.id))[0]["id"]
    v2 = (await Village.insert(Village(county_id=own.county, code=f"{code}w", name="质检二村", township=other))
          .returning(Village.id))[0]["id"]
    g2 = (await Grid.insert(Grid(county_id=own.county, code=f"{code}x", name="质检二网格", village=v2))
          .returning(Grid.id))[0]["id"]
    h2 = (await Household.insert(Household(county_id=own.county, code=f"{code}y", village=v2, grid=g2))
          .returning(Household.id))[0]["id"]
    await HouseholdResidence.insert(HouseholdResidence(county_id=own.county, household=h2, grid=g2,
                                                       valid_from=TODAY - timedelta(days=400)))
    tag = code[2:]
    await accounts.create_account(f"qt{tag}", DEMO_PASSWORD, Role.TOWNSHIP_ADMIN, township_code=f"{code}t")
    await accounts.create_account(f"qu{tag}", DEMO_PASSWORD, Role.TOWNSHIP_ADMIN, township_code=f"{code}u")
    await accounts.create_account(f"qc{tag}", DEMO_PASSWORD, Role.COUNTY_ADMIN, county_code=code)
    worker = await accounts.create_account(f"qg{tag}", DEMO_PASSWORD, Role.GRID_WORKER, grid_codes=[f"{code}g"],
                                           display_name="质检网格员")
    admin = (await fetch("SELECT id FROM account WHERE username = {}", f"qt{tag}"))[0]["id"]
    version = catalogues(own.county).version_on(TODAY).version
    people = own.people

    async def event(i: int, *, item="COMMITMENT-KEPT", status="counted", recorded_on=TODAY, late=False,
                    reviewed_at=None, township=own.township) -> int:
        person, household = people[i]
        return (await fetch(
            """INSERT INTO credit_event (idempotency_key, recorded_by, payload_hash, item_code, subject_kind, subject_id,
                   person_id, household_id, township_id, grid_id, occurred_on, recorded_on, evidence_ids,
                   catalogue_version, status, late, reviewed_at, county_id, note, flag_reason, review_reason)
               VALUES ({}, {}, {}, {}, 'person', {}, {}, {}, {}, {}, {}, {}, '[]'::jsonb, {}, {}, {}, {}, {}, '', '', '')
               RETURNING id""",
            uuid.uuid4().hex, worker, "0" * 64, item, person, person, household, township, own.grid,
            recorded_on - timedelta(days=45 if late else 0), recorded_on, version, status, late, reviewed_at,
            own.county))[0]["id"]

    async def photo(event_id: int, status: str) -> None:
        await fetch("""INSERT INTO evidence (uploaded_by, event, status, county_id, processed_at, declared_format,
                           incoming_key, image_key, thumbnail_key, sha256, phash, error_code, error_message_zh)
                       VALUES ({}, {}, {}, {}, {}, 'jpeg', '', '', '', {}, '', '', '')""",
                    worker, event_id, status, own.county, clock.now(), secrets.token_hex(32))

    late = [await event(0, late=True, recorded_on=TODAY - timedelta(days=d)) for d in (1, 2)]
    await event(0, recorded_on=TODAY - timedelta(days=1))  # on time
    calendar = await work_calendar()
    waited = {}
    for back in range(1, 40):
        day = TODAY - timedelta(days=back)
        waited.setdefault(calendar.working_days_between(day, TODAY), day)
    waiting = await event(1, status="pending_review", recorded_on=waited[N + 1])
    for w in (N, N - 1):  # near-misses: not *longer* than N working days
        await event(1, status="pending_review", recorded_on=waited[w])
    # reviewed long ago: not waiting now
    await event(1, status="counted", recorded_on=waited[N + 1], reviewed_at=clock.now() - timedelta(hours=1))
    no_photo = await event(2, item="FILIAL-PIETY")
    bad_photo = await event(2, item="FILIAL-PIETY")
    await photo(bad_photo, "rejected")
    good = await event(2, item="FILIAL-PIETY")
    await photo(good, "ready")
    mixed = await event(2, item="FILIAL-PIETY")
    await photo(mixed, "rejected")
    await photo(mixed, "ready")
    await event(2, item="FILIAL-PIETY", status="rejected", reviewed_at=clock.now())  # rejected: not standing
    await event(0, item="FILIAL-PIETY", township=other)  # the other township's (recorded there)

    # The head of household 1 moves into household 2 (其他); person 3 leaves with no new household.
    (p1, h1), (p2, h2_), (p3, h3) = people[1], people[2], people[3]
    moved = TODAY - timedelta(days=3)
    await fetch("UPDATE household_membership SET valid_to = {} WHERE person = {}", moved - timedelta(days=1), p1)
    await HouseholdMembership.insert(HouseholdMembership(county_id=own.county, person=p1, household=h2_,
                                                         relation="其他", valid_from=moved))
    await fetch("UPDATE household_membership SET valid_to = {} WHERE person = {}", moved - timedelta(days=1), p3)

    source = (await fetch("""INSERT INTO feed_source (county, code, name, kind, mapping, key_id, secret_cipher,
                                 account, active) VALUES ({}, {}, '质检法院', 'court_defaulters', {}::jsonb, {}, 'x', {}, true)
                             RETURNING id""", own.county, f"q{tag}", "{}", f"k{tag}", worker))[0]["id"]

    async def record(status: str, township: int, **kw) -> int:
        return (await fetch("""INSERT INTO feed_record (source, county_id, township_id, record_id, action, status, digest,
                                   subject_kind, name, identifier_masked, details, resolved_at, resolved_by)
                               VALUES ({}, {}, {}, {}, 'add', {}, {}, 'person', '某人', '6207**********123X',
                                       {}::jsonb, {}, {}) RETURNING id""",
                            source, own.county, township, uuid.uuid4().hex[:12], status, "0" * 64, "{}",
                            kw.get("resolved_at"), kw.get("resolved_by")))[0]["id"]

    unmatched = await record("unmatched", own.township)
    await record("dismissed", own.township, resolved_at=clock.now(), resolved_by=admin)
    await record("unmatched", other)
    return {"own": own, "other": other, "tag": tag, "worker": worker,
            "late": late, "waiting": waiting, "missing": [no_photo, bad_photo], "unmatched": unmatched,
            "headless": sorted([h1, h3]), "homeless": [p3],
            "admin": await tokens(f"qt{tag}"), "other_admin": await tokens(f"qu{tag}"),
            "county_admin": await tokens(f"qc{tag}"), "grid_worker": await tokens(f"qg{tag}")}


async def _get(client, url, headers, **params):
    response = await client.get(url, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


ROW_KEY = {"unmatched_feed_records": "queue_id", "households_without_head": "household_id",
           "persons_without_household": "person_id"}


def _ids(check: str, items: list[dict]) -> list[int]:
    if check in ("reviews_waiting", "missing_photos"):
        return [i["event"]["event_id"] for i in items]
    return [i[ROW_KEY[check]] for i in items]


async def test_counts_and_rows_are_exactly_the_known_cases(app_client, county):
    expected = {"late_entries": 2, "reviews_waiting": 1, "missing_photos": 2, "unmatched_feed_records": 1,
                "households_without_head": 2, "persons_without_household": 1}
    for headers, params in ((county["admin"], {}), (county["county_admin"], {"township_id": county["own"].township})):
        summary = await _get(app_client, "/api/v1/quality", headers, **params)
        assert {c["check"]: c["count"] for c in summary["checks"]} == expected
    late = await _get(app_client, "/api/v1/quality/late_entries", county["admin"])
    assert late["count"] == 2 and late["total"] == 1
    row = late["items"][0]
    assert row["account_id"] == county["worker"] and row["late_count"] == 2
    assert sorted(e["event_id"] for e in row["events"]) == sorted(county["late"])
    assert all(e["link"] == f"/api/v1/events/{e['event_id']}" for e in row["events"])
    assert all("*" in e["id_number_masked"] for e in row["events"])
    waiting = await _get(app_client, "/api/v1/quality/reviews_waiting", county["admin"], waiting_days=N)
    assert _ids("reviews_waiting", waiting["items"]) == [county["waiting"]]
    assert waiting["items"][0]["event"]["waiting_working_days"] == N + 1
    photos = await _get(app_client, "/api/v1/quality/missing_photos", county["admin"])
    assert _ids("missing_photos", photos["items"]) == county["missing"]
    assert {i["event"]["item_name_zh"] for i in photos["items"]} == {"孝老爱亲"}  # the catalogue's name, not the code
    feeds = await _get(app_client, "/api/v1/quality/unmatched_feed_records", county["admin"])
    assert _ids("unmatched_feed_records", feeds["items"]) == [county["unmatched"]]
    households = await _get(app_client, "/api/v1/quality/households_without_head", county["admin"])
    assert sorted(_ids("households_without_head", households["items"])) == county["headless"]
    assert {i["household_id"]: i["member_count"] for i in households["items"]} == {h: 0 for h in county["headless"]} | {
        county["own"].people[1][1]: 0}
    persons = await _get(app_client, "/api/v1/quality/persons_without_household", county["admin"])
    assert _ids("persons_without_household", persons["items"]) == county["homeless"]
    assert persons["items"][0]["link"] == f"/api/v1/persons/{county['homeless'][0]}"
    assert "*" in persons["items"][0]["id_number_masked"]
    # the county without a township filter also sees the other township's event and feed record
    whole = await _get(app_client, "/api/v1/quality", county["county_admin"])
    counts = {c["check"]: c["count"] for c in whole["checks"]}
    assert counts["missing_photos"] == 3 and counts["unmatched_feed_records"] == 2


async def test_the_other_township_sees_none_of_it(app_client, county):
    summary = await _get(app_client, "/api/v1/quality", county["other_admin"])
    counts = {c["check"]: c["count"] for c in summary["checks"]}
    assert counts == {"late_entries": 0, "reviews_waiting": 0, "missing_photos": 1, "unmatched_feed_records": 1,
                      "households_without_head": 1, "persons_without_household": 0}  # its own empty household
    photos = await _get(app_client, "/api/v1/quality/missing_photos", county["other_admin"])
    assert not set(_ids("missing_photos", photos["items"])) & set(county["missing"])
    for url in ("/api/v1/quality", "/api/v1/quality/missing_photos", "/api/v1/quality/trend",
                "/api/v1/quality/persons_without_household/table.xlsx"):
        response = await app_client.get(url, headers=county["other_admin"],
                                        params={"township_id": county["own"].township})
        assert response.status_code == 404, (url, response.text)
    for url in ("/api/v1/quality", "/api/v1/quality/late_entries", "/api/v1/quality/trend.svg"):
        assert (await app_client.get(url, headers=county["grid_worker"])).status_code == 403
    assert (await app_client.get("/api/v1/quality/no_such_check", headers=county["admin"])).status_code in (400, 404)


async def test_list_reads_are_logged_in_the_villagers_words(app_client, county):
    before = (await fetch("SELECT coalesce(max(id), 0) AS n FROM access_log"))[0]["n"]
    await _get(app_client, "/api/v1/quality/persons_without_household", county["admin"])
    await _get(app_client, "/api/v1/quality/late_entries", county["admin"])
    rows = await fetch("SELECT subject_kind, subject_id, purpose FROM access_log WHERE id > {} ORDER BY id", before)
    assert [(r["subject_kind"], r["subject_id"]) for r in rows] == [("person", county["homeless"][0])] + [
        ("person", county["own"].people[0][0])] * 2
    assert {r["purpose"] for r in rows} == {"data_quality"}
    after = (await fetch("SELECT coalesce(max(id), 0) AS n FROM access_log"))[0]["n"]
    await _get(app_client, "/api/v1/quality", county["admin"])
    await _get(app_client, "/api/v1/quality/trend", county["admin"])
    assert (await fetch("SELECT count(*) AS n FROM access_log WHERE id > {}", after))[0]["n"] == 0


async def test_a_past_weeks_trend_does_not_depend_on_the_day_it_is_computed(app_client, county):
    first = await _get(app_client, "/api/v1/quality/trend", county["admin"], weeks=4)
    assert [w["week_end"] for w in first["weeks"]][-1] == TODAY.isoformat()
    with clock.frozen(datetime.combine(TODAY + timedelta(days=9), time(10), clock.zone())):
        later = await _get(app_client, "/api/v1/quality/trend", county["admin"], weeks=6)
    past = {w["week_end"]: w["counts"] for w in first["weeks"][:-1]}
    again = {w["week_end"]: w["counts"] for w in later["weeks"] if w["week_end"] in past}
    assert again == past and len(past) == 3
    # A week that ended before the moves had heads everywhere; this week has the known cases.
    assert first["weeks"][-1]["counts"]["households_without_head"] == 2
    svg = await app_client.get("/api/v1/quality/trend.svg", headers=county["admin"])
    assert svg.status_code == 200 and svg.text.lstrip().startswith("<svg") and "http" not in svg.text.replace(
        "http://www.w3.org", "")
