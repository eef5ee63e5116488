"""A hand-computed 三级联创 scenario, end to end.

Two new villages (V1, V2) with eight households and known members are built directly in the
registry of the demo county's third township; known events are posted through the API as the
county admin (reviewable ones approved, one entry reversed), ``full_recompute(township_id=…)``
runs, and every household score and grade, both villages' 信用村 status, stars and counts, and
the township's status are asserted against numbers worked out by hand below.

The numbers come from the catalogue YAML (``points_rules/catalogue/2026-07-01.yaml``, version
2026.2, in force for events from 2026-07-01). ``test_catalogue_numbers_used_by_the_hand_computation``
reads them from the YAML and fails first if the catalogue changes under the arithmetic.

Household rule (``ratings.household`` of the YAML)::

    score = mean over adults (age ≥ 18) of scale(personal score − family charge)
            + Σ family charge + household's own points
    scale (member_scale): straight lines between personal → household points 1100 → 100, 1050 → 80,
    1030 → 70, 1000 → 65, 960 → 60, 850 → 50, 600 → 20, 400 → 0; slopes 1000–1030: 1/6 household point per
    personal point, 960–1000: 1/8, 850–960: 1/11.
    Rounded half up to 0.1, clamped to 0..100; AAA ≥ 80, AA ≥ 70, A ≥ 60, below 60 "none" (not a
    credit household). A member under a direct grade (直接判级) or with a serious-dishonesty
    entry (JUDGMENT-DEFAULTER) makes the household "none" whatever its score.
    Family-charge items: FILIAL-NEGLECT, DOMESTIC-VIOLENCE.

Village: credit village when credit households ≥ 70 % and serious-dishonesty households ≤ 3;
stars 3/2/1 at ≥ 90/80/70 %. Township: credit township when credit villages ≥ 50 %.

Everything is built, computed and observed inside one transaction that is then rolled back (the
new villages would change the demo county other tests count); the tests assert on what was observed.

People are born in 1923-1926 (the demo county has nobody older than 95, i.e. born before
1930-11) plus one child born in 2015; every ID number is checked against the registry before use.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from piccolo.engine import engine_finder

import points_rules
from backend import clock
from backend.db import fetch
from backend.identity.idcard import compute_check_digit, parse_id_number
from backend.ledger.catalogue import catalogues
from backend.ratings.recompute import full_recompute
from backend.registry import protection
from dev.demo_data import COUNTY_CODE
from backend.registry.tables import (
    County,
    Grid,
    Household,
    HouseholdMembership,
    HouseholdResidence,
    Person,
    Township,
    Village,
)
from backend.registry.writer import person_row

TODAY = clock.today()
EVENT_DAY = TODAY - timedelta(days=3)  # inside the one-month recording window
CATALOGUE_DIR = Path(points_rules.__file__).parent / "catalogue"
MEMBER_SINCE = date(2020, 1, 1)


# --- the catalogue numbers the arithmetic below relies on ----------------------------------------------


def _yaml_version(on: date) -> dict:
    docs = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(CATALOGUE_DIR.glob("*.yaml"))]
    in_force = [d for d in docs if d["effective_from"] <= on]
    return max(in_force, key=lambda d: d["effective_from"])


def _yaml_points(doc: dict, code: str, level: str | None = None):
    item = next(i for i in doc["items"] if i["code"] == code)
    points = item["points"]
    if level is not None:
        return next(lv["points"] for lv in points["by_level"] if lv["key"] == level)
    return points


def test_catalogue_numbers_used_by_the_hand_computation():
    events = _yaml_version(EVENT_DAY)
    rules = _yaml_version(TODAY)
    assert events["version"] == "2026.2", "the hand computation below uses catalogue 2026.2's numbers"
    assert rules["version"] == catalogues().version_on(TODAY).version == "2026.2"
    assert rules["scoring"]["base"] == 1000
    assert [(g["grade"], g.get("min")) for g in rules["scoring"]["grades"]] == [
        ("AAA", 1050), ("AA", 1030), ("A", 960), ("B", 850), ("C", 600), ("D", None)]
    h = rules["ratings"]["household"]
    assert (h["max_score"], h["member_aggregate"], h["adult_age"]) == (100, "mean_adults", 18)
    assert [(p["personal"], p["household"]) for p in h["member_scale"]] == [
        (1100, 100), (1050, 80), (1030, 70), (1000, 65), (960, 60), (850, 50), (600, 20), (400, 0)]
    assert h["family_charge_items"] == ["FILIAL-NEGLECT", "DOMESTIC-VIOLENCE"]
    assert [(g["grade"], g.get("min")) for g in h["grades"]] == [("AAA", 80), ("AA", 70), ("A", 60), ("none", None)]
    assert h["credit_grades"] == ["AAA", "AA", "A"]
    assert h["direct_downgrade_disqualifies"] and h["serious_dishonesty_disqualifies"]
    v = rules["ratings"]["village"]
    assert (v["credit_household_share"], v["max_serious_dishonesty"], v["serious_dishonesty_items"]) == \
        (70, 3, ["JUDGMENT-DEFAULTER", "WAGE-ARREARS-LISTED"])
    assert [(s["stars"], s["min_share"]) for s in v["stars"]] == [(3, 90), (2, 80), (1, 70)]
    assert rules["ratings"]["township"]["credit_village_share"] == 50
    # item values (2026.2): note GRID-CLEANUP organised is 6 here (5 in 2026.1)
    assert _yaml_points(events, "HONOUR", "national") == 30
    assert _yaml_points(events, "HONOUR", "provincial") == 20
    assert _yaml_points(events, "HONOUR", "city") == 10
    assert _yaml_points(events, "HONOUR", "village") == 1
    assert _yaml_points(events, "GRID-CLEANUP", "organised") == 6
    assert _yaml_points(events, "ENV-COURTYARD", "model_courtyard") == 3
    assert _yaml_points(events, "ENV-WASTE-SORTING") == 1.5
    assert {"at": 20, "total": 5} in _yaml_points(events, "VOL-HOURS")["tiered"]["tiers"]
    assert _yaml_points(events, "COMMITMENT-KEPT") == 2
    assert _yaml_points(events, "FILIAL-NEGLECT") == -20
    assert _yaml_points(events, "DOMESTIC-VIOLENCE") == -30
    assert _yaml_points(events, "GRID-MEDIATION", "major_settled") == 5
    assert _yaml_points(events, "CHARITY-DONATION", "from_10000") == 10
    assert _yaml_points(events, "WAGE-ARREARS", "months_2_to_6") == -30
    assert _yaml_points(events, "WAGE-ARREARS", "over_6_months_or_malicious") == -50
    assert _yaml_points(events, "ENV-DUMPING") == -2
    assert next(i for i in events["items"] if i["code"] == "ENV-DUMPING")["repeat_doubles"] is True
    assert _yaml_points(events, "BLOOD-DONATION") == 3
    assert _yaml_points(events, "JUDGMENT-DEFAULTER") == {"direct_grade": "D"}


# --- building the scenario --------------------------------------------------------------------------------


async def _new_person(county_id: int, name: str, birth: date, sex: str) -> int:
    """A person with a valid, unused 620702 ID number for ``birth``."""
    parity = (1, 3, 5, 7, 9) if sex == "M" else (0, 2, 4, 6, 8)
    for tens in range(99, 0, -1):
        for last in parity:
            first17 = f"620702{birth:%Y%m%d}{tens * 10 + last:03d}"
            number = first17 + compute_check_digit(first17)
            if not await Person.exists().where(Person.id_number_hash == protection.id_number_hash(number)):
                row = person_row(county_id=county_id, name=name, resident_id=parse_id_number(number), phone=None)
                return (await Person.insert(row).returning(Person.id))[0]["id"]
    raise AssertionError(f"no free ID number for {birth}")


async def _new_village(township_id: int, name: str) -> tuple[int, int]:
    code = "R" + secrets.token_hex(5)
    county_id = (await Township.select(Township.county).where(Township.id == township_id).first())["county"]
    village_id = (await Village.insert(Village(county_id=county_id, code=code, name=name, township=township_id))
                  .returning(Village.id))[0]["id"]
    grid_id = (await Grid.insert(Grid(county_id=county_id, code=code + "g1", name=f"{name}第一网格", village=village_id))
               .returning(Grid.id))[0]["id"]
    return village_id, grid_id


async def _new_household(village_id: int, grid_id: int, members: list[tuple[str, date, str, str]]):
    """members: (name, birth date, sex, relation); the first is the head (户主)."""
    code = "RH" + secrets.token_hex(8)
    county_id = (await Village.select(Village.county_id).where(Village.id == village_id).first())["county_id"]
    household_id = (await Household.insert(Household(county_id=county_id, code=code, village=village_id, grid=grid_id, address="测试地址"))
                    .returning(Household.id))[0]["id"]
    await HouseholdResidence.insert(HouseholdResidence(county_id=county_id, household=household_id, grid=grid_id, address="测试地址",
                                                       valid_from=MEMBER_SINCE, reason="测试登记"))
    person_ids = []
    for name, birth, sex, relation in members:
        person_id = await _new_person(county_id, name, birth, sex)
        await HouseholdMembership.insert(HouseholdMembership(
            county_id=county_id, person=person_id, household=household_id, relation=relation, valid_from=max(MEMBER_SINCE, birth),
            reason="测试登记"))
        person_ids.append(person_id)
    return household_id, code, person_ids


async def _photo(client, headers) -> int:
    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (32, 24), os.urandom(32 * 24 * 3)).save(buffer, "JPEG")
    response = await client.post("/api/v1/evidence", files={"data": ("p.jpg", buffer.getvalue(), "image/jpeg")},
                                 headers=headers)
    assert response.status_code == 202, response.text
    return response.json()["id"]


async def _post(client, headers, item: str, kind: str, subject_id: int, *, level: str | None = None,
                quantity: str | None = None, act_id: str | None = None) -> dict:
    """Record one event as the county admin and approve it if it waits for review."""
    body = {"idempotency_key": uuid.uuid4().hex, "item_code": item, "subject_kind": kind, "subject_id": subject_id,
            "occurred_on": EVENT_DAY.isoformat(), "level": level, "quantity": quantity, "act_id": act_id,
            "evidence_ids": [await _photo(client, headers)]}
    created = await client.post("/api/v1/events", json=body, headers=headers)
    assert created.status_code == 201, created.text
    event = created.json()
    if event["status"] == "pending_review":
        approved = await client.post(f"/api/v1/review/events/{event['id']}/approve", json={"reason": "核实无误"},
                                     headers=headers)
        assert approved.status_code == 200, approved.text
        event = approved.json()
    assert event["status"] == "counted", event
    return event


class _Rollback(Exception):
    """Ends the scenario's transaction: nothing it built stays in the shared database."""


