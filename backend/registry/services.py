"""Registry reads and changes. Every read of personal data goes through ``scope.authorize_read``."""

from __future__ import annotations

from datetime import date, timedelta

from piccolo.engine import engine_finder

from backend import clock, jobs
from backend.auth import scope
from backend.db import fetch
from backend.auth.roles import ROLES_SEEING_FULL_IDENTIFIERS, Actor, Role
from backend.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.identity import parse_id_number
from backend.registry import protection
from backend.registry.schemas import (
    GridOut,
    HouseholdOut,
    HouseholdSummary,
    LinkedHouseholdOut,
    MemberOut,
    MembershipChangeIn,
    MembershipOut,
    OrganisationOut,
    PartyBranchOut,
    PersonOut,
    Ref,
    ResidenceChangeIn,
    ResidenceOut,
    TownshipOut,
    VillageOut,
)
from backend.registry.tables import (
    HEAD,
    RELATIONS,
    Grid,
    Household,
    HouseholdMembership,
    HouseholdResidence,
    Organisation,
    Person,
    Township,
    Village,
)
from backend.schemas import Page

PERSON_FIELDS = ("name", "sex", "birth_date", "id_number", "phone", "household", "party")
HOUSEHOLD_FIELDS = ("members", "address", "party_contact")
SUMMARY_FIELDS = ("code", "address", "head_name", "member_count")
REGISTRY_WRITERS = (Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)


def _sees_full(actor: Actor, person_id: int) -> bool:
    return actor.role in ROLES_SEEING_FULL_IDENTIFIERS or (
        actor.role is Role.VILLAGER and actor.person_id == person_id
    )


# --- structure (not personal data) -------------------------------------------------------


async def list_townships(actor: Actor) -> list[TownshipOut]:
    rows = await Township.select().order_by(Township.code)
    out = []
    for row in rows:
        where = scope.Location(kind=scope.TOWNSHIP, id=row["id"], county_id=row["county"], township_id=row["id"])
        if scope.covers_structure(actor, where):
            out.append(TownshipOut(id=row["id"], code=row["code"], name=row["name"], kind=row["kind"]))
    return out


async def list_villages(actor: Actor, township_id: int) -> list[VillageOut]:
    where = await scope.locate(scope.TOWNSHIP, township_id)
    if where is None or not scope.covers_structure(actor, where):
        raise NotFound()
    rows = await Village.select().where(Village.township == township_id).order_by(Village.code)
    return [VillageOut(id=r["id"], code=r["code"], name=r["name"], kind=r["kind"], township_id=township_id) for r in rows]


async def list_grids(actor: Actor, village_id: int) -> list[GridOut]:
    where = await scope.locate(scope.VILLAGE, village_id)
    if where is None or not scope.covers_structure(actor, where):
        raise NotFound()
    rows = await Grid.select().where(Grid.village == village_id).order_by(Grid.code)
    return [GridOut(id=r["id"], code=r["code"], name=r["name"], village_id=village_id) for r in rows]


async def list_party_branches(actor: Actor, village_id: int) -> list[PartyBranchOut]:
    where = await scope.locate(scope.VILLAGE, village_id)
    if where is None or not scope.covers_structure(actor, where):
        raise NotFound()
    rows = await fetch(
        """SELECT b.id, b.code, b.name, count(p.id) AS member_count FROM party_branch b
           LEFT JOIN person p ON p.party_branch = b.id AND p.is_party_member
           WHERE b.village = {} GROUP BY b.id ORDER BY b.code""",
        village_id,
    )
    return [PartyBranchOut(village_id=village_id, **r) for r in rows]


# --- people and households -----------------------------------------------------------------


async def get_person(actor: Actor, person_id: int, *, reveal: bool = False, request_id: str = "") -> PersonOut:
    """One person. ``reveal`` asks for the full ID number/phone; only some roles get it, and the
    access log records whether the full identifier was read."""
    full = reveal and _sees_full(actor, person_id)
    fields = list(PERSON_FIELDS) + (["id_number_full", "phone_full"] if full else [])
    await scope.authorize_read(actor, scope.PERSON, person_id, fields=fields, purpose="registry_view",
                               request_id=request_id)
    rows = await fetch(
        """SELECT p.*, m.relation, h.id AS household_id, h.code AS household_code,
                  v.id AS village_id, v.code AS village_code, v.name AS village_name,
                  t.id AS township_id, t.code AS township_code, t.name AS township_name,
                  b.name AS branch_name
           FROM person p
           JOIN household_membership m ON m.person = p.id AND m.valid_to IS NULL
           JOIN household h ON h.id = m.household
           JOIN village v ON v.id = h.village JOIN township t ON t.id = v.township
           LEFT JOIN party_branch b ON b.id = p.party_branch
           WHERE p.id = {}""",
        person_id,
    )
    if not rows:
        raise NotFound()
    r = rows[0]
    phone = None
    if r["phone_cipher"]:
        phone = protection.reveal_phone(r["phone_cipher"]) if full else r["phone_masked"]
    return PersonOut(
        id=r["id"],
        name=r["name"],
        sex=r["sex"],
        birth_date=r["birth_date"],
        id_number=protection.reveal_id_number(r["id_number_cipher"]) if full else r["id_number_masked"],
        id_number_masked=not full,
        phone=phone,
        phone_masked=not full,
        household_id=r["household_id"],
        household_code=r["household_code"],
        relation=r["relation"],
        is_party_member=r["is_party_member"],
        party_branch=r["branch_name"],
        party_joined_on=r["party_joined_on"],
        village=Ref(id=r["village_id"], code=r["village_code"], name=r["village_name"]),
        township=Ref(id=r["township_id"], code=r["township_code"], name=r["township_name"]),
    )


