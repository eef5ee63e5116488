"""One clock (issue 8.4) and as-of dates (issue 8.3), through the real HTTP app.

The clock: at 07:30 in Beijing it is still yesterday in UTC; the platform's "today" is Beijing's.
As-of: the points and rating views answer for any day, past or future — entries in force then,
score and grade then, what expires next after it — and name the day and the catalogue version.
"""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from PIL import Image

from backend import clock
from backend.auth import accounts
from backend.auth.roles import Role
from backend.db import fetch
from backend.ratings.calendar import work_calendar
from dev.seed import DEMO_PASSWORD

WORKER = "grid_worker"
BEIJING_0730 = datetime(2026, 7, 14, 23, 30, tzinfo=timezone.utc)  # 2026-07-15 07:30 in Beijing
PAST, FUTURE = date(2026, 3, 1), date(2027, 3, 1)
KEPT_ON, ARREARS_ON = date(2026, 2, 10), date(2026, 5, 1)  # a +2 (1 year) and a −30 (1 year)


# --- helpers (each test's data is its own: persons nobody has recorded anything about) ------------------

async def _fresh_adults(app_client, tokens, n: int) -> list[dict]:
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens(WORKER))).json()
    rows = await fetch(
        """SELECT m.person, m.household FROM household h
           JOIN household_membership m ON m.household = h.id AND m.valid_to IS NULL
           JOIN person p ON p.id = m.person
           WHERE h.grid = ANY({}) AND p.birth_date <= {}
             AND NOT EXISTS (SELECT 1 FROM credit_event e WHERE e.household_id = h.id)
             AND NOT EXISTS (SELECT 1 FROM ledger_entry l WHERE l.household_id = h.id)
           ORDER BY h.id DESC, m.person""",
        sorted(me["grid_ids"]), date(2000, 1, 1))
    # one person per household, so one test's events never move another test's household
    picked: dict[int, dict] = {}
    for r in rows:
        picked.setdefault(r["household"], r)
    assert len(picked) >= n, "not enough untouched households in the worker's grids"
    return list(picked.values())[:n]


def _event(person_id: int, occurred_on: date, item: str = "COMMITMENT-KEPT", **extra) -> dict:
    return {"idempotency_key": uuid.uuid4().hex, "item_code": item, "subject_kind": "person",
            "subject_id": person_id, "occurred_on": occurred_on.isoformat(), **extra}


async def _photo(app_client, tokens) -> int:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 160, 90)).save(buffer, "JPEG")
    response = await app_client.post("/api/v1/evidence", files={"data": ("p.jpg", buffer.getvalue(), "image/jpeg")},
                                     headers=await tokens(WORKER))
    assert response.status_code == 202, response.text
    return response.json()["id"]


async def _access_rows(kind: str, subject_id: int, purpose: str) -> int:
    rows = await fetch("SELECT count(*) AS n FROM access_log WHERE subject_kind = {} AND subject_id = {} "
                       "AND purpose = {}", kind, subject_id, purpose)
    return rows[0]["n"]


# --- one clock ---------------------------------------------------------------------------------------------

async def test_beijing_morning_is_today_not_yesterday(app_client, tokens):
    """07:30 Beijing = 23:30 UTC the day before: an event dated today (Beijing) is accepted, one
    dated tomorrow is not, and the recording deadline counts from the Beijing day."""
    grids = await fetch("SELECT g.code FROM grid g WHERE g.id = ANY({}) ORDER BY g.code",
                        sorted((await app_client.get("/api/v1/auth/me", headers=await tokens(WORKER))).json()["grid_ids"]))
    persons = await _fresh_adults(app_client, tokens, 3)
    username = f"gw_clock_{uuid.uuid4().hex[:6]}"
    with clock.frozen(BEIJING_0730):
        # assigned to the grids "today" — 15 July in Beijing (a UTC date would make it the 14th)
        await accounts.create_account(username, DEMO_PASSWORD, Role.GRID_WORKER,
                                      grid_codes=[g["code"] for g in grids], display_name="时钟测试网格员")
    assignment = await fetch("SELECT valid_from FROM grid_assignment ga JOIN account a ON a.id = ga.account "
                             "WHERE a.username = {}", username)
    assert {r["valid_from"] for r in assignment} == {date(2026, 7, 15)}
    headers = await tokens(username)  # log in on the real clock (python-jose checks exp against it)
    admin = await tokens("township_admin")

    with clock.frozen(BEIJING_0730):
        assert clock.today() == date(2026, 7, 15)
        today = await app_client.post("/api/v1/events", json=_event(persons[0]["person"], date(2026, 7, 15)),
                                      headers=headers)
        assert today.status_code == 201, today.text
        assert today.json()["recorded_on"] == "2026-07-15"
        assert today.json()["catalogue_version"] == "2026.2"
        assert today.json()["late"] is False

        tomorrow = await app_client.post("/api/v1/events", json=_event(persons[0]["person"], date(2026, 7, 16)),
                                         headers=headers)
        assert tomorrow.status_code == 422, tomorrow.text
        assert tomorrow.json()["code"] == "LEDGER_FUTURE_EVENT"

        # Recording window: one month. Occurred 14 June → due by 14 July: recorded on the 15th
        # (Beijing) it is late, although the UTC date is still the 14th. 15 June is on time.
        late = await app_client.post("/api/v1/events", json=_event(persons[1]["person"], date(2026, 6, 14)),
                                     headers=headers)
        assert late.status_code == 201, late.text
        assert late.json()["late"] is True
        on_time = await app_client.post("/api/v1/events", json=_event(persons[2]["person"], date(2026, 6, 15)),
                                        headers=headers)
        assert on_time.status_code == 201, on_time.text
        assert on_time.json()["late"] is False

        # The points view's default "today" is Beijing's too.
        points = await app_client.get(f"/api/v1/persons/{persons[0]['person']}/points", headers=admin)
        assert points.status_code == 200, points.text
        assert points.json()["standing"]["as_of"] == "2026-07-15"
        assert [e["in_force"] for e in points.json()["entries"]] == [True]

    # Stored instants stay aware and are the real instant.
    stored = await fetch("SELECT created_at FROM credit_event WHERE id = {}", today.json()["id"])
    assert stored[0]["created_at"].tzinfo is not None