@dataclass
class Scenario:
    township_id: int
    v1: int
    v2: int
    v1_grid: int
    v2_grid: int
    households: dict[str, int] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)
    report: object = None
    again: object = None
    seen: dict = field(default_factory=dict)  # rows and API answers observed before the rollback


async def _build(client, h: dict[str, str], township_id: int) -> Scenario:
    v1, v1_grid = await _new_village(township_id, "信用测试一村")
    v2, v2_grid = await _new_village(township_id, "信用测试二村")
    s = Scenario(township_id, v1, v2, v1_grid, v2_grid)

    async def household(key: str, village: int, grid: int, members: list[tuple[str, str, date, str, str]]):
        hid, code, pids = await _new_household(village, grid, [m[1:] for m in members])
        s.households[key], s.codes[key] = hid, code
        s.people.update({m[0]: pid for m, pid in zip(members, pids)})

    await household("H1", v1, v1_grid, [("A1", "甲户主", date(1923, 3, 15), "M", "户主"),
                                        ("A2", "甲配偶", date(1925, 6, 1), "F", "配偶"),
                                        ("C1", "甲孩子", date(2015, 5, 20), "F", "孙子女")])
    await household("H2", v1, v1_grid, [("B1", "乙户主", date(1923, 8, 8), "M", "户主"),
                                        ("B2", "乙配偶", date(1926, 2, 2), "F", "配偶")])
    await household("H3", v1, v1_grid, [("D1", "丙户主", date(1924, 1, 10), "M", "户主"),
                                        ("D2", "丙配偶", date(1926, 7, 7), "F", "配偶")])
    await household("H4", v1, v1_grid, [("E1", "丁户主", date(1924, 5, 5), "M", "户主")])
    await household("H5", v1, v1_grid, [("F1", "戊户主", date(1925, 9, 9), "M", "户主"),
                                        ("F2", "戊配偶", date(1926, 10, 10), "F", "配偶")])
    await household("H6", v2, v2_grid, [("G1", "己户主", date(1923, 11, 11), "M", "户主"),
                                        ("G2", "己配偶", date(1925, 4, 4), "F", "配偶")])
    await household("H7", v2, v2_grid, [("K1", "庚户主", date(1924, 12, 12), "M", "户主"),
                                        ("K2", "庚配偶", date(1926, 3, 3), "F", "配偶")])
    await household("H8", v2, v2_grid, [("L1", "辛户主", date(1925, 1, 1), "M", "户主")])

    p, hh = s.people, s.households
    # H1
    await _post(client, h, "HONOUR", "person", p["A1"], level="provincial")           # A1 +20
    await _post(client, h, "GRID-CLEANUP", "person", p["A1"], level="organised")      # A1 +6
    await _post(client, h, "HONOUR", "person", p["A2"], level="national")             # A2 +30
    await _post(client, h, "HONOUR", "person", p["C1"], level="city")                 # C1 +10 (a child)
    await _post(client, h, "ENV-COURTYARD", "household", hh["H1"], level="model_courtyard")  # H1 +3
    # H2
    await _post(client, h, "VOL-HOURS", "person", p["B1"], quantity="20")             # B1 +5 (20 h tier)
    await _post(client, h, "COMMITMENT-KEPT", "person", p["B2"])                      # B2 +2
    await _post(client, h, "ENV-WASTE-SORTING", "household", hh["H2"])                # H2 +1.5
    # H3
    await _post(client, h, "HONOUR", "person", p["D1"], level="national")             # D1 +30
    await _post(client, h, "HONOUR", "person", p["D2"], level="city")                 # D2 +10
    await _post(client, h, "FILIAL-NEGLECT", "person", p["D2"])                       # D2 -20 (family charge)
    # H4: one act matching two items scores once, at the larger value; a wrong entry reversed
    act = "act-" + uuid.uuid4().hex[:12]
    first = await _post(client, h, "HONOUR", "person", p["E1"], level="village", act_id=act)  # +1 …
    larger = await _post(client, h, "GRID-MEDIATION", "person", p["E1"], level="major_settled", act_id=act)
    assert [(e["points"], e["reverses_entry"]) for e in larger["entries"]] == [("+5.0", None)]  # … replaced by +5:
    first_now = (await client.get(f"/api/v1/events/{first['id']}", headers=h)).json()  # the +1 is cancelled on its own event
    assert [(e["points"], e["reverses_entry"]) for e in first_now["entries"]] == [
        ("+1.0", None), ("-1.0", first["entries"][0]["id"])]
    assert first_now["status"] == "skipped"
    await _post(client, h, "CHARITY-DONATION", "person", p["E1"], level="from_10000")  # E1 +10
    wrong = await _post(client, h, "WAGE-ARREARS", "person", p["E1"], level="months_2_to_6")  # E1 -30 …
    reversed_ = await client.post(f"/api/v1/review/entries/{wrong['entries'][0]['id']}/reverse",
                                  json={"reason": "经核实系误录，予以冲正"}, headers=h)  # … reversed: +30
    assert reversed_.status_code == 201, reversed_.text
    # H6: a judgment defaulter (direct grade D, serious dishonesty)
    await _post(client, h, "JUDGMENT-DEFAULTER", "person", p["G1"])
    await _post(client, h, "BLOOD-DONATION", "person", p["G2"])                       # G2 +3
    # H7
    await _post(client, h, "DOMESTIC-VIOLENCE", "person", p["K1"])                    # K1 -30 (family charge)
    await _post(client, h, "WAGE-ARREARS", "person", p["K2"], level="over_6_months_or_malicious")  # K2 -50
    dumped = await _post(client, h, "ENV-DUMPING", "person", p["K2"])                 # K2 -2, and on the same day
    dumped_again = await _post(client, h, "ENV-DUMPING", "person", p["K2"])           # K2 -4 (repeat: doubled)
    # Which of two same-day offences is "the repeat" follows the canonical order (the events' own keys),
    # not the order they were posted in: one counts −2 and the other −4, whichever arrived first.
    live = []
    for event in (dumped, dumped_again):
        entries = (await client.get(f"/api/v1/events/{event['id']}", headers=h)).json()["entries"]
        cancelled = {e["reverses_entry"] for e in entries if e["reverses_entry"]}
        live += [e["points"] for e in entries if e["reverses_entry"] is None and e["id"] not in cancelled]
    assert sorted(live) == ["-2.0", "-4.0"]
    return s


