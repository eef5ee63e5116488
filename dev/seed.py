"""Seeding the demo county (甘州区) and its demo accounts, once."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from piccolo.engine import engine_finder

from backend import clock
from backend.identity import parse_id_number
from dev import demo_data
from backend.registry.tables import (
    County,
    Grid,
    Household,
    HouseholdMembership,
    HouseholdResidence,
    Organisation,
    PartyBranch,
    PartyMemberLink,
    Person,
    Township,
    Village,
)
from backend.registry.writer import insert_returning_ids, person_row

Progress = Callable[[str, int], None]  # (stage, units done) for a progress bar

DEMO_PASSWORD = "Cunxin@2026"
DEMO_BANK_CLIENT_ID = "demo-bank"
DEMO_BANK_SECRET = "demo-bank-secret-2026"


DEMO_REFUSED_MESSAGE = ("生产环境（CUNXIN_ENV=production）不能创建使用公开密码的示范账户 / refusing to seed demo "
                        "accounts with the published password when CUNXIN_ENV=production")


class DemoRefusedInProduction(RuntimeError):
    """Demo accounts share a password printed in the README: never in a production database."""


def demo_refused() -> bool:
    """Read from the environment, not the settings: those refuse to load in production without keys."""
    return os.environ.get("CUNXIN_ENV", "development") == "production"


@dataclass(frozen=True)
class SeedResult:
    created: bool
    townships: int = 0
    villages: int = 0
    grids: int = 0
    households: int = 0
    persons: int = 0


def _noop(stage: str, done: int) -> None:
    return None


async def seed_demo(*, today: date | None = None, progress: Progress = _noop) -> SeedResult:
    """Create the demo county unless it exists (idempotent: a second run changes nothing)."""
    if demo_refused():
        raise DemoRefusedInProduction(DEMO_REFUSED_MESSAGE)
    today = today or clock.today()
    county = demo_data.generate_demo_county(today=today)
    if await County.exists().where(County.code == county.code):
        return SeedResult(created=False)
    founded = date(today.year - 5, 1, 1)
    counts = {"townships": 0, "villages": 0, "grids": 0, "households": 0, "persons": 0}
    async with engine_finder().transaction():
        county_id = (await County.insert(County(code=county.code, name=county.name)).returning(County.id))[0]["id"]
        township_ids: dict[str, int] = {}
        person_ids: dict[str, int] = {}
        household_ids: dict[str, int] = {}
        for t in county.townships:
            t_id = (await Township.insert(Township(code=t.code, name=t.name, kind=t.kind, county=county_id))
                    .returning(Township.id))[0]["id"]
            township_ids[t.code] = t_id
            counts["townships"] += 1
            for v in t.villages:
                v_id = (await Village.insert(Village(county_id=county_id, code=v.code, name=v.name, kind=v.kind, township=t_id))
                        .returning(Village.id))[0]["id"]
                counts["villages"] += 1
                b_id = (await PartyBranch.insert(PartyBranch(county_id=county_id, code=v.party_branch.code, name=v.party_branch.name,
                                                             village=v_id)).returning(PartyBranch.id))[0]["id"]
                grid_ids = await insert_returning_ids(
                    Grid, [Grid(county_id=county_id, code=g.code, name=g.name, village=v_id) for g in v.grids]
                )
                counts["grids"] += len(grid_ids)
                households = [(g_id, h) for g_id, g in zip(grid_ids, v.grids) for h in g.households]
                h_ids = await insert_returning_ids(
                    Household, [Household(county_id=county_id, code=h.code, village=v_id, grid=g_id, address=h.address)
                                for g_id, h in households]
                )
                await HouseholdResidence.insert(*[
                    HouseholdResidence(county_id=county_id, household=h_id, grid=g_id, address=h.address, valid_from=founded,
                                       reason="初始登记")
                    for h_id, (g_id, h) in zip(h_ids, households)
                ])
                people = [(h_id, p) for h_id, (_, h) in zip(h_ids, households) for p in h.members]
                p_ids = await insert_returning_ids(
                    Person,
                    [person_row(county_id=county_id, name=p.name, resident_id=parse_id_number(p.id_number, today=today), phone=p.phone,
                                is_party_member=p.is_party_member, party_branch_id=b_id,
                                party_joined_on=p.party_joined_on) for _, p in people],
                )
                await insert_returning_ids(
                    HouseholdMembership,
                    [HouseholdMembership(county_id=county_id, person=p_id, household=h_id, relation=p.relation,
                                         valid_from=max(founded, p.birth_date), reason="初始登记")
                     for p_id, (h_id, p) in zip(p_ids, people)],
                )
                for p_id, (_, p) in zip(p_ids, people):
                    person_ids[p.id_number] = p_id
                for h_id, (_, h) in zip(h_ids, households):
                    household_ids[h.code] = h_id
                counts["households"] += len(h_ids)
                counts["persons"] += len(p_ids)
                progress("villages", 1)
        await PartyMemberLink.insert(*[
            PartyMemberLink(county_id=county_id, member=person_ids[link.member_id_number], household=household_ids[link.household_code],
                            valid_from=founded)
            for link in county.party_links
        ])
        await Organisation.insert(*[
            Organisation(county_id=county_id, name=o.name, uscc=o.uscc, kind=o.kind, township=township_ids[o.township_code])
            for o in county.organisations
        ])
        await _seed_accounts(county_id, county)
    return SeedResult(created=True, **counts)


async def _seed_accounts(county_id: int, county: demo_data.DemoCounty) -> None:
    """One demo account per role (README lists them)."""
    from backend.auth import accounts
    from backend.auth.roles import Role

    first_township, second_township = county.townships[0], county.townships[1]
    first_village = first_township.villages[0]
    grid_codes = [g.code for g in first_village.grids[:2]]
    villager_id_number = first_village.grids[0].households[0].members[0].id_number
    await accounts.create_account("county_admin", DEMO_PASSWORD, Role.COUNTY_ADMIN, county_code=county.code,
                                  display_name="区信用办管理员", admin_ui=True)
    await accounts.create_account("county_admin2", DEMO_PASSWORD, Role.COUNTY_ADMIN, county_code=county.code,
                                  display_name="区信用办复核员")
    await accounts.create_account("auditor", DEMO_PASSWORD, Role.AUDITOR, county_code=county.code,
                                  display_name="审计员")
    await accounts.create_account("township_admin", DEMO_PASSWORD, Role.TOWNSHIP_ADMIN,
                                  township_code=first_township.code, display_name=f"{first_township.name}管理员")
    await accounts.create_account("township_admin2", DEMO_PASSWORD, Role.TOWNSHIP_ADMIN,
                                  township_code=second_township.code, display_name=f"{second_township.name}管理员")
    await accounts.create_account("grid_worker", DEMO_PASSWORD, Role.GRID_WORKER, grid_codes=grid_codes,
                                  display_name=f"{first_village.name}网格员")
    await accounts.create_account("villager", DEMO_PASSWORD, Role.VILLAGER, person_id_number=villager_id_number,
                                  display_name="村民")
    await accounts.create_bank_client("示范农商银行", county.code, client_id=DEMO_BANK_CLIENT_ID,
                                      secret=DEMO_BANK_SECRET)
