"""Registry endpoints. Controllers translate HTTP ↔ service calls only."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import JSONBody
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK

from backend.auth.guards import PEOPLE_READERS, REGISTRY_WRITERS, STRUCTURE_READERS
from backend.registry import offline_roster, services
from backend.registry.schemas import (
    RosterOut,
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
from backend.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.openapi import errors
from backend.params import AuthRequest, IntId, Limit, Offset, OptionalIntId
from backend.requests import request_id
from backend.schemas import DEFAULT_PAGE_SIZE, Page

# Documented answers (the codes backend.registry.services and backend.identity raise).
NO_CHANGE = Conflict("该成员已在本户且关系相同", "Person is already in this household with that relation",
                     code="REGISTRY_NO_CHANGE")
HEAD_LEAVING = Conflict("户主迁出前须先变更原户户主", "Change the old household's head before moving the head out",
                        code="REGISTRY_HEAD_LEAVING")
HEAD_EXISTS = Conflict("该户已有户主", "The household already has a head", code="REGISTRY_HEAD_EXISTS")
RELATION = InvalidInput("与户主关系不在允许范围内", "Unknown relation to head of household", code="REGISTRY_RELATION")
DATE_ORDER = InvalidInput("生效日期须晚于现有记录的起始日期", "valid_from must be after the current record began",
                          code="REGISTRY_DATE_ORDER")
FUTURE_DATE = InvalidInput("生效日期不能晚于今天", "valid_from may not be in the future", code="REGISTRY_FUTURE_DATE")
GRID_NOT_FOUND = NotFound("目标网格不存在或不在管辖范围内", "Target grid not found in your jurisdiction",
                          code="REGISTRY_GRID_NOT_FOUND")
ID_NUMBER_ERRORS = [InvalidInput("身份证号格式不正确", "ID number format is wrong", code="ID_NUMBER_FORMAT"),
                    InvalidInput("身份证号校验位不正确", "ID number check digit is wrong", code="ID_NUMBER_CHECK_DIGIT"),
                    InvalidInput("身份证号地区码不正确", "ID number region code is wrong", code="ID_NUMBER_REGION"),
                    InvalidInput("身份证号出生日期不正确", "ID number birth date is wrong", code="ID_NUMBER_BIRTH_DATE")]



class StructureController(Controller):
    path = "/api/v1"
    tags = ["registry 区划"]
    guards = [STRUCTURE_READERS]

    @get("/townships", operation_id="listTownships", summary="乡镇列表 · Townships")
    async def townships(self, request: AuthRequest) -> list[TownshipOut]:
        """Townships (乡镇/街道) in the caller's jurisdiction."""
        return await services.list_townships(request.user)

    @get("/townships/{township_id:int}/villages", operation_id="listVillages",
         summary="乡镇下的村 · Villages of a township",
         responses=errors(NotFound))
    async def villages(self, request: AuthRequest, township_id: IntId) -> list[VillageOut]:
        """Villages (村/社区) of a township."""
        return await services.list_villages(request.user, township_id)

    @get("/villages/{village_id:int}/grids", operation_id="listGrids", summary="村的网格 · Grids of a village",
         responses=errors(NotFound))
    async def grids(self, request: AuthRequest, village_id: IntId) -> list[GridOut]:
        """Grids (网格) of a village."""
        return await services.list_grids(request.user, village_id)

    @get("/villages/{village_id:int}/party-branches", operation_id="listPartyBranches",
         summary="村党支部 · Party branches of a village",
         responses=errors(NotFound))
    async def party_branches(self, request: AuthRequest, village_id: IntId) -> list[PartyBranchOut]:
        """Party branches (党支部) of a village with member counts."""
        return await services.list_party_branches(request.user, village_id)

    @get("/organisations/{organisation_id:int}", operation_id="getOrganisation", summary="组织详情 · An organisation",
         responses=errors(NotFound))
    async def organisation(self, request: AuthRequest, organisation_id: IntId) -> OrganisationOut:
        """An organisation (employer, cooperative) registered in the caller's jurisdiction."""
        return await services.get_organisation(request.user, organisation_id)