async def _observe(client, county: dict[str, str], township: dict[str, str], s: Scenario) -> dict:
    """Everything the tests below assert on, read while the scenario exists."""
    seen: dict = {}
    seen["households"] = {r["household_id"]: r for r in await fetch(
        "SELECT * FROM standing_household WHERE household_id = ANY({})", list(s.households.values()))}
    seen["persons"] = {r["person_id"]: r for r in await fetch(
        "SELECT * FROM standing_person WHERE person_id = ANY({})", list(s.people.values()))}
    seen["villages"] = {r["village_id"]: r for r in await fetch(
        "SELECT * FROM standing_village WHERE village_id = ANY({})", [s.v1, s.v2])}
    seen["township"] = (await fetch("SELECT * FROM standing_township WHERE township_id = {}", s.township_id))[0]
    # The township's other villages are the demo ones: their status is read from the registry and
    # standing at the time; ours are V1 and V2.
    seen["other_villages"] = await fetch(
        """SELECT v.id, coalesce(s.is_credit, false) AS is_credit FROM village v
           LEFT JOIN standing_village s ON s.village_id = v.id WHERE v.township = {} AND v.id <> ALL({})""",
        s.township_id, [s.v1, s.v2])

    async def get(url: str, headers: dict[str, str]):
        response = await client.get(url, headers=headers)
        return response.status_code, response.json()

    seen["rating"] = {key: await get(f"/api/v1/households/{s.households[key]}/rating", county)
                      for key in ("H1", "H2", "H3", "H6")}
    seen["rating_other_township"] = await get(f"/api/v1/households/{s.households['H1']}/rating", township)
    seen["village"] = {v: await get(f"/api/v1/villages/{v}/standing", county) for v in (s.v1, s.v2)}
    seen["village_other_township"] = await get(f"/api/v1/villages/{s.v1}/standing", township)
    seen["rankings"] = {by: await get(f"/api/v1/townships/{s.township_id}/rankings?by={by}", county)
                        for by in ("village", "grid")}
    seen["points"] = {key: await get(f"/api/v1/persons/{s.people[key]}/points", county)
                      for key in ("A2", "D2", "E1", "G1", "K2")}
    return seen


