"""Ratings endpoints: periods and approval (admins), objections (villagers), standing views, charts."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from backend.auth.guards import PEOPLE_READERS, require_roles
from backend.auth.roles import Role
from backend.body_limits import BULK_JSON_BODY
from backend.ratings import periods, views
from backend.ratings.recompute import county_recompute
from backend.ratings.schemas import (
    ApprovalIn,
    ApprovalOut,
    AreaDetailOut,
    AreaStandingOut,
    HouseholdRatingOut,
    ObjectionIn,
    ObjectionOut,
    PeriodIn,
    PeriodOut,
    PeriodPreviewOut,
    ProposalOut,
    RecomputeOut,
    ReproposeIn,
    ResolveIn,
)
from backend.params import AsOf, AuthRequest, BigId, IntId, Limit, Offset, OptionalIntId, as_of_date
from backend.requests import request_id
from backend.schemas import DEFAULT_PAGE_SIZE, Page
from backend.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.openapi import AS_OF_INVALID, NO_CATALOGUE, errors

ADMINS = require_roles(Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
COUNTY = require_roles(Role.COUNTY_ADMIN)
OBJECTION_READERS = require_roles(Role.VILLAGER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
SVG = "image/svg+xml"

# Documented answers (the codes backend.ratings.periods raises).
PERIOD_EXISTS = Conflict("本县已有该编号的评定周期", "My county already has a period with this code",
                         code="RATINGS_PERIOD_EXISTS")
PERIOD_CLOSED = Conflict("该周期已结束", "Period already closed", code="RATINGS_PERIOD_CLOSED")
PERIOD_NOT_ENDED = Conflict("评定周期尚未结束，不能结束评定；可先预览", "The period has not ended yet; preview it instead",
                            code="RATINGS_PERIOD_NOT_ENDED")
PROPOSAL_NOT_FOUND = NotFound("例外中的评定建议不存在或不在管辖范围内",
                              "Some exceptions are not open proposals in your jurisdiction",
                              code="RATINGS_PROPOSAL_NOT_FOUND")
NOT_RETURNED = Conflict("该评定建议未被退回", "The proposal has not been returned", code="RATINGS_NOT_RETURNED")
OBJECTION_RESOLVED = Conflict("该异议已处理", "Objection already resolved", code="RATINGS_OBJECTION_RESOLVED")
NOT_DISPUTED = Conflict("该评定当前不处于异议状态", "The rating is not disputed", code="RATINGS_NOT_DISPUTED")
NOT_IN_PUBLICITY = Conflict("只能在公示期内提出异议", "Objections are possible only during publicity",
                            code="RATINGS_NOT_IN_PUBLICITY")
BAD_GRADE = InvalidInput("等级不在允许范围内", "Unknown grade, or upholding without the corrected grade",
                         code="RATINGS_GRADE")


class RatingPeriodController(Controller):
    path = "/api/v1/ratings"
    tags = ["ratings 评定"]
    guards = [ADMINS]

    @get("/periods", operation_id="listRatingPeriods", summary="评定周期列表 · Rating periods")
    async def list_periods(self, request: AuthRequest) -> list[PeriodOut]:
        """Rating periods with proposal counts per status (in my jurisdiction)."""
        return await periods.list_periods(request.user)

    @post("/periods", operation_id="createRatingPeriod",
          summary="新建评定周期 · Open a rating period", guards=[COUNTY], status_code=HTTP_201_CREATED,
          responses=errors(PERIOD_EXISTS, NO_CATALOGUE))
    async def create(self, request: AuthRequest, data: JSONBody[PeriodIn]) -> PeriodOut:
        """Open a rating period (county admins); its code is unique within my county."""
        return await periods.create_period(request.user, data)

    @post("/periods/{period_id:int}/preview", operation_id="previewRatingPeriod",
          summary="预览评定结果 · Preview closing a period", guards=[COUNTY],
          responses=errors(NotFound, PERIOD_CLOSED, NO_CATALOGUE),
          status_code=HTTP_200_OK)
    async def preview(self, request: AuthRequest, period_id: IntId) -> PeriodPreviewOut:
        """Dry run of closing: counts and grade mix as of the period's end, per township; nothing is written."""
        return await periods.preview_period(request.user, period_id)

    @post("/periods/{period_id:int}/close", operation_id="closeRatingPeriod",
          summary="结束评定周期并生成评定建议 · Close a period and propose ratings", guards=[COUNTY], status_code=HTTP_200_OK,
          responses=errors(NotFound, PERIOD_NOT_ENDED, PERIOD_CLOSED, NO_CATALOGUE))
    async def close(self, request: AuthRequest, period_id: IntId) -> PeriodOut:
        """Close an ended period: every household, village and township is rated as of its end and proposed."""
        return await periods.close_period(request.user, period_id)

    @get("/periods/{period_id:int}/proposals", operation_id="listRatingProposals",
         summary="评定建议列表 · Proposals of a period",
         responses=errors(NotFound))
    async def proposals(
        self,
        request: AuthRequest,
        period_id: IntId,
        level: Annotated[str | None, Parameter(pattern="^(household|village|township)$")] = None,
        village_id: OptionalIntId = None,
        status: Annotated[str | None, Parameter(max_length=16)] = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        offset: Offset = 0,
    ) -> Page[ProposalOut]:
        """Proposals in my jurisdiction, with the computed grade, any change and its reason, and the explanation."""
        return await periods.list_proposals(request.user, period_id, level=level, village_id=village_id,
                                            status=status, limit=limit, offset=offset, request_id=request_id(request))

    @post("/periods/{period_id:int}/approvals", operation_id="approveRatings",
          summary="批量审批评定建议 · Approve proposals in bulk", status_code=HTTP_200_OK,
          responses=errors(PermissionDenied, NotFound, PROPOSAL_NOT_FOUND, PERIOD_CLOSED, BAD_GRADE),
          request_max_body_size=BULK_JSON_BODY)
    async def approve(self, request: AuthRequest, period_id: IntId, data: JSONBody[ApprovalIn]) -> ApprovalOut:
        """Approve all open proposals of a level in bulk, with exceptions (return, or change with a reason)."""
        return await periods.approve(request.user, period_id, data)

    @post("/proposals/{proposal_id:int}/repropose", operation_id="reproposeRating",
          summary="重新提交退回的评定 · Re-propose a returned rating", status_code=HTTP_200_OK,
          responses=errors(NotFound, NOT_RETURNED, BAD_GRADE))
    async def repropose(self, request: AuthRequest, proposal_id: BigId, data: JSONBody[ReproposeIn]) -> ProposalOut:
        """Send a returned proposal back for approval, with a grade (a change needs a reason)."""
        return await periods.repropose(request.user, proposal_id, data)

    @post("/objections/{objection_id:int}/resolve", operation_id="resolveRatingObjection",
          summary="处理异议 · Decide an objection", status_code=HTTP_200_OK,
          responses=errors(NotFound, OBJECTION_RESOLVED, NOT_DISPUTED, BAD_GRADE))
    async def resolve(self, request: AuthRequest, objection_id: BigId, data: JSONBody[ResolveIn]) -> ObjectionOut:
        """Decide an objection with written reasons: uphold (grade corrected, publicised afresh) or dismiss."""
        return await periods.resolve_objection(request.user, objection_id, data, request_id=request_id(request))

    @post("/finalize", operation_id="finalizeRatings",
          summary="公示期满的评定生效 · Make ended ratings effective", guards=[COUNTY], status_code=HTTP_200_OK)
    async def finalize(self, request: AuthRequest) -> dict[str, int]:
        """Make my county's ratings effective whose publicity ended with no open objection (the worker does all daily)."""
        return {"effective": await periods.finalize(actor=request.user)}

    @post("/recompute", operation_id="recomputeStanding",
          summary="从台账重算实时评定 · Recompute live standing", guards=[COUNTY], status_code=HTTP_200_OK,
          responses=errors(NotFound))
    async def recompute(self, request: AuthRequest, township_id: OptionalIntId = None) -> RecomputeOut:
        """Recompute my county's (or one township's) live standing from the ledger and report drift."""
        report = await county_recompute(request.user.county_id, township_id=township_id)
        return RecomputeOut(as_of=report.as_of, persons=report.persons, households=report.households,
                            villages=report.villages, townships=report.townships,
                            drifted_households=len(report.drifted_households),
                            drifted_villages=len(report.drifted_villages),
                            drifted_townships=len(report.drifted_townships))