async def lookup_person(actor: Actor, raw_id_number: str, *, request_id: str = "") -> PersonOut:
    """Find a person by resident ID number (keyed hash; the number itself is never queried)."""
    number = parse_id_number(raw_id_number).number
    row = await Person.select(Person.id).where(Person.id_number_hash == protection.id_number_hash(number)).first()
    if row is None:
        raise NotFound()
    return await get_person(actor, row["id"], request_id=request_id)


async def get_household(actor: Actor, household_id: int, *, request_id: str = "") -> HouseholdOut:
    await scope.authorize_read(actor, scope.HOUSEHOLD, household_id, fields=HOUSEHOLD_FIELDS,
                               purpose="registry_view", request_id=request_id)
    head = await fetch(
        """SELECT h.id, h.code, h.address, g.id AS grid_id, g.code AS grid_code, g.name AS grid_name,
                  v.id AS village_id, v.code AS village_code, v.name AS village_name,
                  t.id AS township_id, t.code AS township_code, t.name AS township_name,
                  (SELECT pm.name FROM party_member_link l JOIN person pm ON pm.id = l.member
                    WHERE l.household = h.id AND l.valid_to IS NULL) AS party_contact
           FROM household h JOIN grid g ON g.id = h.grid JOIN village v ON v.id = h.village
           JOIN township t ON t.id = v.township WHERE h.id = {}""",
        household_id,
    )
    members = await fetch(
        """SELECT p.id, p.name, p.sex, p.birth_date, p.id_number_masked, p.id_number_cipher,
                  p.is_party_member, m.relation
           FROM household_membership m JOIN person p ON p.id = m.person
           WHERE m.household = {} AND m.valid_to IS NULL
           ORDER BY (m.relation = '户主') DESC, p.birth_date""",
        household_id,
    )
    h = head[0]
    return HouseholdOut(
        id=h["id"],
        code=h["code"],
        address=h["address"],
        township=Ref(id=h["township_id"], code=h["township_code"], name=h["township_name"]),
        village=Ref(id=h["village_id"], code=h["village_code"], name=h["village_name"]),
        grid=Ref(id=h["grid_id"], code=h["grid_code"], name=h["grid_name"]),
        party_contact=h["party_contact"],
        members=[
            MemberOut(
                person_id=m["id"],
                name=m["name"],
                relation=m["relation"],
                sex=m["sex"],
                birth_year=m["birth_date"].year,
                id_number=m["id_number_masked"],
                is_party_member=m["is_party_member"],
            )
            for m in members
        ],
    )


