"""Registry changes over HTTP: membership moves (迁户) and residence moves between grids, with
history kept, the business rules (one head, no future dates, known relations), role and
jurisdiction checks, and the database's own partial unique indexes as the last line of defence.

Each test takes households nobody else in this module has touched (``pick``), so the tests do not
depend on their order. The demo accounts: township_admin covers the first township,
township_admin2 the second, grid_worker the first two grids of the first village, and the
villager lives in the first household of the first grid (never picked here).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg
import pytest
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

from backend import clock
from backend.registry.tables import HouseholdMembership, HouseholdResidence

TODAY = clock.today()
YESTERDAY = TODAY - timedelta(days=1)


# ── helpers ───────────────────────────────────────────────────────────────────────────────────


async def _sql(sql: str, *args) -> list[dict]:
    return [dict(r) for r in await engine_finder().run_querystring(QueryString(sql, *args))]


@dataclass(frozen=True)
class Household:
    id: int
    code: str
    grid_id: int
    head: int  # person id of the 户主
    others: list[int]  # the other current members


class Picker:
    """Hands out demo households not handed out before, whose members all joined before today
    (so a change from today is after the current membership began)."""

    def __init__(self) -> None:
        self.used: set[int] = set()

    async def household(self, village_code: str, *, min_members: int = 2, grid_id: int | None = None,
                        exclude_first: bool = False) -> Household:
        rows = await _sql(
            """SELECT h.id, h.code, h.grid, m.person, m.relation, m.valid_from
               FROM household h JOIN village v ON v.id = h.village
               JOIN household_membership m ON m.household = h.id AND m.valid_to IS NULL
               WHERE v.code = {} ORDER BY h.code, (m.relation = '户主') DESC, m.id""",
            village_code,
        )
        by_household: dict[int, list[dict]] = {}
        for row in rows:
            by_household.setdefault(row["id"], []).append(row)
        candidates = list(by_household.items())[1:] if exclude_first else list(by_household.items())
        for household_id, members in candidates:
            if household_id in self.used or len(members) < min_members:
                continue
            if grid_id is not None and members[0]["grid"] != grid_id:
                continue
            if members[0]["relation"] != "户主" or any(m["valid_from"] >= TODAY for m in members):
                continue
            self.used.add(household_id)
            return Household(household_id, members[0]["code"], members[0]["grid"], members[0]["person"],
                             [m["person"] for m in members[1:]])
        raise AssertionError(f"no unused household with {min_members}+ members in {village_code}")


@pytest.fixture(scope="module")
def pick() -> Picker:
    return Picker()


async def _village_codes(township_index: int) -> list[str]:
    rows = await _sql(
        """SELECT v.code FROM village v JOIN township t ON t.id = v.township
           WHERE t.code = (SELECT code FROM township ORDER BY code OFFSET {} LIMIT 1) ORDER BY v.code""",
        township_index,
    )
    return [r["code"] for r in rows]


async def _grid_ids(village_code: str) -> list[int]:
    rows = await _sql("SELECT g.id FROM grid g JOIN village v ON v.id = g.village WHERE v.code = {} ORDER BY g.code",
                      village_code)
    return [r["id"] for r in rows]


def _change(person_id: int, relation: str = "其他", valid_from: date = TODAY, reason: str = "迁户测试") -> dict:
    return {"person_id": person_id, "relation": relation, "valid_from": valid_from.isoformat(), "reason": reason}


async def _open_memberships(person_id: int) -> list[dict]:
    return await HouseholdMembership.select(HouseholdMembership.household, HouseholdMembership.relation).where(
        (HouseholdMembership.person == person_id) & HouseholdMembership.valid_to.is_null()
    )


async def _county_of(household_id: int) -> int:
    return (await _sql("SELECT county_id FROM household WHERE id = {}", household_id))[0]["county_id"]


def _error_code(response) -> str:
    return response.json()["code"]


# ── membership changes ────────────────────────────────────────────────────────────────────────


async def test_member_moves_to_another_household_with_history(app_client, tokens, pick):
    villages = await _village_codes(0)
    source = await pick.household(villages[1])
    target = await pick.household(villages[2])
    person = source.others[0]
    admin = await tokens("township_admin")

    response = await app_client.post(f"/api/v1/households/{target.id}/members", headers=admin,
                                     json=_change(person, "其他", reason="投亲迁入"))

    assert response.status_code == 200, response.text
    history = (await app_client.get(f"/api/v1/persons/{person}/memberships", headers=admin)).json()
    assert response.json() == history
    assert [(h["household_id"], h["valid_to"]) for h in history] == [
        (source.id, YESTERDAY.isoformat()), (target.id, None),
    ]
    assert history[1]["valid_from"] == TODAY.isoformat()
    assert (history[1]["relation"], history[1]["reason"]) == ("其他", "投亲迁入")

    person_now = (await app_client.get(f"/api/v1/persons/{person}", headers=admin)).json()
    assert (person_now["household_id"], person_now["household_code"], person_now["relation"]) == (
        target.id, target.code, "其他")
    assert person_now["village"]["code"] == villages[2]
    old_members = (await app_client.get(f"/api/v1/households/{source.id}", headers=admin)).json()["members"]
    new_members = (await app_client.get(f"/api/v1/households/{target.id}", headers=admin)).json()["members"]
    assert person not in [m["person_id"] for m in old_members]
    assert person in [m["person_id"] for m in new_members]


async def test_county_admin_moves_a_member_across_townships(app_client, tokens, pick):
    source = await pick.household((await _village_codes(0))[1])
    target = await pick.household((await _village_codes(1))[1])
    person = source.others[0]

    refused = await app_client.post(f"/api/v1/households/{target.id}/members",
                                    headers=await tokens("township_admin"), json=_change(person))
    assert refused.status_code == 404, refused.text  # the target is outside the first township
    moved = await app_client.post(f"/api/v1/households/{target.id}/members",
                                  headers=await tokens("county_admin"), json=_change(person))

    assert moved.status_code == 200, moved.text
    assert await _open_memberships(person) == [{"household": target.id, "relation": "其他"}]


async def test_head_cannot_leave_a_household_that_still_has_members(app_client, tokens, pick):
    villages = await _village_codes(0)
    source = await pick.household(villages[1])
    target = await pick.household(villages[1])

    response = await app_client.post(f"/api/v1/households/{target.id}/members",
                                     headers=await tokens("township_admin"), json=_change(source.head))

    assert response.status_code == 409, response.text
    assert _error_code(response) == "REGISTRY_HEAD_LEAVING"
    assert await _open_memberships(source.head) == [{"household": source.id, "relation": "户主"}]


async def test_a_household_cannot_get_a_second_head(app_client, tokens, pick):
    villages = await _village_codes(0)
    source = await pick.household(villages[2])
    target = await pick.household(villages[2])
    admin = await tokens("township_admin")

    into_other = await app_client.post(f"/api/v1/households/{target.id}/members", headers=admin,
                                       json=_change(source.others[0], "户主"))
    within_own = await app_client.post(f"/api/v1/households/{source.id}/members", headers=admin,
                                       json=_change(source.others[0], "户主"))

    for response in (into_other, within_own):
        assert response.status_code == 409, response.text
        assert _error_code(response) == "REGISTRY_HEAD_EXISTS"
    assert len(await _open_memberships(source.others[0])) == 1
    assert (await _open_memberships(source.others[0]))[0]["household"] == source.id


async def test_membership_change_input_rules(app_client, tokens, pick):
    villages = await _village_codes(0)
    source = await pick.household(villages[3])
    target = await pick.household(villages[3])
    person = source.others[0]
    admin = await tokens("township_admin")
    url = f"/api/v1/households/{target.id}/members"

    future = await app_client.post(url, headers=admin, json=_change(person, valid_from=TODAY + timedelta(days=1)))
    unknown_relation = await app_client.post(url, headers=admin, json=_change(person, "表哥"))

    assert future.status_code == 422, future.text
    assert _error_code(future) == "REGISTRY_FUTURE_DATE"
    assert unknown_relation.status_code == 422, unknown_relation.text
    assert _error_code(unknown_relation) == "REGISTRY_RELATION"
    assert "子女" in unknown_relation.json()["details"]["allowed"]
    history = (await app_client.get(f"/api/v1/persons/{person}/memberships", headers=admin)).json()
    assert [(h["household_id"], h["valid_to"]) for h in history] == [(source.id, None)]


@pytest.mark.parametrize("username", ["grid_worker", "villager", "auditor"])
async def test_roles_that_may_not_change_the_registry_get_403(app_client, tokens, pick, username):
    # A household of the grid worker's own first grid: even there, reading is not writing.
    village = (await _village_codes(0))[0]
    first_grid = (await _grid_ids(village))[0]
    household = await pick.household(village, grid_id=first_grid, exclude_first=True)

    membership = await app_client.post(f"/api/v1/households/{household.id}/members",
                                       headers=await tokens(username), json=_change(household.others[0]))
    residence = await app_client.post(f"/api/v1/households/{household.id}/residence", headers=await tokens(username),
                                      json={"grid_id": first_grid, "address": "x", "valid_from": TODAY.isoformat(),
                                            "reason": "测试"})

    for response in (membership, residence):
        assert response.status_code == 403, response.text
        assert _error_code(response) == "PERMISSION_DENIED"
    assert [m["household"] for m in await _open_memberships(household.others[0])] == [household.id]
    assert await HouseholdResidence.count().where(HouseholdResidence.household == household.id) == 1


async def test_admin_of_another_township_gets_404(app_client, tokens, pick):
    villages = await _village_codes(0)
    source = await pick.household(villages[1])
    target = await pick.household(villages[2])

    response = await app_client.post(f"/api/v1/households/{target.id}/members",
                                     headers=await tokens("township_admin2"), json=_change(source.others[0]))

    assert response.status_code == 404, response.text
    assert _error_code(response) == "NOT_FOUND"
    assert (await _open_memberships(source.others[0]))[0]["household"] == source.id


# ── residence changes ─────────────────────────────────────────────────────────────────────────


async def _grid_worker_reads(app_client, tokens, household: Household) -> tuple[int, int]:
    """Status codes of the grid worker reading the household and its head."""
    headers = await tokens("grid_worker")
    h = await app_client.get(f"/api/v1/households/{household.id}", headers=headers)
    p = await app_client.get(f"/api/v1/persons/{household.head}", headers=headers)
    return h.status_code, p.status_code


async def _move(app_client, headers, household_id: int, grid_id: int, address: str):
    return await app_client.post(f"/api/v1/households/{household_id}/residence", headers=headers,
                                 json={"grid_id": grid_id, "address": address, "valid_from": TODAY.isoformat(),
                                       "reason": "网格调整"})


async def test_residence_move_keeps_history_and_scope_follows_the_grid(app_client, tokens, pick):
    village = (await _village_codes(0))[0]  # the grid worker covers its first two grids
    grids = await _grid_ids(village)
    assert len(grids) >= 3
    admin = await tokens("township_admin")
    leaving = await pick.household(village, min_members=1, grid_id=grids[1])   # grid 2 → grid 3
    arriving = await pick.household(village, min_members=1, grid_id=grids[2])  # grid 3 → grid 2
    assert await _grid_worker_reads(app_client, tokens, leaving) == (200, 200)
    assert await _grid_worker_reads(app_client, tokens, arriving) == (404, 404)

    out = await _move(app_client, admin, leaving.id, grids[2], "新址三社1号")
    into = await _move(app_client, admin, arriving.id, grids[1], "新址二社9号")

    assert out.status_code == 200, out.text
    assert into.status_code == 200, into.text
    history = (await app_client.get(f"/api/v1/households/{leaving.id}/residence-history", headers=admin)).json()
    assert out.json() == history
    assert [(h["grid_id"], h["valid_to"]) for h in history] == [(grids[1], YESTERDAY.isoformat()), (grids[2], None)]
    assert (history[1]["valid_from"], history[1]["address"], history[1]["reason"]) == (
        TODAY.isoformat(), "新址三社1号", "网格调整")
    household = (await app_client.get(f"/api/v1/households/{leaving.id}", headers=admin)).json()
    assert (household["grid"]["id"], household["address"]) == (grids[2], "新址三社1号")

    assert await _grid_worker_reads(app_client, tokens, leaving) == (404, 404)
    assert await _grid_worker_reads(app_client, tokens, arriving) == (200, 200)
    listed = (await app_client.get("/api/v1/households", params={"grid_id": grids[1], "limit": 200},
                                   headers=await tokens("grid_worker"))).json()
    listed_ids = {item["id"] for item in listed["items"]}
    assert arriving.id in listed_ids and leaving.id not in listed_ids


async def test_residence_move_to_a_grid_outside_the_township_is_refused(app_client, tokens, pick):
    household = await pick.household((await _village_codes(0))[1], min_members=1)
    other_grid = (await _grid_ids((await _village_codes(1))[0]))[0]

    response = await _move(app_client, await tokens("township_admin"), household.id, other_grid, "外乡镇")

    assert response.status_code == 404, response.text
    assert _error_code(response) == "REGISTRY_GRID_NOT_FOUND"
    open_rows = await HouseholdResidence.select(HouseholdResidence.grid).where(
        (HouseholdResidence.household == household.id) & HouseholdResidence.valid_to.is_null())
    assert open_rows == [{"grid": household.grid_id}]


# ── the database's own guarantees ─────────────────────────────────────────────────────────────


async def test_database_refuses_a_second_open_membership(app_client, pick):
    villages = await _village_codes(2)
    source = await pick.household(villages[0])
    target = await pick.household(villages[1])

    with pytest.raises(asyncpg.exceptions.UniqueViolationError, match="household_membership_one_open_per_person"):
        await HouseholdMembership.insert(HouseholdMembership(
            county_id=await _county_of(target.id), person=source.others[0], household=target.id, relation="其他", valid_from=TODAY, reason="直接写库"))

    assert len(await _open_memberships(source.others[0])) == 1


async def test_database_refuses_a_second_open_head(app_client, pick):
    villages = await _village_codes(2)
    household = await pick.household(villages[0])

    # Close the member's own membership and re-open it as 户主 in one transaction: the index refuses.
    with pytest.raises(asyncpg.exceptions.UniqueViolationError, match="household_membership_one_open_head"):
        async with engine_finder().transaction():
            await HouseholdMembership.update({HouseholdMembership.valid_to: YESTERDAY}).where(
                (HouseholdMembership.person == household.others[0]) & HouseholdMembership.valid_to.is_null())
            await HouseholdMembership.insert(HouseholdMembership(
                county_id=await _county_of(household.id), person=household.others[0], household=household.id, relation="户主", valid_from=TODAY,
                reason="直接写库"))

    assert len(await _open_memberships(household.others[0])) == 1


async def test_two_concurrent_moves_of_one_person_give_one_change_and_a_409(app_client, tokens, pick):
    """The database allows one open membership per person: the loser of the race gets a 4xx with a
    code (a 500 before integrity errors were mapped to 409), and the person ends up in one household."""
    villages = await _village_codes(0)
    source = await pick.household(villages[1])
    targets = [await pick.household(villages[2]), await pick.household(villages[3])]
    person = source.others[0]
    admin = await tokens("township_admin")
    responses = await asyncio.gather(*(
        app_client.post(f"/api/v1/households/{t.id}/members", headers=admin, json=_change(person, "其他"))
        for t in targets))
    statuses = sorted(r.status_code for r in responses)
    # Racing, the database refuses the second open membership (409); serialised, the service sees
    # the first move and refuses the second as out of date (422). Never a 500.
    assert statuses in ([200, 409], [200, 422]), [r.text for r in responses]
    refused = next(r for r in responses if r.status_code != 200)
    assert refused.json()["code"] and refused.json()["message_zh"]
    assert len(await _open_memberships(person)) == 1


# ── a refused change reads nothing ───────────────────────────────────────────────────────────


async def _access_rows(household_id: int) -> int:
    rows = await _sql("SELECT count(*) AS n FROM access_log WHERE household_id = {} AND purpose = 'registry_change'",
                      household_id)
    return rows[0]["n"]


async def test_a_move_refused_for_a_foreign_person_logs_no_read_of_the_own_household(app_client, tokens, pick):
    """township_admin2 covers the target household but not the person: the refusal must not leave an
    access-log row saying the target household's members were read (it used to, before the check)."""
    source = await pick.household((await _village_codes(0))[1])
    target = await pick.household((await _village_codes(1))[0])
    before = await _access_rows(target.id)

    response = await app_client.post(f"/api/v1/households/{target.id}/members",
                                     headers=await tokens("township_admin2"), json=_change(source.others[0]))

    assert response.status_code == 404, response.text
    assert await _access_rows(target.id) == before


async def test_a_residence_move_refused_for_its_grid_logs_no_read(app_client, tokens, pick):
    household = await pick.household((await _village_codes(0))[1], min_members=1)
    other_grid = (await _grid_ids((await _village_codes(1))[0]))[0]
    before = await _access_rows(household.id)

    response = await _move(app_client, await tokens("township_admin"), household.id, other_grid, "外乡镇")

    assert response.status_code == 404, response.text
    assert await _access_rows(household.id) == before