@pytest.fixture(scope="module")
async def scenario(app_client, tokens) -> Scenario:
    """Builds, computes and observes the scenario inside one transaction, then rolls it back: the
    villages it adds would otherwise change the demo county other tests count (the API requests run
    in the same task, so they use the same transaction)."""
    county_headers = await tokens("county_admin")  # logged in (sessions committed) before the transaction
    township_headers = await tokens("township_admin")
    county = await County.select(County.id).where(County.code == COUNTY_CODE).first()
    townships = await Township.select(Township.id).where(Township.county == county["id"]).order_by(Township.code)
    township_id = townships[2]["id"]  # the third township: no demo admin or grid worker works there
    try:
        async with engine_finder().transaction():
            s = await _build(app_client, county_headers, township_id)
            s.report = await full_recompute(township_id=township_id)
            s.seen = await _observe(app_client, county_headers, township_headers, s)
            s.again = await full_recompute(township_id=township_id)
            raise _Rollback
    except _Rollback:
        pass
    assert not await Village.exists().where(Village.id.is_in([s.v1, s.v2])), "the scenario was not rolled back"
    return s


# --- households -------------------------------------------------------------------------------------------

# (key, score in tenths, grade, credit household, serious dishonesty)
EXPECTED_HOUSEHOLDS = [
    # H1: A1 = 1000+20+6 = 1026 → 65 + 26/6 = 69.33…; A2 = 1000+30 = 1030 → 70 (the start of AA);
    #     C1 (+10) is 11 years old, not counted.
    #     mean (69.33… + 70)/2 = 69.66…; + 3 (courtyard) = 72.66… (tenths 2180/3) → 72.7 → AA (70–79)
    ("H1", 727, "AA", True, False),
    # H2: B1 = 1005 → 65 + 5/6, B2 = 1002 → 65 + 2/6: mean 65 + 7/12 = 65.583…; + 1.5 = 67.083…
    #     (tenths 4025/6) → 67.1 → A (60–69)
    ("H2", 671, "A", True, False),
    # H3: D1 = 1030 → 70; D2 = 1000+10−20 = 990, family charge −20 → scaled from 1010 → 65 + 10/6 = 66.66…
    #     mean 68.33…; − 20 (charged to the household in full) = 48.33… (tenths 1450/3) → 48.3 → none
    ("H3", 483, "none", False, False),
    # H4: E1 = 1000 + 5 (mediation; the +1 honour of the same act reversed) + 10 (donation)
    #     − 30 + 30 (wage arrears entered by mistake, reversed) = 1015 → 65 + 15/6 = 67.5 → A
    ("H4", 675, "A", True, False),
    # H5: nobody has any entry: 1000 → 65.0 → A
    ("H5", 650, "A", True, False),
    # H6: G1 direct grade D (score 1000 → 65), G2 = 1003 → 65.5: mean 65.25 → half up 65.3, which would be A,
    #     but a member under a direct grade / with a serious-dishonesty entry → none, not a credit household
    ("H6", 653, "none", False, True),
    # H7: K1 = 970, family charge −30 → scaled from 1000 → 65; K2 = 1000 − 50 − 2 − 4 = 944 (B)
    #     → 50 + (944 − 850)/11 = 50 + 94/11 = 58.54…; mean (65 + 58.54…)/2 = 61.77… (tenths 6795/11);
    #     − 30 = 31.77… (tenths 3495/11 = 317.7) → 31.8 → none
    ("H7", 318, "none", False, False),
    # H8: nobody has any entry: 65.0 → A
    ("H8", 650, "A", True, False),
]