async def list_households(
    actor: Actor, *, village_id: int | None, grid_id: int | None, limit: int, offset: int, request_id: str = ""
) -> Page[HouseholdSummary]:
    """Households in the actor's jurisdiction; every household listed gets an access-log row."""
    condition = scope.household_filter_sql(actor)
    if condition is None:
        return Page[HouseholdSummary](items=[], total=0, limit=limit, offset=offset)
    sql_where, args = condition
    clauses = [sql_where]
    if village_id is not None:
        clauses.append("h.village = {}")
        args.append(village_id)
    if grid_id is not None:
        clauses.append("h.grid = {}")
        args.append(grid_id)
    where_sql = " AND ".join(clauses)
    base = f"FROM household h JOIN village v ON v.id = h.village JOIN township t ON t.id = v.township WHERE {where_sql}"
    total = (await fetch(f"SELECT count(*) AS n {base}", *args))[0]["n"]
    rows = await fetch(
        f"""SELECT h.id, h.code, h.address, h.grid AS grid_id, t.id AS township_id, t.county AS county_id,
                   v.id AS village_id,
                   (SELECT p.name FROM household_membership m JOIN person p ON p.id = m.person
                     WHERE m.household = h.id AND m.valid_to IS NULL AND m.relation = '户主') AS head_name,
                   (SELECT count(*) FROM household_membership m
                     WHERE m.household = h.id AND m.valid_to IS NULL) AS member_count
            {base} ORDER BY h.code LIMIT {{}} OFFSET {{}}""",
        *args,
        limit,
        offset,
    )
    await scope.log_reads(
        actor,
        [
            scope.Location(kind=scope.HOUSEHOLD, id=r["id"], county_id=r["county_id"], township_id=r["township_id"],
                           village_id=r["village_id"], grid_id=r["grid_id"], household_id=r["id"])
            for r in rows
        ],
        fields=SUMMARY_FIELDS,
        purpose="registry_list",
        request_id=request_id,
    )
    items = [
        HouseholdSummary(id=r["id"], code=r["code"], address=r["address"], grid_id=r["grid_id"],
                         head_name=r["head_name"], member_count=r["member_count"])
        for r in rows
    ]
    return Page[HouseholdSummary](items=items, total=total, limit=limit, offset=offset)


async def membership_history(actor: Actor, person_id: int, *, request_id: str = "") -> list[MembershipOut]:
    await scope.authorize_read(actor, scope.PERSON, person_id, fields=["membership_history"],
                               purpose="registry_history", request_id=request_id)
    rows = await fetch(
        """SELECT m.household AS household_id, h.code AS household_code, m.relation, m.valid_from,
                  m.valid_to, m.reason
           FROM household_membership m JOIN household h ON h.id = m.household
           WHERE m.person = {} ORDER BY m.valid_from, m.id""",
        person_id,
    )
    return [MembershipOut(**r) for r in rows]


async def residence_history(actor: Actor, household_id: int, *, request_id: str = "") -> list[ResidenceOut]:
    await scope.authorize_read(actor, scope.HOUSEHOLD, household_id, fields=["residence_history"],
                               purpose="registry_history", request_id=request_id)
    rows = await fetch(
        """SELECT r.grid AS grid_id, g.name AS grid_name, r.address, r.valid_from, r.valid_to, r.reason
           FROM household_residence r JOIN grid g ON g.id = r.grid
           WHERE r.household = {} ORDER BY r.valid_from, r.id""",
        household_id,
    )
    return [ResidenceOut(**r) for r in rows]


async def linked_households(actor: Actor, member_id: int, *, request_id: str = "") -> list[LinkedHouseholdOut]:
    """党员联户: the households a party member currently looks after."""
    await scope.authorize_read(actor, scope.PERSON, member_id, fields=["party_links"],
                               purpose="party_links", request_id=request_id)
    rows = await fetch(
        """SELECT l.household AS household_id, h.code AS household_code, l.valid_from AS since,
                  h.village AS village_id, h.grid AS grid_id,
                  (SELECT p.name FROM household_membership m JOIN person p ON p.id = m.person
                    WHERE m.household = h.id AND m.valid_to IS NULL AND m.relation = '户主') AS head_name
           FROM party_member_link l JOIN household h ON h.id = l.household
           WHERE l.member = {} AND l.valid_to IS NULL ORDER BY h.code""",
        member_id,
    )
    return [LinkedHouseholdOut(household_id=r["household_id"], household_code=r["household_code"],
                               head_name=r["head_name"], since=r["since"]) for r in rows]


async def get_organisation(actor: Actor, organisation_id: int) -> OrganisationOut:
    where = await scope.locate(scope.ORGANISATION, organisation_id)
    if where is None or not scope.covers_structure(actor, where):
        raise NotFound()
    row = await Organisation.select().where(Organisation.id == organisation_id).first()
    return OrganisationOut(id=row["id"], name=row["name"], uscc=row["uscc"], kind=row["kind"],
                           township_id=row["township"], legal_representative=row["legal_representative"])


# --- changes with history --------------------------------------------------------------------


async def _standing_changed(*household_ids: int) -> None:
    """After a commit that moved a person or a household: queue the recompute of each household
    touched (the job also re-rolls the village and township it left), as the ledger does after
    its commits. If Redis is down the nightly full recompute catches up."""
    for household_id in sorted(set(household_ids)):
        await jobs.enqueue("recompute_standing", "household", household_id)


def _require_writer(actor: Actor, valid_from: date) -> None:
    if actor.role not in REGISTRY_WRITERS:
        raise PermissionDenied("只有乡镇或县区管理员可以变更户籍信息", "Only township or county admins may change the registry")
    if valid_from > clock.today():
        # The current-state columns change at once, so a change may not take effect in the future.
        raise InvalidInput("生效日期不能晚于今天", "valid_from may not be in the future", code="REGISTRY_FUTURE_DATE")


