"""Credit-repair endpoints (信用修复, art. 45): what a repair needs, apply (villagers in the app, grid
workers on paper), supplement documents, see, withdraw, decide (the recording township, the county)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from backend.auth.guards import require_roles
from backend.auth.roles import Role
from backend.errors import NotFound
from backend.params import AuthRequest, BigId, Limit, Offset
from backend.openapi import errors
from backend.repair import services
from backend.repair.schemas import (PaperRepairIn, RepairDecisionIn, RepairFileIn, RepairOut, RequirementsOut,
                                    SupplementIn)
from backend.requests import request_id
from backend.schemas import DEFAULT_PAGE_SIZE, Page

ADMINS = require_roles(Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
READERS = require_roles(Role.VILLAGER, Role.GRID_WORKER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
FILING_ERRORS = (NotFound, services.NOT_ACCEPTED, services.ALREADY_PENDING, services.COMMITMENT_UNUSABLE,
                 services.CORRECTED_ON_INVALID, services.EVIDENCE_UNKNOWN)


class RepairController(Controller):
    path = "/api/v1/repairs"
    tags = ["repair 信用修复"]

    @get("/requirements", operation_id="repairRequirements", summary="信用修复须知 · What repairing an entry needs",
         guards=[READERS], responses=errors(NotFound))
    async def requirements(self, request: AuthRequest, entry_id: BigId) -> RequirementsOut:
        """一次性告知: every reason the entry cannot be repaired now, and per route the documents and the replacement."""
        return await services.requirements(request.user, entry_id, request_id=request_id(request))

    @post("/", operation_id="fileRepair", summary="申请信用修复 · Apply to repair an entry", status_code=HTTP_201_CREATED,
          guards=[require_roles(Role.VILLAGER)], responses=errors(*FILING_ERRORS, services.NOT_SUBJECT))
    async def file(self, request: AuthRequest, data: JSONBody[RepairFileIn]) -> RepairOut:
        """My own negative entry, or as head of household one of my household's; missing documents are all listed."""
        return await services.file_repair(request.user, data, request_id=request_id(request))

    @post("/paper", operation_id="fileRepairOnPaper", summary="代录纸质信用修复申请 · Capture a signed paper application",
          status_code=HTTP_201_CREATED, guards=[require_roles(Role.GRID_WORKER)],
          responses=errors(*FILING_ERRORS, services.SIGNED_ON_FUTURE))
    async def file_paper(self, request: AuthRequest, data: JSONBody[PaperRepairIn]) -> RepairOut:
        """A grid worker captures a signed application (their own photo of it, and the documents) for a subject in their grids."""
        return await services.file_paper(request.user, data)

    @get("/", operation_id="listRepairs", summary="信用修复申请列表 · Repair applications", guards=[READERS])
    async def list_repairs(
        self,
        request: AuthRequest,
        status: Annotated[str | None, Parameter(pattern="^(incomplete|open|approved|refused|withdrawn)$")] = None,
        due: Annotated[str | None, Parameter(pattern="^(due_soon|overdue|escalated)$",
                                             description="due_soon: the township's warning queue; escalated: the "
                                                         "county's queue of overdue applications")] = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        offset: Offset = 0,
    ) -> Page[RepairOut]:
        """Applications I may see (villagers: mine and my household's), pending first, soonest deadline first."""
        return await services.list_repairs(request.user, status=status, due=due, limit=limit, offset=offset,
                                           request_id=request_id(request))

    @get("/{repair_id:int}", operation_id="getRepair", summary="信用修复申请详情 · One repair application",
         guards=[READERS], responses=errors(NotFound))
    async def get_repair(self, request: AuthRequest, repair_id: BigId) -> RepairOut:
        """One application: its documents, what is missing, the deadline, the decision and its written reasons."""
        return await services.get_repair(request.user, repair_id, request_id=request_id(request))

    @post("/{repair_id:int}/documents", operation_id="supplementRepair", summary="补正信用修复材料 · Add documents",
          status_code=HTTP_200_OK, guards=[require_roles(Role.GRID_WORKER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)],
          responses=errors(NotFound, services.DECIDED, services.ALREADY_COMPLETE, services.COMMITMENT_UNUSABLE,
                           services.EVIDENCE_UNKNOWN))
    async def supplement(self, request: AuthRequest, repair_id: BigId, data: JSONBody[SupplementIn]) -> RepairOut:
        """The subject's grid worker or the recording township adds documents; complete, the deadline starts."""
        return await services.supplement(request.user, repair_id, data, request_id=request_id(request))

    @post("/{repair_id:int}/withdraw", operation_id="withdrawRepair", summary="撤回信用修复申请 · Withdraw",
          status_code=HTTP_200_OK, guards=[require_roles(Role.VILLAGER)], responses=errors(NotFound, services.DECIDED))
    async def withdraw(self, request: AuthRequest, repair_id: BigId) -> RepairOut:
        """The applicant withdraws an application not yet decided."""
        return await services.withdraw(request.user, repair_id, request_id=request_id(request))

    @post("/{repair_id:int}/decide", operation_id="decideRepair", summary="作出信用修复决定 · Decide",
          status_code=HTTP_200_OK, guards=[ADMINS], responses=errors(NotFound, services.DECIDED, services.INCOMPLETE))
    async def decide(self, request: AuthRequest, repair_id: BigId, data: JSONBody[RepairDecisionIn]) -> RepairOut:
        """The recording township (or the county) approves — the entry stops counting, the catalogue's replacement
        is recorded — or refuses, with written reasons."""
        return await services.decide(request.user, repair_id, data, request_id=request_id(request))