@pytest.mark.parametrize(("key", "score", "grade", "credit", "serious"), EXPECTED_HOUSEHOLDS,
                         ids=[e[0] for e in EXPECTED_HOUSEHOLDS])
def test_household_scores_and_grades(scenario, key, score, grade, credit, serious):
    row = scenario.seen["households"].get(scenario.households[key])
    assert row is not None, f"no standing for {key}"
    assert (row["score"], row["grade"], row["is_credit"], row["serious_dishonesty"]) == (score, grade, credit, serious)
    assert row["village_id"] == (scenario.v1 if key <= "H5" else scenario.v2)
    assert row["township_id"] == scenario.township_id
    assert row["catalogue_version"] == "2026.2" and row["as_of"] == TODAY


def _household_of(person_key: str) -> str:
    return {"A": "H1", "C": "H1", "B": "H2", "D": "H3", "E": "H4", "F": "H5", "G": "H6", "K": "H7",
            "L": "H8"}[person_key[0]]


def test_person_standings(scenario):
    rows = scenario.seen["persons"]
    got = {key: (rows[pid]["score"], rows[pid]["grade"], rows[pid]["grade_override"], rows[pid]["serious_dishonesty"])
           for key, pid in scenario.people.items()}
    assert got == {
        "A1": (10260, "A", None, False),    # 1026: A is 960–1029
        "A2": (10300, "AA", None, False),   # 1030: AA from 1030
        "C1": (10100, "A", None, False),
        "B1": (10050, "A", None, False), "B2": (10020, "A", None, False),
        "D1": (10300, "AA", None, False), "D2": (9900, "A", None, False),
        "E1": (10150, "A", None, False),
        "F1": (10000, "A", None, False), "F2": (10000, "A", None, False),
        "G1": (10000, "D", "D", True),      # score 1000 but the direct grade D overrides it
        "G2": (10030, "A", None, False),
        "K1": (9700, "A", None, False),
        "K2": (9440, "B", None, False),     # 944: B is 850–959
        "L1": (10000, "A", None, False),
    }
    assert {key: rows[pid]["household_id"] for key, pid in scenario.people.items()} == \
        {key: scenario.households[_household_of(key)] for key in scenario.people}