async def change_membership(actor: Actor, household_id: int, change: MembershipChangeIn,
                            *, request_id: str = "") -> list[MembershipOut]:
    """Move a person into a household from ``valid_from``; the old membership ends the day before."""
    _require_writer(actor, change.valid_from)
    if change.relation not in RELATIONS:
        raise InvalidInput("与户主关系不在允许范围内", "Unknown relation to head of household",
                           code="REGISTRY_RELATION", details={"allowed": list(RELATIONS)})
    household, _ = await scope.authorize_reads(actor, [(scope.HOUSEHOLD, household_id, ["members"]),
                                                       (scope.PERSON, change.person_id, ["household"])],
                                               purpose="registry_change", request_id=request_id)
    async with engine_finder().transaction():
        current = await HouseholdMembership.objects().where(
            (HouseholdMembership.person == change.person_id) & HouseholdMembership.valid_to.is_null()
        ).first()
        if current is not None:
            if current.household == household_id and current.relation == change.relation:
                raise Conflict("该成员已在本户且关系相同", "Person is already in this household with that relation",
                               code="REGISTRY_NO_CHANGE")
            if change.valid_from <= current.valid_from:
                raise InvalidInput("生效日期须晚于现有户籍关系的起始日期", "valid_from must be after the current membership began",
                                   code="REGISTRY_DATE_ORDER", details={"current_from": current.valid_from.isoformat()})
            if current.relation == HEAD and current.household != household_id:
                others = await HouseholdMembership.count().where(
                    (HouseholdMembership.household == current.household)
                    & HouseholdMembership.valid_to.is_null()
                    & (HouseholdMembership.person != change.person_id)
                )
                if others:
                    raise Conflict("户主迁出前须先变更原户户主", "Change the old household's head before moving the head out",
                                   code="REGISTRY_HEAD_LEAVING")
        if change.relation == HEAD:
            head = await HouseholdMembership.exists().where(
                (HouseholdMembership.household == household_id) & HouseholdMembership.valid_to.is_null()
                & (HouseholdMembership.relation == HEAD) & (HouseholdMembership.person != change.person_id)
            )
            if head:
                raise Conflict("该户已有户主", "The household already has a head", code="REGISTRY_HEAD_EXISTS")
        if current is not None:
            await HouseholdMembership.update({HouseholdMembership.valid_to: change.valid_from - timedelta(days=1)}).where(
                HouseholdMembership.id == current.id
            )
        await HouseholdMembership.insert(
            HouseholdMembership(county_id=household.county_id, person=change.person_id, household=household_id,
                                relation=change.relation, valid_from=change.valid_from, reason=change.reason)
        )
    await _standing_changed(household_id, *([current.household] if current is not None else []))
    return await membership_history(actor, change.person_id, request_id=request_id)


async def change_residence(actor: Actor, household_id: int, change: ResidenceChangeIn,
                           *, request_id: str = "") -> list[ResidenceOut]:
    """Record that a household lives in another grid from ``valid_from`` (history kept)."""
    _require_writer(actor, change.valid_from)
    household = await scope.authorize_write(actor, scope.HOUSEHOLD, household_id)
    target = await scope.locate(scope.GRID, change.grid_id)
    if target is None or not scope.covers_structure(actor, target):
        raise NotFound("目标网格不存在或不在管辖范围内", "Target grid not found in your jurisdiction",
                       code="REGISTRY_GRID_NOT_FOUND")
    await scope.log_reads(actor, [household], fields=["residence"], purpose="registry_change", request_id=request_id)
    async with engine_finder().transaction():
        current = await HouseholdResidence.objects().where(
            (HouseholdResidence.household == household_id) & HouseholdResidence.valid_to.is_null()
        ).first()
        if current is not None:
            if change.valid_from <= current.valid_from:
                raise InvalidInput("生效日期须晚于现居住地的起始日期", "valid_from must be after the current residence began",
                                   code="REGISTRY_DATE_ORDER", details={"current_from": current.valid_from.isoformat()})
            await HouseholdResidence.update({HouseholdResidence.valid_to: change.valid_from - timedelta(days=1)}).where(
                HouseholdResidence.id == current.id
            )
        await HouseholdResidence.insert(
            HouseholdResidence(county_id=household.county_id, household=household_id, grid=change.grid_id,
                               address=change.address, valid_from=change.valid_from, reason=change.reason)
        )
        await Household.update(
            {Household.grid: change.grid_id, Household.village: target.village_id, Household.address: change.address}
        ).where(Household.id == household_id)
    await _standing_changed(household_id)
    return await residence_history(actor, household_id, request_id=request_id)