async def test_a_working_day_deadline_counts_from_the_local_day(app_client):
    """Something raised at 23:30 UTC on Tuesday 14 July was raised on Wednesday the 15th in Beijing:
    a 7-working-day answer is due from the 15th (the rating-objection ``respond_by`` rule)."""
    calendar = await work_calendar()
    assert clock.local_date(BEIJING_0730) == date(2026, 7, 15)
    local_due = calendar.add_working_days(clock.local_date(BEIJING_0730), 7)
    utc_due = calendar.add_working_days(BEIJING_0730.date(), 7)
    assert local_due == date(2026, 7, 24) and utc_due == date(2026, 7, 23)


# --- as-of dates ---------------------------------------------------------------------------------------------

async def _subject_with_expiring_entries(app_client, tokens) -> tuple[dict, dict, dict]:
    """An adult with a +2 (Feb 2026, one year) and an approved −30 (May 2026, one year)."""
    person = (await _fresh_adults(app_client, tokens, 1))[0]
    kept = await app_client.post("/api/v1/events", json=_event(person["person"], KEPT_ON),
                                 headers=await tokens(WORKER))
    assert kept.status_code == 201, kept.text
    arrears = await app_client.post(
        "/api/v1/events", json=_event(person["person"], ARREARS_ON, item="WAGE-ARREARS", level="months_2_to_6",
                                      evidence_ids=[await _photo(app_client, tokens)]),
        headers=await tokens(WORKER))
    assert arrears.status_code == 201, arrears.text
    assert arrears.json()["status"] == "pending_review"
    approved = await app_client.post(f"/api/v1/review/events/{arrears.json()['id']}/approve",
                                     json={"reason": "劳动监察认定"}, headers=await tokens("township_admin"))
    assert approved.status_code == 200, approved.text
    [plus] = kept.json()["entries"]
    [minus] = approved.json()["entries"]
    assert (plus["points"], minus["points"]) == ("+2.0", "-30.0")
    assert plus["valid_from"] == KEPT_ON.isoformat() and minus["valid_from"] == ARREARS_ON.isoformat()
    assert plus["valid_until"] < FUTURE.isoformat() < minus["valid_until"]
    return person, plus, minus


def _in_force(entries: list[dict]) -> dict[int, bool]:
    return {e["id"]: e["in_force"] for e in entries}


