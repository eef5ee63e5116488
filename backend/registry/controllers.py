"""Registry endpoints. Controllers translate HTTP ↔ service calls only."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import JSONBody
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK

from backend.auth.guards import PEOPLE_READERS, REGISTRY_WRITERS, STRUCTURE_READERS
from backend.registry import services
from backend.registry.schemas import (
    GridOut,
    HouseholdOut,
    HouseholdSummary,
    LinkedHouseholdOut,
    MembershipChangeIn,
    MembershipOut,
    OrganisationOut,
    PartyBranchOut,
    PersonLookupIn,
    PersonOut,
    ResidenceChangeIn,
    ResidenceOut,
    TownshipOut,
    VillageOut,
)
from backend.params import AuthRequest, IntId, Limit, Offset, OptionalIntId
from backend.requests import request_id
from backend.schemas import DEFAULT_PAGE_SIZE, Page



class StructureController(Controller):
    path = "/api/v1"
    tags = ["registry 区划"]
    guards = [STRUCTURE_READERS]

    @get("/townships", operation_id="listTownships")
    async def townships(self, request: AuthRequest) -> list[TownshipOut]:
        """Townships (乡镇/街道) in the caller's jurisdiction."""
        return await services.list_townships(request.user)

    @get("/townships/{township_id:int}/villages", operation_id="listVillages")
    async def villages(self, request: AuthRequest, township_id: IntId) -> list[VillageOut]:
        """Villages (村/社区) of a township."""
        return await services.list_villages(request.user, township_id)

    @get("/villages/{village_id:int}/grids", operation_id="listGrids")
    async def grids(self, request: AuthRequest, village_id: IntId) -> list[GridOut]:
        """Grids (网格) of a village."""
        return await services.list_grids(request.user, village_id)

    @get("/villages/{village_id:int}/party-branches", operation_id="listPartyBranches")
    async def party_branches(self, request: AuthRequest, village_id: IntId) -> list[PartyBranchOut]:
        """Party branches (党支部) of a village with member counts."""
        return await services.list_party_branches(request.user, village_id)

    @get("/organisations/{organisation_id:int}", operation_id="getOrganisation")
    async def organisation(self, request: AuthRequest, organisation_id: IntId) -> OrganisationOut:
        """An organisation (employer, cooperative) registered in the caller's jurisdiction."""
        return await services.get_organisation(request.user, organisation_id)


class PeopleController(Controller):
    path = "/api/v1"
    tags = ["registry 户籍"]
    guards = [PEOPLE_READERS]

    @get("/households", operation_id="listHouseholds")
    async def households(
        self,
        request: AuthRequest,
        village_id: OptionalIntId = None,
        grid_id: OptionalIntId = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        offset: Offset = 0,
    ) -> Page[HouseholdSummary]:
        """Households in the caller's jurisdiction (each one listed is access-logged)."""
        return await services.list_households(request.user, village_id=village_id, grid_id=grid_id, limit=limit,
                                              offset=offset, request_id=request_id(request))

    @get("/households/{household_id:int}", operation_id="getHousehold")
    async def household(self, request: AuthRequest, household_id: IntId) -> HouseholdOut:
        """A household with its current members (ID numbers masked)."""
        return await services.get_household(request.user, household_id, request_id=request_id(request))

    @get("/households/{household_id:int}/residence-history", operation_id="getResidenceHistory")
    async def residence_history(self, request: AuthRequest, household_id: IntId) -> list[ResidenceOut]:
        """Where the household has lived, with effective dates."""
        return await services.residence_history(request.user, household_id, request_id=request_id(request))

    @get("/persons/{person_id:int}", operation_id="getPerson")
    async def person(
        self,
        request: AuthRequest,
        person_id: IntId,
        reveal: Annotated[bool, Parameter(description="ask for the full ID number and phone (admins; own record)")] = False,
    ) -> PersonOut:
        """A person; identifiers masked unless revealed by a role allowed to (and logged as such)."""
        return await services.get_person(request.user, person_id, reveal=reveal, request_id=request_id(request))

    @post("/persons:lookup", operation_id="lookupPerson", status_code=HTTP_200_OK)
    async def lookup(self, request: AuthRequest, data: JSONBody[PersonLookupIn]) -> PersonOut:
        """Find a person by resident ID number (POST so the number stays out of URLs and logs)."""
        return await services.lookup_person(request.user, data.id_number, request_id=request_id(request))

    @get("/persons/{person_id:int}/memberships", operation_id="getMembershipHistory")
    async def memberships(self, request: AuthRequest, person_id: IntId) -> list[MembershipOut]:
        """The person's household memberships over time."""
        return await services.membership_history(request.user, person_id, request_id=request_id(request))

    @get("/persons/{person_id:int}/linked-households", operation_id="getLinkedHouseholds")
    async def linked(self, request: AuthRequest, person_id: IntId) -> list[LinkedHouseholdOut]:
        """党员联户: households this party member looks after."""
        return await services.linked_households(request.user, person_id, request_id=request_id(request))


class RegistryChangeController(Controller):
    path = "/api/v1/households"
    tags = ["registry 户籍"]
    guards = [REGISTRY_WRITERS]

    @post("/{household_id:int}/members", operation_id="changeMembership", status_code=HTTP_200_OK)
    async def add_member(self, request: AuthRequest, household_id: IntId, data: JSONBody[MembershipChangeIn]) -> list[MembershipOut]:
        """Move a person into this household from a date; the previous membership is closed, not erased."""
        return await services.change_membership(request.user, household_id, data, request_id=request_id(request))

    @post("/{household_id:int}/residence", operation_id="changeResidence", status_code=HTTP_200_OK)
    async def move(self, request: AuthRequest, household_id: IntId, data: JSONBody[ResidenceChangeIn]) -> list[ResidenceOut]:
        """Record the household's move to another grid from a date (history kept)."""
        return await services.change_residence(request.user, household_id, data, request_id=request_id(request))