def test_person_points_view_agrees_with_the_roll_up(scenario):
    """The per-entry engine (points view) and the aggregate path (standing) give the same personal standing."""
    for key, score, grade in (("A2", "1030.0", "AA"), ("D2", "990.0", "A"), ("E1", "1015.0", "A"),
                              ("G1", "1000.0", "D"), ("K2", "944.0", "B")):
        status, body = scenario.seen["points"][key]
        assert status == 200, body
        assert (body["standing"]["score"], body["standing"]["grade"]) == (score, grade), key
    assert scenario.seen["points"]["G1"][1]["standing"]["grade_override"] == "D"


# --- villages and the township ----------------------------------------------------------------------------


def _as_dict(raw) -> dict:
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


def test_credit_village_with_two_stars(scenario):
    row = scenario.seen["villages"][scenario.v1]
    # 4 credit households (H1, H2, H4, H5) of 5 = 80 % ≥ 70 % → 信用村; 80 % reaches the 2-star band (≥ 80 %)
    # but not the 3-star one (≥ 90 %); no serious-dishonesty household (limit 3)
    assert (row["households"], row["credit_households"], row["serious_dishonesty_households"]) == (5, 4, 0)
    assert (row["share_permille"], row["is_credit"], row["stars"]) == (800, True, 2)
    assert _as_dict(row["grade_counts"]) == {"AAA": 0, "AA": 1, "A": 3, "none": 1}   # H1 AA; H2, H4, H5 A; H3
    assert "4/5" in row["explanation_zh"] and "70%" in row["explanation_zh"] and "2星" in row["explanation_zh"]