class ObjectionController(Controller):
    path = "/api/v1/ratings"
    tags = ["ratings 评定"]

    @post("/proposals/{proposal_id:int}/objections", operation_id="objectToRating",
          summary="对公示中的评定提出异议 · Object to a publicised rating", status_code=HTTP_201_CREATED,
          responses=errors(NotFound, NOT_IN_PUBLICITY),
          guards=[require_roles(Role.VILLAGER)])
    async def object_to(self, request: AuthRequest, proposal_id: BigId, data: JSONBody[ObjectionIn]) -> ObjectionOut:
        """异议: object to my household's publicised rating; it is held back until decided (≤ 7 working days)."""
        return await periods.object_to(request.user, proposal_id, data, request_id=request_id(request))

    @get("/objections", operation_id="listRatingObjections", summary="异议列表 · Objections", guards=[OBJECTION_READERS])
    async def list_objections(
        self,
        request: AuthRequest,
        status: Annotated[str | None, Parameter(pattern="^(open|upheld|dismissed)$")] = None,
        period_id: OptionalIntId = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        offset: Offset = 0,
    ) -> Page[ObjectionOut]:
        """Objections in my jurisdiction (villagers: my household's) with their deadlines, soonest due first."""
        return await periods.list_objections(request.user, status=status, period_id=period_id, limit=limit,
                                             offset=offset, request_id=request_id(request))

    @get("/objections/{objection_id:int}", operation_id="getRatingObjection",
         summary="异议详情 · One objection", guards=[OBJECTION_READERS],
         responses=errors(NotFound))
    async def get_objection(self, request: AuthRequest, objection_id: BigId) -> ObjectionOut:
        """One objection with its deadlines, decision and written reasons."""
        return await periods.get_objection(request.user, objection_id, request_id=request_id(request))


