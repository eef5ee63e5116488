"""Applying a validated village roster to the registry — all or nothing, and idempotent.

Checks beyond the file itself need the database: a household code that belongs to another
village, and a person already registered in a *different* household (moves go through the
membership-change endpoint, never silently through an import). A person already in the same
household is left as is, so importing the same file twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from piccolo.engine import engine_finder

from backend import clock
from backend.errors import NotFound
from backend.registry import protection
from backend.registry.roster import RosterError, RosterReport, read_roster, validate_roster
from backend.registry.tables import HEAD, Grid, Household, HouseholdMembership, HouseholdResidence, PartyBranch, Person, Village
from backend.registry.writer import insert_returning_ids, person_row
from backend.identity import parse_id_number


@dataclass(frozen=True)
class ImportResult:
    report: RosterReport
    imported: bool
    households_created: int = 0
    persons_created: int = 0
    persons_unchanged: int = 0


async def import_roster(path: Path, village_code: str, *, today: date | None = None,
                        dry_run: bool = False) -> ImportResult:
    today = today or clock.today()
    village = await Village.select(Village.id, Village.county_id).where(Village.code == village_code).first()
    if village is None:
        raise NotFound(f"村代码 {village_code} 不存在", f"No village with code {village_code}",
                       code="REGISTRY_CODE_UNKNOWN")
    village_id, county_id = village["id"], village["county_id"]
    grids = {r["code"]: r["id"] for r in await Grid.select(Grid.id, Grid.code).where(Grid.village == village_id)}
    rows = read_roster(path)
    codes = sorted({r.household_code for r in rows if r.household_code})
    existing = {
        r["code"]: r for r in await Household.select(Household.id, Household.code, Household.village)
        .where(Household.code.is_in(codes or ["-"]))
    }
    heads = {
        r["household.code"] for r in await HouseholdMembership.select(HouseholdMembership.household.code)
        .where(HouseholdMembership.household.code.is_in(codes or ["-"]) & HouseholdMembership.valid_to.is_null()
               & (HouseholdMembership.relation == HEAD))
    }
    report = validate_roster(rows, known_grid_codes=set(grids), existing_household_heads=heads, today=today)

    # Database-level checks on the rows the file itself accepts.
    hashes = {row.row_number: protection.id_number_hash(row.id_number) for row in report.valid}
    registered = {
        r["person.id_number_hash"]: r for r in await HouseholdMembership.select(
            HouseholdMembership.person, HouseholdMembership.person.id_number_hash, HouseholdMembership.household.code,
        ).where(HouseholdMembership.person.id_number_hash.is_in(list(hashes.values()) or ["-"])
                & HouseholdMembership.valid_to.is_null())
    }
    extra: list[RosterError] = []
    for row in report.valid:
        found = existing.get(row.household_code)
        if found is not None and found["village"] != village_id:
            extra.append(RosterError(row.row_number, "household_code", "ROSTER_HOUSEHOLD_OTHER_VILLAGE",
                                     "户号已属于其他村", "Household code belongs to another village"))
        other = registered.get(hashes[row.row_number])
        if other is not None and other["household.code"] != row.household_code:
            extra.append(RosterError(row.row_number, "id_number", "ROSTER_REGISTERED_ELSEWHERE",
                                     f"此人已登记在户 {other['household.code']}，迁户请走户籍变更",
                                     f"Already registered in household {other['household.code']}; use a membership change"))
        elif other is None and row.relation == HEAD and row.household_code in heads:
            # A new person as 户主 of a household that has one: the open-head index would refuse it.
            extra.append(RosterError(row.row_number, "relation", "ROSTER_HEAD_EXISTS",
                                     f"户号“{row.household_code}”已有户主，变更户主请走户籍变更",
                                     f"Household {row.household_code} already has a head; use a membership change"))
    if extra:
        bad = {e.row_number for e in extra}
        report = RosterReport(valid=[r for r in report.valid if r.row_number not in bad],
                              errors=sorted(report.errors + extra, key=lambda e: (e.row_number, e.field)))
    if not report.ok or dry_run:
        return ImportResult(report=report, imported=False)

    branch = await PartyBranch.select(PartyBranch.id).where(PartyBranch.village == village_id).first()
    new_rows = [r for r in report.valid if hashes[r.row_number] not in registered]
    async with engine_finder().transaction():
        new_households = {}
        for row in report.valid:
            if row.household_code not in existing and row.household_code not in new_households:
                new_households[row.household_code] = row
        created_ids = await insert_returning_ids(Household, [
            Household(county_id=county_id, code=r.household_code, village=village_id, grid=grids[r.grid_code], address=r.address)
            for r in new_households.values()
        ])
        household_ids = {code: row["id"] for code, row in existing.items()}
        household_ids.update(zip(new_households.keys(), created_ids))
        if created_ids:
            await HouseholdResidence.insert(*[
                HouseholdResidence(county_id=county_id, household=h_id, grid=grids[r.grid_code], address=r.address, valid_from=today,
                                   reason="花名册导入")
                for h_id, r in zip(created_ids, new_households.values())
            ])
        person_ids = await insert_returning_ids(Person, [
            person_row(county_id=county_id, name=r.name, resident_id=parse_id_number(r.id_number, today=today), phone=r.phone,
                       is_party_member=r.party_member, party_branch_id=branch["id"] if branch else None)
            for r in new_rows
        ])
        if person_ids:
            await HouseholdMembership.insert(*[
                HouseholdMembership(county_id=county_id, person=p_id, household=household_ids[r.household_code], relation=r.relation,
                                    valid_from=today, reason="花名册导入")
                for p_id, r in zip(person_ids, new_rows)
            ])
    return ImportResult(report=report, imported=True, households_created=len(created_ids),
                        persons_created=len(person_ids), persons_unchanged=len(report.valid) - len(new_rows))