async def test_points_as_of_past_and_future(app_client, tokens):
    person, plus, minus = await _subject_with_expiring_entries(app_client, tokens)
    url = f"/api/v1/persons/{person['person']}/points"
    admin = await tokens("township_admin")

    past = await app_client.get(url, params={"as_of": PAST.isoformat()}, headers=admin)
    assert past.status_code == 200, past.text
    s = past.json()["standing"]
    assert (s["as_of"], s["catalogue_version"]) == ("2026-03-01", "2026.1")
    assert _in_force(past.json()["entries"]) == {plus["id"]: True, minus["id"]: False}
    assert s["next_expiry"] == plus["valid_until"] and s["next_expiry_points"] == "+2.0"

    future = await app_client.get(url, params={"as_of": FUTURE.isoformat()}, headers=admin)
    assert future.status_code == 200, future.text
    f = future.json()["standing"]
    assert (f["as_of"], f["catalogue_version"]) == ("2027-03-01", "2026.2")
    assert _in_force(future.json()["entries"]) == {plus["id"]: False, minus["id"]: True}
    assert f["next_expiry"] == minus["valid_until"] and f["next_expiry_points"] == "-30.0"
    assert Decimal(s["score"]) - Decimal(f["score"]) == 32

    before_any = await app_client.get(url, params={"as_of": "2026-01-15"}, headers=admin)
    assert _in_force(before_any.json()["entries"]) == {plus["id"]: False, minus["id"]: False}
    assert before_any.json()["standing"]["next_expiry"] is None

    now = await app_client.get(url, headers=admin)  # no as_of: today in the county's zone
    assert now.json()["standing"]["as_of"] == clock.today().isoformat()
    assert _in_force(now.json()["entries"]) == {plus["id"]: clock.today() < date.fromisoformat(plus["valid_until"]),
                                                minus["id"]: True}

    # The household view evaluates its members on the same day, and names the day and version.
    household = await app_client.get(f"/api/v1/households/{person['household']}/points",
                                     params={"as_of": PAST.isoformat()}, headers=admin)
    assert household.status_code == 200, household.text
    body = household.json()
    assert (body["as_of"], body["catalogue_version"]) == ("2026-03-01", "2026.1")
    [member] = [m for m in body["members"] if m["person_id"] == person["person"]]
    assert member["standing"]["as_of"] == "2026-03-01"
    assert _in_force(member["entries"]) == {plus["id"]: True, minus["id"]: False}
    assert body["next_expiry"] is not None and body["next_expiry"] <= plus["valid_until"]
    later = (await app_client.get(f"/api/v1/households/{person['household']}/points",
                                  params={"as_of": FUTURE.isoformat()}, headers=admin)).json()
    assert (later["as_of"], later["catalogue_version"]) == ("2027-03-01", "2026.2")
    [member] = [m for m in later["members"] if m["person_id"] == person["person"]]
    assert _in_force(member["entries"]) == {plus["id"]: False, minus["id"]: True}


async def test_household_rating_as_of(app_client, tokens):
    person, plus, minus = await _subject_with_expiring_entries(app_client, tokens)
    url = f"/api/v1/households/{person['household']}/rating"
    admin = await tokens("township_admin")
    past = await app_client.get(url, params={"as_of": PAST.isoformat()}, headers=admin)
    future = await app_client.get(url, params={"as_of": FUTURE.isoformat()}, headers=admin)
    assert past.status_code == 200 and future.status_code == 200, (past.text, future.text)
    p, f = past.json(), future.json()
    assert (p["as_of"], p["catalogue_version"], p["live_as_of"]) == ("2026-03-01", "2026.1", "2026-03-01")
    assert (f["as_of"], f["catalogue_version"], f["live_as_of"]) == ("2027-03-01", "2026.2", "2027-03-01")
    # the member's +2 counted in March 2026, the −30 in March 2027: the household scores differ
    assert Decimal(p["live_score"]) > Decimal(f["live_score"])
    assert p["live_explanation_zh"] and p["live_grade"] and f["live_grade"]
    now = (await app_client.get(url, headers=admin)).json()
    assert now["as_of"] == clock.today().isoformat()


async def test_as_of_reads_are_logged(app_client, tokens):
    person = (await _fresh_adults(app_client, tokens, 1))[0]
    admin = await tokens("township_admin")
    before = await _access_rows("person", person["person"], "points_view")
    response = await app_client.get(f"/api/v1/persons/{person['person']}/points", params={"as_of": "2026-03-01"},
                                    headers=admin)
    assert response.status_code == 200
    assert await _access_rows("person", person["person"], "points_view") == before + 1
    before = await _access_rows("household", person["household"], "rating_view")
    response = await app_client.get(f"/api/v1/households/{person['household']}/rating",
                                    params={"as_of": "2027-03-01"}, headers=admin)
    assert response.status_code == 200
    assert await _access_rows("household", person["household"], "rating_view") == before + 1


async def test_scope_holds_with_as_of(app_client, tokens):
    person = (await _fresh_adults(app_client, tokens, 1))[0]
    other_township = await tokens("township_admin2")
    for url in (f"/api/v1/persons/{person['person']}/points", f"/api/v1/households/{person['household']}/points",
                f"/api/v1/households/{person['household']}/rating"):
        for as_of in ("2026-03-01", "2027-03-01"):
            response = await app_client.get(url, params={"as_of": as_of}, headers=other_township)
            assert response.status_code == 404, (url, as_of, response.text)
            assert response.json()["code"] == "NOT_FOUND"
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens("villager"))).json()
    if me["household_id"] != person["household"]:
        response = await app_client.get(f"/api/v1/households/{person['household']}/rating",
                                        params={"as_of": "2026-03-01"}, headers=await tokens("villager"))
        assert response.status_code == 404


