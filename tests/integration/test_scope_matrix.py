"""Each role reaches exactly its own jurisdiction — and every read of personal data is logged.

The subjects are chosen relative to the demo accounts (see ``dev.seed``):

* ``villager_home``            the villager's own household (in the grid worker's first grid)
* ``worker_grid``              another household in one of the grid worker's grids
* ``same_village_other_grid``  a household in the same village, in a grid the worker does not cover
* ``other_village``            a household in another village of the same (first) township
* ``other_township``           a household in the second township

Out of scope and non-existent both answer the same 404 (no existence oracle); a role that may
not read people at all (auditor, bank) answers 403.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import asyncpg
import pytest
from piccolo.engine import engine_finder

from backend.audit.tables import AccessLog
from backend.identity.idcard import compute_check_digit
from backend.registry import protection
from dev.seed import DEMO_BANK_CLIENT_ID, DEMO_BANK_SECRET
from backend.registry.tables import HEAD, Household, HouseholdMembership, Person, Village

MISSING_ID = 2**31 - 1
ERROR_KEYS = {"code", "message_zh", "message_en", "details"}
MASKED_ID = re.compile(r"^\d{6}\*{8}\d{3}[\dX]$")
CJK = re.compile(r"[\u4e00-\u9fff]")


# --- helpers -----------------------------------------------------------------------------------


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["code"] == code, body
    assert body["message_zh"] and body["message_en"]
    return body


async def sql(query: str, *args) -> list[dict]:
    return await Household.raw(query, *args)


async def log_count() -> int:
    return await AccessLog.count()


async def log_rows(request_id: str) -> list[dict]:
    return await AccessLog.select().where(AccessLog.request_id == request_id).order_by(AccessLog.id)


def new_request_id() -> str:
    return f"scope-{uuid.uuid4().hex}"


async def head_of(household_id: int) -> int:
    row = await HouseholdMembership.select(HouseholdMembership.person).where(
        (HouseholdMembership.household == household_id)
        & HouseholdMembership.valid_to.is_null()
        & (HouseholdMembership.relation == HEAD)
    ).first()
    assert row is not None, f"household {household_id} has no head"
    return row["person"]


async def full_id_number(person_id: int) -> str:
    row = await Person.select(Person.id_number_cipher).where(Person.id == person_id).first()
    return protection.reveal_id_number(row["id_number_cipher"])


@dataclass(frozen=True)
class Subjects:
    households: dict[str, int]
    persons: dict[str, int]
    household_township: dict[int, int]
    grid_ids: list[int]
    township_id: int
    other_township_id: int
    villager_person: int
    villager_household: int


@pytest.fixture(scope="module")
async def me(app_client, tokens):
    async def get(username: str) -> dict:
        response = await app_client.get("/api/v1/auth/me", headers=await tokens(username))
        assert response.status_code == 200, response.text
        return response.json()

    return get


@pytest.fixture(scope="module")
async def subjects(me) -> Subjects:
    worker, villager = await me("grid_worker"), await me("villager")
    township_id = (await me("township_admin"))["township_id"]
    other_township_id = (await me("township_admin2"))["township_id"]
    grid_ids = worker["grid_ids"]
    assert len(grid_ids) == 2 and township_id != other_township_id

    home_id = villager["household_id"]
    home = await Household.select().where(Household.id == home_id).first()
    assert home["grid"] in grid_ids, "seed puts the villager in the grid worker's first grid"
    home_village = await Village.select().where(Village.id == home["village"]).first()
    assert home_village["township"] == township_id

    async def first_household(condition) -> int:
        row = await Household.select(Household.id).where(condition).order_by(Household.id).first()
        assert row is not None
        return row["id"]

    households = {
        "villager_home": home_id,
        "worker_grid": await first_household(Household.grid.is_in(grid_ids) & (Household.id != home_id)),
        "same_village_other_grid": await first_household(
            (Household.village == home["village"]) & Household.grid.not_in(grid_ids)
        ),
        "other_village": await first_household(
            (Household.village.township == township_id) & (Household.village != home["village"])
        ),
        "other_township": await first_household(Household.village.township == other_township_id),
    }
    housemates = await HouseholdMembership.select(HouseholdMembership.person).where(
        (HouseholdMembership.household == home_id)
        & HouseholdMembership.valid_to.is_null()
        & (HouseholdMembership.person != villager["person_id"])
    )
    assert housemates, "the villager's household should have more than one member"
    persons = {
        "villager_self": villager["person_id"],
        "villager_housemate": housemates[0]["person"],
        "worker_grid": await head_of(households["worker_grid"]),
        "same_village_other_grid": await head_of(households["same_village_other_grid"]),
        "other_village": await head_of(households["other_village"]),
        "other_township": await head_of(households["other_township"]),
    }
    rows = await sql(
        "SELECT h.id, v.township FROM household h JOIN village v ON v.id = h.village WHERE h.id = ANY({})",
        list(households.values()),
    )
    return Subjects(
        households=households,
        persons=persons,
        household_township={r["id"]: r["township"] for r in rows},
        grid_ids=grid_ids,
        township_id=township_id,
        other_township_id=other_township_id,
        villager_person=villager["person_id"],
        villager_household=home_id,
    )


@pytest.fixture(scope="module")
async def bank_headers(app_client) -> dict[str, str]:
    response = await app_client.post(
        "/api/v1/auth/token",
        json={"grant_type": "client_credentials", "client_id": DEMO_BANK_CLIENT_ID, "client_secret": DEMO_BANK_SECRET},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def get_logged(app_client, tokens, username: str, path: str, **params):
    """GET with a fresh request id; returns (response, rows logged for it, change in log size)."""
    rid = new_request_id()
    before = await log_count()
    headers = {**await tokens(username), "X-Request-ID": rid}
    response = await app_client.get(path, headers=headers, params=params)
    return response, await log_rows(rid), await log_count() - before


# --- the matrix ------------------------------------------------------------------------------

ROLES = ("grid_worker", "villager", "township_admin", "county_admin")

# target                       grid_worker  villager  township_admin  county_admin
HOUSEHOLD_MATRIX = {
    "villager_home":           (200,        200,      200,            200),
    "worker_grid":             (200,        404,      200,            200),
    "same_village_other_grid": (404,        404,      200,            200),
    "other_village":           (404,        404,      200,            200),
    "other_township":          (404,        404,      404,            200),
}
PERSON_MATRIX = {
    "villager_self":           (200,        200,      200,            200),
    "villager_housemate":      (200,        200,      200,            200),
    "worker_grid":             (200,        404,      200,            200),
    "same_village_other_grid": (404,        404,      200,            200),
    "other_village":           (404,        404,      200,            200),
    "other_township":          (404,        404,      404,            200),
}


def _cases(matrix: dict[str, tuple[int, ...]]):
    return [
        pytest.param(role, target, statuses[i], id=f"{role}-{target}-{statuses[i]}")
        for target, statuses in matrix.items()
        for i, role in enumerate(ROLES)
    ]


@pytest.mark.parametrize("role,target,expected", _cases(HOUSEHOLD_MATRIX))
async def test_household_matrix(app_client, tokens, subjects, role, target, expected):
    household_id = subjects.households[target]
    response, rows, added = await get_logged(app_client, tokens, role, f"/api/v1/households/{household_id}")
    if expected == 404:
        assert_error(response, 404, "NOT_FOUND")
        assert (rows, added) == ([], 0), "a refused read must not be logged"
        return
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == household_id
    assert body["township"]["id"] == subjects.household_township[household_id]
    assert body["members"] and all(MASKED_ID.match(m["id_number"]) for m in body["members"])
    assert added == 1 and len(rows) == 1
    row = rows[0]
    assert (row["actor_label"], row["actor_role"], row["actor_kind"]) == (role, role, "account")
    assert (row["subject_kind"], row["subject_id"]) == ("household", household_id)
    assert (row["household_id"], row["person_id"]) == (household_id, None)
    assert row["township_id"] == subjects.household_township[household_id]
    assert row["purpose"] == "registry_view"


@pytest.mark.parametrize("role,target,expected", _cases(PERSON_MATRIX))
async def test_person_matrix(app_client, tokens, subjects, role, target, expected):
    person_id = subjects.persons[target]
    response, rows, added = await get_logged(app_client, tokens, role, f"/api/v1/persons/{person_id}")
    if expected == 404:
        assert_error(response, 404, "NOT_FOUND")
        assert (rows, added) == ([], 0), "a refused read must not be logged"
        return
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == person_id
    assert body["id_number_masked"] is True and MASKED_ID.match(body["id_number"])
    assert added == 1 and len(rows) == 1
    row = rows[0]
    assert (row["actor_label"], row["actor_role"]) == (role, role)
    assert (row["subject_kind"], row["subject_id"]) == ("person", person_id)
    assert (row["person_id"], row["household_id"]) == (person_id, body["household_id"])
    assert row["purpose"] == "registry_view"
    assert "id_number" in row["fields"] and "id_number_full" not in row["fields"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", ["households", "persons"])
async def test_nonexistent_is_404_for_everyone(app_client, tokens, role, kind):
    response, rows, added = await get_logged(app_client, tokens, role, f"/api/v1/{kind}/{MISSING_ID}")
    assert_error(response, 404, "NOT_FOUND")
    assert (rows, added) == ([], 0)


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/api/v1/households/{household}"),
        ("GET", "/api/v1/persons/{person}"),
        ("GET", "/api/v1/households"),
        ("POST", "/api/v1/persons:lookup"),
    ],
)
@pytest.mark.parametrize("caller", ["auditor", "bank"])
async def test_auditor_and_bank_may_not_read_people(app_client, tokens, subjects, bank_headers, caller, method, path):
    headers = bank_headers if caller == "bank" else await tokens(caller)
    url = path.format(household=subjects.households["villager_home"], person=subjects.persons["villager_self"])
    json = {"id_number": await full_id_number(subjects.persons["villager_self"])} if method == "POST" else None
    before = await log_count()
    response = await app_client.request(method, url, headers=headers, json=json)
    assert_error(response, 403, "PERMISSION_DENIED")
    assert await log_count() == before


# --- named cases and the uniform 404 ----------------------------------------------------------


async def test_grid_worker_cannot_read_household_in_another_grid(app_client, tokens, subjects):
    response = await app_client.get(
        f"/api/v1/households/{subjects.households['same_village_other_grid']}", headers=await tokens("grid_worker")
    )
    assert_error(response, 404, "NOT_FOUND")


async def test_township_admin_cannot_read_other_townships_household(app_client, tokens, subjects):
    response = await app_client.get(
        f"/api/v1/households/{subjects.households['other_township']}", headers=await tokens("township_admin")
    )
    assert_error(response, 404, "NOT_FOUND")
    # ... while the second township's own admin can.
    response = await app_client.get(
        f"/api/v1/households/{subjects.households['other_township']}", headers=await tokens("township_admin2")
    )
    assert response.status_code == 200, response.text


async def test_villager_cannot_read_another_household(app_client, tokens, subjects):
    response = await app_client.get(
        f"/api/v1/households/{subjects.households['worker_grid']}", headers=await tokens("villager")
    )
    assert_error(response, 404, "NOT_FOUND")


@pytest.mark.parametrize(
    "role,kind,target",
    [
        ("grid_worker", "households", "same_village_other_grid"),
        ("villager", "households", "worker_grid"),
        ("township_admin", "households", "other_township"),
        ("grid_worker", "persons", "other_village"),
        ("villager", "persons", "worker_grid"),
        ("township_admin", "persons", "other_township"),
    ],
)
async def test_out_of_scope_and_missing_answer_byte_identically(app_client, tokens, subjects, role, kind, target):
    headers = await tokens(role)
    subject_id = (subjects.households if kind == "households" else subjects.persons)[target]
    out_of_scope = await app_client.get(f"/api/v1/{kind}/{subject_id}", headers=headers)
    missing = await app_client.get(f"/api/v1/{kind}/{MISSING_ID}", headers=headers)
    body = assert_error(out_of_scope, 404, "NOT_FOUND")
    assert body == {"code": "NOT_FOUND", "message_zh": body["message_zh"], "message_en": body["message_en"],
                    "details": {}}
    assert missing.status_code == 404
    assert out_of_scope.content == missing.content
    assert out_of_scope.headers["content-type"] == missing.headers["content-type"]


# --- household listing -----------------------------------------------------------------------


async def list_all(app_client, headers, **params) -> tuple[list[dict], int]:
    items, offset, total = [], 0, None
    while True:
        response = await app_client.get("/api/v1/households", headers=headers,
                                        params={"limit": 200, "offset": offset, **params})
        assert response.status_code == 200, response.text
        page = response.json()
        assert total is None or page["total"] == total
        total = page["total"]
        items += page["items"]
        offset += 200
        if offset >= total:
            return items, total


async def test_township_admin_lists_exactly_their_township(app_client, tokens, subjects):
    expected = await sql(
        "SELECT h.id FROM household h JOIN village v ON v.id = h.village WHERE v.township = {}", subjects.township_id
    )
    count = (await sql(
        "SELECT count(*) AS n FROM household h JOIN village v ON v.id = h.village WHERE v.township = {}",
        subjects.township_id,
    ))[0]["n"]
    assert count == len(expected) > 200, "the first township should span several pages"
    items, total = await list_all(app_client, await tokens("township_admin"))
    assert total == count
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)) == count
    assert set(ids) == {r["id"] for r in expected}
    assert subjects.households["other_township"] not in ids
    other = await sql(
        "SELECT count(*) AS n FROM household h JOIN village v ON v.id = h.village "
        "WHERE h.id = ANY({}) AND v.township <> {}", ids, subjects.township_id,
    )
    assert other[0]["n"] == 0


async def test_grid_worker_lists_only_their_grids(app_client, tokens, subjects):
    expected = await Household.select(Household.id).where(Household.grid.is_in(subjects.grid_ids))
    items, total = await list_all(app_client, await tokens("grid_worker"))
    assert total == len(expected) > 0
    assert {i["id"] for i in items} == {r["id"] for r in expected}
    assert {i["grid_id"] for i in items} <= set(subjects.grid_ids)
    assert subjects.households["same_village_other_grid"] not in {i["id"] for i in items}


async def test_grid_worker_filter_outside_their_grids_is_empty(app_client, tokens, subjects):
    other = await Household.select(Household.grid).where(
        Household.id == subjects.households["same_village_other_grid"]
    ).first()
    response, rows, added = await get_logged(app_client, tokens, "grid_worker", "/api/v1/households",
                                             grid_id=other["grid"])
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 0 and response.json()["items"] == []
    assert (rows, added) == ([], 0)


async def test_villager_lists_only_their_household(app_client, tokens, subjects):
    response = await app_client.get("/api/v1/households", headers=await tokens("villager"))
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == 1
    assert [i["id"] for i in page["items"]] == [subjects.villager_household]


async def test_each_listed_household_is_logged_once(app_client, tokens, subjects):
    response, rows, added = await get_logged(app_client, tokens, "township_admin", "/api/v1/households",
                                             limit=37, offset=5)
    assert response.status_code == 200, response.text
    listed = [i["id"] for i in response.json()["items"]]
    assert len(listed) == 37
    assert added == len(rows) == 37
    assert sorted(r["subject_id"] for r in rows) == sorted(listed)
    for row in rows:
        assert (row["subject_kind"], row["purpose"], row["actor_label"]) == ("household", "registry_list",
                                                                             "township_admin")
        assert row["household_id"] == row["subject_id"]
        assert row["township_id"] == subjects.township_id


@pytest.mark.parametrize("limit", [201, 1000, 0])
async def test_list_limit_out_of_range_is_request_invalid(app_client, tokens, limit):
    response, rows, added = await get_logged(app_client, tokens, "county_admin", "/api/v1/households", limit=limit)
    assert_error(response, 400, "REQUEST_INVALID")
    assert (rows, added) == ([], 0)


# --- lookup by ID number ---------------------------------------------------------------------


async def lookup(app_client, tokens, role: str, id_number: str):
    rid = new_request_id()
    before = await log_count()
    response = await app_client.post("/api/v1/persons:lookup", json={"id_number": id_number},
                                     headers={**await tokens(role), "X-Request-ID": rid})
    return response, await log_rows(rid), await log_count() - before


@pytest.mark.parametrize(
    "role,target,expected",
    [
        ("township_admin", "other_village", 200),
        ("township_admin", "other_township", 404),
        ("grid_worker", "worker_grid", 200),
        ("grid_worker", "same_village_other_grid", 404),
        ("villager", "villager_housemate", 200),
        ("villager", "worker_grid", 404),
        ("county_admin", "other_township", 200),
    ],
)
async def test_lookup_by_id_number(app_client, tokens, subjects, role, target, expected):
    person_id = subjects.persons[target]
    number = await full_id_number(person_id)
    response, rows, added = await lookup(app_client, tokens, role, number)
    if expected == 404:
        assert_error(response, 404, "NOT_FOUND")
        assert (rows, added) == ([], 0)
        assert number not in response.text
        return
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == person_id
    assert body["id_number"] == number[:6] + "********" + number[-4:]
    assert MASKED_ID.match(body["id_number"]) and body["id_number_masked"] is True
    assert added == 1 and rows[0]["subject_id"] == person_id and rows[0]["person_id"] == person_id


async def test_lookup_unregistered_number_looks_like_out_of_scope(app_client, tokens, subjects):
    real = await full_id_number(subjects.persons["other_township"])
    for seq in range(100, 1000):  # same region and birth date, a sequence number nobody has
        first17 = real[:14] + str(seq)
        candidate = first17 + compute_check_digit(first17)
        if not await Person.exists().where(Person.id_number_hash == protection.id_number_hash(candidate)):
            break
    else:
        pytest.fail("no free ID number found")
    unregistered, _, _ = await lookup(app_client, tokens, "township_admin", candidate)
    out_of_scope, _, _ = await lookup(app_client, tokens, "township_admin", real)
    assert_error(unregistered, 404, "NOT_FOUND")
    assert unregistered.content == out_of_scope.content


async def test_lookup_bad_check_digit_is_422_in_chinese(app_client, tokens, subjects):
    number = await full_id_number(subjects.persons["other_village"])
    wrong = next(c for c in "0123456789X" if c != number[17])
    response, rows, added = await lookup(app_client, tokens, "township_admin", number[:17] + wrong)
    body = assert_error(response, 422, "ID_NUMBER_CHECK_DIGIT")
    assert CJK.search(body["message_zh"]), body["message_zh"]
    assert number[:17] not in response.text, "error details must not echo the number"
    assert (rows, added) == ([], 0)


# --- reveal ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role,target,sees_full",
    [
        ("township_admin", "other_village", True),
        ("county_admin", "other_township", True),
        ("grid_worker", "worker_grid", False),
        ("villager", "villager_self", True),
        ("villager", "villager_housemate", False),
    ],
)
async def test_reveal(app_client, tokens, subjects, role, target, sees_full):
    person_id = subjects.persons[target]
    number = await full_id_number(person_id)
    response, rows, added = await get_logged(app_client, tokens, role, f"/api/v1/persons/{person_id}",
                                             reveal="true")
    assert response.status_code == 200, response.text
    body = response.json()
    assert added == 1 and len(rows) == 1
    if sees_full:
        assert body["id_number"] == number and body["id_number_masked"] is False
        assert "id_number_full" in rows[0]["fields"]
    else:
        assert body["id_number"] == number[:6] + "********" + number[-4:] and body["id_number_masked"] is True
        assert number not in response.text
        assert "id_number_full" not in rows[0]["fields"]


# --- the villager's own access log ------------------------------------------------------------


async def my_log(app_client, tokens) -> dict:
    response = await app_client.get("/api/v1/me/access-log", headers=await tokens("villager"),
                                    params={"limit": 200})
    assert response.status_code == 200, response.text
    return response.json()


async def test_villager_sees_who_read_their_data(app_client, tokens, subjects):
    before = (await my_log(app_client, tokens))["total"]
    reads = [
        ("township_admin", f"/api/v1/households/{subjects.villager_household}"),
        ("grid_worker", f"/api/v1/persons/{subjects.persons['villager_housemate']}"),
        ("county_admin", f"/api/v1/persons/{subjects.villager_person}"),
        ("county_admin", f"/api/v1/households/{subjects.households['other_township']}"),  # not theirs
    ]
    for role, path in reads:
        response = await app_client.get(path, headers=await tokens(role))
        assert response.status_code == 200, response.text
    log = await my_log(app_client, tokens)
    assert log["total"] == before + 3
    # The villager's view is words (tests/integration/audit has the details), never account names.
    newest = [(i["role_zh"], i["about_zh"].split(" ")[0]) for i in log["items"][:3]]
    assert newest == [("县区管理员", "您本人"), ("网格员", "家庭成员"), ("乡镇管理员", "您家（全户）")]
    assert all(i["about_zh"].startswith(("您本人", "您家", "家庭成员")) for i in log["items"])
    assert "county_admin" not in str(log) and "grid_worker" not in str(log)


async def test_only_villagers_have_a_personal_access_log(app_client, tokens):
    response = await app_client.get("/api/v1/me/access-log", headers=await tokens("township_admin"))
    assert_error(response, 403, "PERMISSION_DENIED")


# --- structure -------------------------------------------------------------------------------


async def test_township_admin_sees_only_their_township(app_client, tokens, subjects):
    headers = await tokens("township_admin")
    response = await app_client.get("/api/v1/townships", headers=headers)
    assert response.status_code == 200, response.text
    assert [t["id"] for t in response.json()] == [subjects.township_id]

    response = await app_client.get(f"/api/v1/townships/{subjects.township_id}/villages", headers=headers)
    assert response.status_code == 200, response.text
    expected = await Village.select(Village.id).where(Village.township == subjects.township_id)
    assert {v["id"] for v in response.json()} == {r["id"] for r in expected}

    response = await app_client.get(f"/api/v1/townships/{subjects.other_township_id}/villages", headers=headers)
    assert_error(response, 404, "NOT_FOUND")
    missing = await app_client.get(f"/api/v1/townships/{MISSING_ID}/villages", headers=headers)
    assert missing.content == response.content


async def test_county_admin_sees_every_township(app_client, tokens, subjects):
    response = await app_client.get("/api/v1/townships", headers=await tokens("county_admin"))
    assert response.status_code == 200, response.text
    ids = {t["id"] for t in response.json()}
    assert len(ids) == 3 and {subjects.township_id, subjects.other_township_id} <= ids


# --- the log itself is append-only ------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE access_log SET purpose = 'x'",
        "UPDATE access_log SET actor_label = 'nobody' WHERE id = (SELECT max(id) FROM access_log)",
        "DELETE FROM access_log",
        "DELETE FROM access_log WHERE id = (SELECT max(id) FROM access_log)",
        "TRUNCATE access_log",
    ],
)
async def test_access_log_refuses_update_and_delete(app_client, tokens, subjects, statement):
    response = await app_client.get(f"/api/v1/persons/{subjects.villager_person}", headers=await tokens("villager"))
    assert response.status_code == 200  # at least one row to change
    before = await log_count()
    newest = await AccessLog.select().order_by(AccessLog.id, ascending=False).first()
    with pytest.raises(asyncpg.PostgresError) as refused:
        await engine_finder().run_ddl(statement)
    assert refused.value.sqlstate == "42501", refused.value
    assert "append-only" in str(refused.value)
    assert await log_count() == before
    assert await AccessLog.select().where(AccessLog.id == newest["id"]).first() == newest
