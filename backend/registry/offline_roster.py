"""The grid worker's roster for the phone (离线名册): my grids → households → current members, in one
answer the H5 app keeps for offline use, so a person is found by name, 户号 or the last digits of the
ID number without a round trip per household.

Only grid workers get it, and only their own grids (``scope.household_filter_sql``); identifiers are
the masked forms. Every household and person in it is access-logged (purpose ``offline_roster``), so a
villager sees that their grid worker's phone holds their name."""

from __future__ import annotations

from backend import clock
from backend.auth import scope
from backend.auth.roles import Actor, Role
from backend.db import fetch
from backend.errors import PermissionDenied
from backend.registry.schemas import RosterGrid, RosterHousehold, RosterMember, RosterOut

GRID_WORKERS_ONLY = PermissionDenied("离线名册仅供网格员使用", "The offline roster is for grid workers only",
                                     code="ROSTER_GRID_WORKERS_ONLY")
ROSTER_FIELDS = ("name", "id_number", "household", "code", "address")

_ROWS_SQL = """
SELECT g.id AS grid_id, g.code AS grid_code, g.name AS grid_name, v.id AS village_id, v.name AS village_name,
       t.id AS township_id, t.county AS county_id, h.id AS household_id, h.code AS household_code,
       h.address, p.id AS person_id, p.name, p.id_number_masked, m.relation
FROM household h
JOIN grid g ON g.id = h.grid JOIN village v ON v.id = h.village JOIN township t ON t.id = v.township
LEFT JOIN household_membership m ON m.household = h.id AND m.valid_to IS NULL
LEFT JOIN person p ON p.id = m.person
WHERE %s
ORDER BY g.code, h.code, (m.relation = '户主') DESC NULLS LAST, p.id
"""


async def my_roster(actor: Actor, *, request_id: str = "") -> RosterOut:
    if actor.role is not Role.GRID_WORKER:
        raise GRID_WORKERS_ONLY
    condition = scope.household_filter_sql(actor)
    rows = [] if condition is None else await fetch(_ROWS_SQL % condition[0], *condition[1])
    grids: dict[int, RosterGrid] = {}
    households: dict[int, RosterHousehold] = {}
    read: list[scope.Location] = []
    for r in rows:
        grid = grids.get(r["grid_id"])
        if grid is None:
            grid = grids[r["grid_id"]] = RosterGrid(id=r["grid_id"], code=r["grid_code"], name=r["grid_name"],
                                                   village_id=r["village_id"], village_name=r["village_name"],
                                                   households=[])
        household = households.get(r["household_id"])
        if household is None:
            household = households[r["household_id"]] = RosterHousehold(
                id=r["household_id"], code=r["household_code"], address=r["address"], members=[])
            grid.households.append(household)
            read.append(scope.Location(kind=scope.HOUSEHOLD, id=r["household_id"], county_id=r["county_id"],
                                       township_id=r["township_id"], village_id=r["village_id"],
                                       grid_id=r["grid_id"], household_id=r["household_id"]))
        if r["person_id"] is not None:
            household.members.append(RosterMember(person_id=r["person_id"], name=r["name"], relation=r["relation"],
                                                  id_number_masked=r["id_number_masked"]))
            read.append(scope.Location(kind=scope.PERSON, id=r["person_id"], county_id=r["county_id"],
                                       township_id=r["township_id"], village_id=r["village_id"],
                                       grid_id=r["grid_id"], household_id=r["household_id"],
                                       person_id=r["person_id"]))
    await scope.log_reads(actor, read, fields=ROSTER_FIELDS, purpose="offline_roster", request_id=request_id)
    return RosterOut(generated_at=clock.now(), grids=list(grids.values()))