async def test_my_points_as_of(app_client, tokens):
    villager = await tokens("villager")
    response = await app_client.get("/api/v1/me/points", params={"as_of": "2026-03-01"}, headers=villager)
    assert response.status_code == 200, response.text
    assert (response.json()["standing"]["as_of"], response.json()["standing"]["catalogue_version"]) == \
        ("2026-03-01", "2026.1")
    assert all(e["valid_from"] <= "2026-03-01" < e["valid_until"] for e in response.json()["entries"] if e["in_force"])


INVALID = ["2026-02-30", "yesterday", "\x00", "2026-03-01\x00", "", "2026-3-1", "20260301", "2026-13-01",
           "0000-01-01", "２０２６-０３-０１", "2026-03-01T00:00", " 2026-03-01"]


async def test_invalid_as_of_is_a_422_with_a_stable_code(app_client, tokens):
    person = (await _fresh_adults(app_client, tokens, 1))[0]
    admin = await tokens("township_admin")
    urls = [(f"/api/v1/persons/{person['person']}/points", admin),
            (f"/api/v1/households/{person['household']}/points", admin),
            (f"/api/v1/households/{person['household']}/rating", admin),
            ("/api/v1/me/points", await tokens("villager"))]
    for url, headers in urls:
        for raw in INVALID:
            response = await app_client.get(url, params={"as_of": raw}, headers=headers)
            assert response.status_code == 422, (url, repr(raw), response.status_code, response.text)
            body = response.json()
            if "\x00" in raw:  # refused for every parameter before any parser sees it (issue 9)
                assert body["code"] == "INPUT_CONTROL_CHARACTER" and body["message_zh"], body
                continue
            assert body["code"] == "AS_OF_INVALID" and body["message_zh"] and body["details"] == {"field": "as_of"}
        # before the first catalogue version: the catalogue's own code, not a 500
        response = await app_client.get(url, params={"as_of": "2019-12-31"}, headers=headers)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["code"] == "RULES_NO_CATALOGUE"
        # far future is a day like any other
        response = await app_client.get(url, params={"as_of": "9999-12-31"}, headers=headers)
        assert response.status_code == 200, (url, response.text)


async def test_household_points_show_the_members_of_that_day(app_client, tokens):
    """A member who moved to another township since: on a day before the move the household's
    points list them for a caller whose jurisdiction still covers them (county) — that read logged
    against them — and not for one whose jurisdiction no longer does (the old township's admin)."""
    me = (await app_client.get("/api/v1/auth/me", headers=await tokens("township_admin"))).json()
    [mover] = await fetch(
        """SELECT m.person, m.household FROM household_membership m JOIN household h ON h.id = m.household
           JOIN village v ON v.id = h.village JOIN person p ON p.id = m.person
           WHERE v.township = {} AND m.valid_to IS NULL AND m.relation <> '户主' AND p.birth_date <= {}
             AND NOT EXISTS (SELECT 1 FROM credit_event e WHERE e.household_id = h.id)
           ORDER BY h.id DESC LIMIT 1""", me["township_id"], date(2000, 1, 1))
    [target] = await fetch("""SELECT h.id FROM household h JOIN village v ON v.id = h.village
                              WHERE v.township <> {} ORDER BY h.id DESC LIMIT 1""", me["township_id"])
    moved_on = clock.today() - timedelta(days=10)
    before, after = moved_on - timedelta(days=10), clock.today()
    moved = await app_client.post(f"/api/v1/households/{target['id']}/members", headers=await tokens("county_admin"),
                                  json={"person_id": mover["person"], "relation": "其他",
                                        "valid_from": moved_on.isoformat(), "reason": "迁出（测试）"})
    assert moved.status_code == 200, moved.text
    url = f"/api/v1/households/{mover['household']}/points"

    def member_ids(response) -> list[int]:
        assert response.status_code == 200, response.text
        return [m["person_id"] for m in response.json()["members"]]

    logged = await _access_rows("person", mover["person"], "points_view")
    county = await tokens("county_admin")
    assert mover["person"] in member_ids(await app_client.get(url, params={"as_of": before.isoformat()},
                                                              headers=county))
    assert await _access_rows("person", mover["person"], "points_view") == logged + 1
    assert mover["person"] not in member_ids(await app_client.get(url, params={"as_of": after.isoformat()},
                                                                  headers=county))
    assert mover["person"] not in member_ids(await app_client.get(url, params={"as_of": before.isoformat()},
                                                                  headers=await tokens("township_admin")))
    # … and the new household lists them only from the day they joined
    new_url = f"/api/v1/households/{target['id']}/points"
    assert mover["person"] not in member_ids(await app_client.get(new_url, params={"as_of": before.isoformat()},
                                                                  headers=county))
    assert mover["person"] in member_ids(await app_client.get(new_url, params={"as_of": moved_on.isoformat()},
                                                              headers=county))
