"""A county of a test's own: one township, one village, one grid and ``people`` one-person households
with valid, unused ID numbers — for tests whose data must not mix with the demo county's (a published
catalogue version, a chain of its own, village rules)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from backend import clock
from backend.identity import parse_id_number
from backend.identity.idcard import compute_check_digit
from backend.registry import protection
from backend.registry.tables import (HEAD, County, Grid, Household, HouseholdMembership, HouseholdResidence, Person,
                                     Township, Village)
from backend.registry.writer import person_row


@dataclass
class OwnCounty:
    code: str          # the county's code; township, village and grid codes add "t", "v", "g"
    county: int
    township: int
    village: int
    grid: int
    people: list[tuple[int, int]]  # (person, household), one person per household, head of it


async def free_id_number(seed: int) -> str:
    """A valid ID number (Zhangye, born 19<seed>-01-01) nobody in the database has."""
    for seq in range(999, 100, -1):
        first17 = f"62070219{seed:02d}0101{seq:03d}"[:17]
        candidate = first17 + compute_check_digit(first17)
        if not await Person.exists().where(Person.id_number_hash == protection.id_number_hash(candidate)):
            return candidate
    raise AssertionError("no free ID number")


async def own_county(prefix: str, name: str, people: int, *, birth_seed: int) -> OwnCounty:
    """``name``: the county's name without 区 (e.g. "目录" → 目录区, 目录镇, 目录村 …)."""
    today = clock.today()
    code = f"{prefix}{secrets.token_hex(3)}"
    county = (await County.insert(County(code=code, name=f"{name}区")).returning(County.id))[0]["id"]
    township = (await Township.insert(Township(code=f"{code}t", name=f"{name}镇", county=county))
                .returning(Township.id))[0]["id"]
    village = (await Village.insert(Village(county_id=county, code=f"{code}v", name=f"{name}村", township=township))
               .returning(Village.id))[0]["id"]
    grid = (await Grid.insert(Grid(county_id=county, code=f"{code}g", name=f"{name}网格", village=village)).returning(Grid.id))[0]["id"]
    placed = []
    for i in range(people):
        address = f"{name}村{i}号"
        household = (await Household.insert(Household(county_id=county, code=f"{code}h{i}", village=village, grid=grid, address=address))
                     .returning(Household.id))[0]["id"]
        await HouseholdResidence.insert(HouseholdResidence(county_id=county, household=household, grid=grid, address=address,
                                                           valid_from=today - timedelta(days=400), reason="初始登记"))
        number = await free_id_number(birth_seed + i)
        person = (await Person.insert(person_row(county_id=county, name=f"{name}{i}", resident_id=parse_id_number(number, today=today),
                                                 phone=None)).returning(Person.id))[0]["id"]
        await HouseholdMembership.insert(HouseholdMembership(county_id=county, person=person, household=household, relation=HEAD,
                                                             valid_from=today - timedelta(days=400), reason="初始登记"))
        placed.append((person, household))
    return OwnCounty(code, county, township, village, grid, placed)