def test_village_below_the_share_is_not_a_credit_village(scenario):
    row = scenario.seen["villages"][scenario.v2]
    # 1 credit household (H8) of 3 = 33.3 % < 70 % → not a credit village, no stars; H6 is a
    # serious-dishonesty household (1 ≤ 3, so that alone would not have disqualified it)
    assert (row["households"], row["credit_households"], row["serious_dishonesty_households"]) == (3, 1, 1)
    assert (row["share_permille"], row["is_credit"], row["stars"]) == (333, False, 0)
    assert _as_dict(row["grade_counts"]) == {"AAA": 0, "AA": 0, "A": 1, "none": 2}
    assert "1/3" in row["explanation_zh"] and "不评为信用村" in row["explanation_zh"]


def test_township_status(scenario):
    others = scenario.seen["other_villages"]
    villages = len(others) + 2
    credit = sum(r["is_credit"] for r in others) + 1  # V1 is a credit village, V2 is not
    row = scenario.seen["township"]
    assert (row["villages"], row["credit_villages"]) == (villages, credit)
    assert row["share_permille"] == credit * 1000 // villages
    assert row["is_credit"] is (credit * 100 >= 50 * villages)  # ≥ 50 % of villages, exactly
    assert f"{credit}/{villages}" in row["explanation_zh"] and "50%" in row["explanation_zh"]
    report = scenario.report
    assert report.townships == 1 and report.villages == villages
    assert report.households >= 8 and report.persons >= 15


def test_full_recompute_again_finds_no_drift(scenario):
    again = scenario.again
    assert again.clean, (again.drifted_households, again.drifted_villages, again.drifted_townships)
    assert again.missing_households == 0


# --- the API views ----------------------------------------------------------------------------------------


