"""村规民约积分 endpoints: the county's limits, a village's rule versions (maker-checker), village
points and the scoped points views."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from backend.auth.guards import require_roles
from backend.auth.roles import Role
from backend.errors import NotFound
from backend.openapi import errors
from backend.params import AsOf, AuthRequest, BigId, IntId, OptionalIntId, as_of_date
from backend.requests import request_id
from backend.village_rules import services as s
from backend.village_rules.schemas import (DecisionIn, LimitsIn, LimitsOut, RecordedOut, ReverseIn, RuleVersionIn,
                                           RuleVersionOut, VillageEntryOut, VillagePointsIn, VillagePointsOut)

COUNTY_ADMIN = require_roles(Role.COUNTY_ADMIN)
ADMINS = require_roles(Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
LIMIT_READERS = require_roles(Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN, Role.GRID_WORKER, Role.AUDITOR)
VERSION_READERS = require_roles(Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN, Role.GRID_WORKER, Role.VILLAGER)
RECORDERS = require_roles(Role.GRID_WORKER, Role.TOWNSHIP_ADMIN)
PEOPLE_READERS = require_roles(Role.VILLAGER, Role.GRID_WORKER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)


class VillageRuleLimitsController(Controller):
    path = "/api/v1/village-rule-limits"
    tags = ["village rules 村规民约"]

    @get("/", operation_id="listVillageRuleLimits", summary="村规民约积分县级限额 · County limits for village rules",
         guards=[LIMIT_READERS])
    async def list_limits(self, request: AuthRequest) -> list[LimitsOut]:
        """Every version of my county's limits, the one in force first."""
        return await s.list_limits(request.user)

    @post("/", operation_id="setVillageRuleLimits", summary="设定村规民约积分县级限额 · Set the county limits",
          status_code=HTTP_201_CREATED, guards=[COUNTY_ADMIN], responses=errors(s.LIMITS_INVALID))
    async def set_limits(self, request: AuthRequest, data: JSONBody[LimitsIn]) -> LimitsOut:
        """A new version of the limits (points range, validity, categories, items per village, the grade switch)."""
        return await s.set_limits(request.user, data)


class VillageRuleVersionController(Controller):
    path = "/api/v1/village-rule-versions"
    tags = ["village rules 村规民约"]

    @post("/", operation_id="proposeVillageRules", summary="提出村规民约积分细则 · Propose a village rule set",
          status_code=HTTP_201_CREATED, guards=[require_roles(Role.TOWNSHIP_ADMIN)],
          responses=errors(NotFound, s.RULES_INVALID, s.NO_LIMITS))
    async def propose(self, request: AuthRequest, data: JSONBody[RuleVersionIn]) -> RuleVersionOut:
        """The township admin, for the village committee: checked against the county limits, every problem at once."""
        return await s.propose(request.user, data)

    @get("/", operation_id="listVillageRuleVersions", summary="村规民约积分细则版本 · Village rule versions",
         guards=[VERSION_READERS])
    async def list_versions(
        self, request: AuthRequest, village_id: OptionalIntId = None,
        status: Annotated[str | None, Parameter(pattern="^(proposed|approved|rejected)$")] = None,
    ) -> list[RuleVersionOut]:
        """Admins: every version of their township or county; grid workers and villagers: their villages' approved ones."""
        return await s.list_versions(request.user, village_id=village_id, status=status)

    @get("/{rule_version_id:int}", operation_id="getVillageRuleVersion", summary="一个村规民约积分细则版本 · One version",
         guards=[VERSION_READERS], responses=errors(NotFound))
    async def get_version(self, request: AuthRequest, rule_version_id: BigId) -> RuleVersionOut:
        """One version with its items, canonical JSON and SHA-256."""
        return await s.get_version(request.user, rule_version_id)

    @post("/{rule_version_id:int}/decide", operation_id="decideVillageRuleVersion",
          summary="审核村规民约积分细则 · Approve or reject a version", status_code=HTTP_200_OK, guards=[ADMINS],
          responses=errors(NotFound, s.SELF_APPROVAL, s.DECIDED, s.DAY_TAKEN, s.EFFECTIVE_PAST, s.RULES_INVALID,
                           s.REASON_REQUIRED))
    async def decide(self, request: AuthRequest, rule_version_id: BigId, data: JSONBody[DecisionIn]) -> RuleVersionOut:
        """A second admin (never the proposer) of the township or the county; frozen once decided."""
        return await s.decide(request.user, rule_version_id, data)


class VillagePointsController(Controller):
    path = "/api/v1"
    tags = ["village rules 村规民约"]

    @post("/village-points", operation_id="recordVillagePoints", summary="登记村规民约积分 · Record a village-item event",
          guards=[RECORDERS], responses=errors(NotFound, s.ITEM_OTHER_VILLAGE, s.ITEM_UNKNOWN, s.NEEDS_TOWNSHIP,
                                               s.OCCURRED_FUTURE, s.IDEMPOTENCY_CONFLICT, s.EVIDENCE_UNKNOWN))
    async def record(self, request: AuthRequest, data: JSONBody[VillagePointsIn]) -> Response[RecordedOut]:
        """Once per idempotency key (201; a replay 200); never part of the county ledger."""
        out = await s.record(request.user, data)
        return Response(out, status_code=HTTP_201_CREATED if out.created else HTTP_200_OK)

    @post("/village-points/{village_entry_id:int}/reverse", operation_id="reverseVillagePoints",
          summary="冲正村规民约积分 · Reverse a village entry", status_code=HTTP_201_CREATED, guards=[ADMINS],
          responses=errors(NotFound, s.ALREADY_REVERSED, s.REVERSAL_OF_REVERSAL))
    async def reverse(self, request: AuthRequest, village_entry_id: BigId, data: JSONBody[ReverseIn]) -> VillageEntryOut:
        """A compensating row; the original stays."""
        return await s.reverse(request.user, village_entry_id, data.reason)

    @get("/persons/{person_id:int}/village-points", operation_id="getPersonVillagePoints",
         summary="个人村规民约积分 · A person's village points", guards=[PEOPLE_READERS], responses=errors(NotFound))
    async def person(self, request: AuthRequest, person_id: IntId, as_of: AsOf = None) -> VillagePointsOut:
        """Total in force and every entry, each explained as a village item, as of a day (default today)."""
        return await s.subject_points(request.user, "person", person_id, as_of=as_of_date(as_of),
                                      request_id=request_id(request))

    @get("/households/{household_id:int}/village-points", operation_id="getHouseholdVillagePoints",
         summary="家庭村规民约积分 · A household's village points", guards=[PEOPLE_READERS], responses=errors(NotFound))
    async def household(self, request: AuthRequest, household_id: IntId, as_of: AsOf = None) -> VillagePointsOut:
        """The household's own village entries (members' are on their own pages), as of a day."""
        return await s.subject_points(request.user, "household", household_id, as_of=as_of_date(as_of),
                                      request_id=request_id(request))

    @get("/me/village-points", operation_id="getMyVillagePoints", summary="我的村规民约积分 · My village points",
         guards=[require_roles(Role.VILLAGER)], responses=errors(s.NOT_A_PERSON))
    async def mine(self, request: AuthRequest, as_of: AsOf = None) -> VillagePointsOut:
        """A villager's own village points."""
        return await s.my_points(request.user, as_of=as_of_date(as_of), request_id=request_id(request))