class StandingController(Controller):
    path = "/api/v1"
    tags = ["ratings 评定"]

    @get("/households/{household_id:int}/rating", operation_id="getHouseholdRating",
         summary="家庭信用等级及解释 · A household's grade, explained", guards=[PEOPLE_READERS],
         responses=errors(NotFound, AS_OF_INVALID, NO_CATALOGUE))
    async def household(self, request: AuthRequest, household_id: IntId, as_of: AsOf = None) -> HouseholdRatingOut:
        """Grade from the ledger as of a day (default today), official ratings, any rating in progress — explained."""
        return await views.household_rating(request.user, household_id, request_id=request_id(request),
                                            as_of=as_of_date(as_of))

    @get("/grids/{grid_id:int}/standing", operation_id="getGridStanding", summary="网格评定概况 · A grid's standing",
         responses=errors(NotFound),
         guards=[require_roles(Role.GRID_WORKER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)])
    async def grid(self, request: AuthRequest, grid_id: IntId) -> AreaDetailOut:
        """网格: the grid's households and grades."""
        return await views.grid_standing(request.user, grid_id, request_id=request_id(request))

    @get("/villages/{village_id:int}/standing", operation_id="getVillageStanding",
         summary="村评定概况（信用村）· A village's standing", guards=[ADMINS],
         responses=errors(NotFound))
    async def village(self, request: AuthRequest, village_id: IntId) -> AreaDetailOut:
        """A village's households and grades, 信用村 status and stars."""
        return await views.village_standing(request.user, village_id, request_id=request_id(request))

    @get("/party-branches/{branch_id:int}/standing", operation_id="getPartyBranchStanding",
         summary="党支部联系户评定 · A party branch's households", guards=[ADMINS],
         responses=errors(NotFound))
    async def branch(self, request: AuthRequest, branch_id: IntId) -> AreaDetailOut:
        """党建+网格: households looked after by the branch's party members."""
        return await views.party_branch_standing(request.user, branch_id, request_id=request_id(request))

    @get("/persons/{person_id:int}/linked-households/standing", operation_id="getLinkedHouseholdsStanding",
         summary="党员联户评定 · A party member's households",
         responses=errors(NotFound),
         guards=[require_roles(Role.GRID_WORKER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)])
    async def linked(self, request: AuthRequest, person_id: IntId) -> AreaDetailOut:
        """党员联户 at a glance: a party member's households and their grades."""
        return await views.linked_standing(request.user, person_id, request_id=request_id(request))

    @get("/townships/{township_id:int}/rankings", operation_id="getTownshipRankings",
         summary="乡镇内排名 · Rankings in a township", guards=[ADMINS],
         responses=errors(NotFound))
    async def rankings(
        self, request: AuthRequest, township_id: IntId,
        by: Annotated[str, Parameter(pattern="^(village|grid)$")] = "village",
    ) -> list[AreaStandingOut]:
        """Villages or grids of a township ranked by share of credit households."""
        return await views.rankings(request.user, township_id, by)

    @get("/townships/{township_id:int}/charts/grade-distribution.svg", operation_id="chartTownshipGrades",
         summary="乡镇等级分布图 · Township grade distribution (SVG)",
         responses=errors(NotFound),
         guards=[ADMINS], media_type=SVG)
    async def distribution_chart(self, request: AuthRequest, township_id: IntId) -> Response[str]:
        """Chart: household grade distribution per village (SVG)."""
        return Response(await views.township_distribution_svg(request.user, township_id), media_type=SVG)

    @get("/townships/{township_id:int}/charts/trend.svg", operation_id="chartTownshipTrend",
         summary="乡镇信用户趋势图 · Township trend (SVG)",
         responses=errors(NotFound),
         guards=[ADMINS], media_type=SVG)
    async def trend_chart(self, request: AuthRequest, township_id: IntId) -> Response[str]:
        """Chart: share of credit households per village over rating periods, and now (SVG)."""
        return Response(await views.township_trend_svg(request.user, township_id), media_type=SVG)

    @get("/county/charts/grade-distribution.svg", operation_id="chartCountyGrades",
         summary="全县等级分布图 · County grade distribution (SVG)", guards=[COUNTY], media_type=SVG,
         responses=errors(NotFound))
    async def county_chart(self, request: AuthRequest) -> Response[str]:
        """Chart: household grade distribution per township (SVG)."""
        return Response(await views.county_distribution_svg(request.user), media_type=SVG)