def test_household_rating_endpoint_explains_live_grade(scenario):
    status, body = scenario.seen["rating"]["H1"]
    assert status == 200, body
    assert (body["live_grade"], body["live_score"], body["live_is_credit"]) == ("AA", "72.7", True)
    assert body["live_as_of"] == TODAY.isoformat()
    text = body["live_explanation_zh"]
    assert "2026.2版" in text  # the catalogue version whose rules applied
    assert "AAA≥80分、AA≥70分、A≥60分、低于60分不是信用户。" in text  # the thresholds
    assert "1030分→70分、1000分→65分、960分→60分" in text  # the scale
    assert "按年满18周岁的2名成年人计算" in text  # the child is not averaged in
    assert "72.7分" in text and "评为AA级信用户" in text
    assert "none" not in text and "编号" not in text
    assert body["official"] == [] and body["in_progress"] == []

    status, h2 = scenario.seen["rating"]["H2"]
    assert (h2["live_grade"], h2["live_score"]) == ("A", "67.1")
    assert "约67.08分" in h2["live_explanation_zh"] and "保留一位小数为67.1分" in h2["live_explanation_zh"]

    status, h3 = scenario.seen["rating"]["H3"]
    assert (h3["live_grade"], h3["live_score"], h3["live_is_credit"]) == ("none", "48.3", False)
    assert "家庭责任扣分" in h3["live_explanation_zh"] and "-20分" in h3["live_explanation_zh"]

    status, h6 = scenario.seen["rating"]["H6"]
    assert (h6["live_grade"], h6["live_score"], h6["live_is_credit"]) == ("none", "65.3", False)
    assert "处于直接判级期间（D级" in h6["live_explanation_zh"]

    # outside the township admin's township: not found
    assert scenario.seen["rating_other_township"][0] == 404


def test_village_standing_endpoint(scenario):
    status, body = scenario.seen["village"][scenario.v1]
    assert status == 200, body
    assert (body["households"], body["credit_households"], body["share_percent"]) == (5, 4, "80.0")
    assert (body["is_credit"], body["stars"]) == (True, 2)
    assert body["grade_counts"] == {"AAA": 0, "AA": 1, "A": 3, "none": 1}
    # best first: H1 72.7, H4 67.5, H2 67.1, then H5 65.0, H3 48.3
    assert [(d["code"], d["score"], d["grade"]) for d in body["households_detail"]] == [
        (scenario.codes["H1"], "72.7", "AA"), (scenario.codes["H4"], "67.5", "A"),
        (scenario.codes["H2"], "67.1", "A"), (scenario.codes["H5"], "65.0", "A"),
        (scenario.codes["H3"], "48.3", "none")]
    assert body["households_detail"][0]["head_name"] == "甲户主"

    status, v2 = scenario.seen["village"][scenario.v2]
    assert (v2["households"], v2["credit_households"], v2["share_percent"], v2["is_credit"], v2["stars"]) == \
        (3, 1, "33.3", False, 0)
    assert scenario.seen["village_other_township"][0] == 404


def test_rankings(scenario):
    status, ranked = scenario.seen["rankings"]["village"]
    assert status == 200, ranked
    ours = {a["id"]: a for a in ranked if a["id"] in (scenario.v1, scenario.v2)}
    assert (ours[scenario.v1]["households"], ours[scenario.v1]["credit_households"],
            ours[scenario.v1]["share_percent"]) == (5, 4, "80.0")
    assert (ours[scenario.v2]["households"], ours[scenario.v2]["credit_households"],
            ours[scenario.v2]["share_percent"]) == (3, 1, "33.3")
    ids = [a["id"] for a in ranked]
    assert ids.index(scenario.v1) < ids.index(scenario.v2)
    shares = [a["credit_households"] * 1000 // a["households"] for a in ranked]
    assert shares == sorted(shares, reverse=True), "best share of credit households first"

    status, grids = scenario.seen["rankings"]["grid"]
    by_grid = {a["id"]: a for a in grids}
    assert (by_grid[scenario.v1_grid]["households"], by_grid[scenario.v1_grid]["credit_households"]) == (5, 4)
    assert by_grid[scenario.v2_grid]["grade_counts"] == {"AAA": 0, "AA": 0, "A": 1, "none": 2}  # every grade, zeros too