class PeopleController(Controller):
    path = "/api/v1"
    tags = ["registry 户籍"]
    guards = [PEOPLE_READERS]

    @get("/me/roster", operation_id="getMyRoster", summary="我的网格名册（离线用） · My grids' roster for the phone",
         responses=errors(offline_roster.GRID_WORKERS_ONLY))
    async def roster(self, request: AuthRequest) -> RosterOut:
        """My grids → households → current members (masked ID numbers), for the H5 app's offline cache;
        grid workers only; every household and person listed is access-logged."""
        return await offline_roster.my_roster(request.user, request_id=request_id(request))

    @get("/households", operation_id="listHouseholds", summary="家庭列表 · Households")
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

    @get("/households/{household_id:int}", operation_id="getHousehold", summary="家庭详情 · A household and its members",
         responses=errors(NotFound))
    async def household(self, request: AuthRequest, household_id: IntId) -> HouseholdOut:
        """A household with its current members (ID numbers masked)."""
        return await services.get_household(request.user, household_id, request_id=request_id(request))

    @get("/households/{household_id:int}/residence-history", operation_id="getResidenceHistory",
         summary="家庭居住地历史 · A household's residence history",
         responses=errors(NotFound))
    async def residence_history(self, request: AuthRequest, household_id: IntId) -> list[ResidenceOut]:
        """Where the household has lived, with effective dates."""
        return await services.residence_history(request.user, household_id, request_id=request_id(request))

    @get("/persons/{person_id:int}", operation_id="getPerson", summary="居民详情 · A person",
         responses=errors(NotFound))
    async def person(
        self,
        request: AuthRequest,
        person_id: IntId,
        reveal: Annotated[bool, Parameter(description="ask for the full ID number and phone (admins; own record)")] = False,
    ) -> PersonOut:
        """A person; identifiers masked unless revealed by a role allowed to (and logged as such)."""
        return await services.get_person(request.user, person_id, reveal=reveal, request_id=request_id(request))

    @post("/persons:lookup", operation_id="lookupPerson",
          summary="按身份证号查找居民 · Look up a person by ID number", status_code=HTTP_200_OK,
          responses=errors(NotFound, *ID_NUMBER_ERRORS))
    async def lookup(self, request: AuthRequest, data: JSONBody[PersonLookupIn]) -> PersonOut:
        """Find a person by resident ID number (POST so the number stays out of URLs and logs)."""
        return await services.lookup_person(request.user, data.id_number, request_id=request_id(request))

    @get("/persons/{person_id:int}/memberships", operation_id="getMembershipHistory",
         summary="居民户籍关系历史 · A person's household memberships",
         responses=errors(NotFound))
    async def memberships(self, request: AuthRequest, person_id: IntId) -> list[MembershipOut]:
        """The person's household memberships over time."""
        return await services.membership_history(request.user, person_id, request_id=request_id(request))

    @get("/persons/{person_id:int}/linked-households", operation_id="getLinkedHouseholds",
         summary="党员联系户 · Households a party member looks after",
         responses=errors(NotFound))
    async def linked(self, request: AuthRequest, person_id: IntId) -> list[LinkedHouseholdOut]:
        """党员联户: households this party member looks after."""
        return await services.linked_households(request.user, person_id, request_id=request_id(request))


class RegistryChangeController(Controller):
    path = "/api/v1/households"
    tags = ["registry 户籍"]
    guards = [REGISTRY_WRITERS]

    @post("/{household_id:int}/members", operation_id="changeMembership",
          summary="变更户籍成员 · Move a person into a household", status_code=HTTP_200_OK,
          responses=errors(PermissionDenied, NotFound, NO_CHANGE, HEAD_LEAVING, HEAD_EXISTS, RELATION, DATE_ORDER, FUTURE_DATE))
    async def add_member(self, request: AuthRequest, household_id: IntId, data: JSONBody[MembershipChangeIn]) -> list[MembershipOut]:
        """Move a person into this household from a date; the previous membership is closed, not erased."""
        return await services.change_membership(request.user, household_id, data, request_id=request_id(request))

    @post("/{household_id:int}/residence", operation_id="changeResidence",
          summary="家庭迁居 · Move a household to another grid", status_code=HTTP_200_OK,
          responses=errors(PermissionDenied, NotFound, GRID_NOT_FOUND, DATE_ORDER, FUTURE_DATE))
    async def move(self, request: AuthRequest, household_id: IntId, data: JSONBody[ResidenceChangeIn]) -> list[ResidenceOut]:
        """Record the household's move to another grid from a date (history kept)."""
        return await services.change_residence(request.user, household_id, data, request_id=request_id(request))
