"""Ratings endpoints: periods and approval (admins), objections (villagers), standing views, charts."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
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
from backend.schemas import DEFAULT_PAGE_SIZE, ErrorBody, Page

ADMINS = require_roles(Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
COUNTY = require_roles(Role.COUNTY_ADMIN)
OBJECTION_READERS = require_roles(Role.VILLAGER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
SVG = "image/svg+xml"


def _errors(**by_status: str) -> dict[int, ResponseSpec]:
    """Document error responses (the body every error really has) with their codes."""
    return {int(status.removeprefix("e")): ResponseSpec(data_container=ErrorBody, description=text)
            for status, text in by_status.items()}


NOT_YOURS = "NOT_FOUND: absent, or outside my jurisdiction (the two are indistinguishable)"


class RatingPeriodController(Controller):
    path = "/api/v1/ratings"
    tags = ["ratings 评定"]
    guards = [ADMINS]

    @get("/periods", operation_id="listRatingPeriods")
    async def list_periods(self, request: AuthRequest) -> list[PeriodOut]:
        """Rating periods with proposal counts per status (in my jurisdiction)."""
        return await periods.list_periods(request.user)

    @post("/periods", operation_id="createRatingPeriod", guards=[COUNTY], status_code=HTTP_201_CREATED,
          responses=_errors(e409="RATINGS_PERIOD_EXISTS: my county already has a period with this code",
                            e422="RULES_NO_CATALOGUE: no catalogue version covers the period's end"))
    async def create(self, request: AuthRequest, data: JSONBody[PeriodIn]) -> PeriodOut:
        """Open a rating period (county admins); its code is unique within my county."""
        return await periods.create_period(request.user, data)

    @post("/periods/{period_id:int}/preview", operation_id="previewRatingPeriod", guards=[COUNTY],
          status_code=HTTP_200_OK,
          responses=_errors(e404=NOT_YOURS, e409="RATINGS_PERIOD_CLOSED: already closed (see its proposals)"))
    async def preview(self, request: AuthRequest, period_id: IntId) -> PeriodPreviewOut:
        """Dry run of closing: counts and grade mix as of the period's end, per township; nothing is written."""
        return await periods.preview_period(request.user, period_id)

    @post("/periods/{period_id:int}/close", operation_id="closeRatingPeriod", guards=[COUNTY], status_code=HTTP_200_OK,
          responses=_errors(e404=NOT_YOURS,
                            e409="RATINGS_PERIOD_NOT_ENDED: the period ends today or later (preview it instead); "
                                 "RATINGS_PERIOD_CLOSED: already closed"))
    async def close(self, request: AuthRequest, period_id: IntId) -> PeriodOut:
        """Close an ended period: every household, village and township is rated as of its end and proposed."""
        return await periods.close_period(request.user, period_id)

    @get("/periods/{period_id:int}/proposals", operation_id="listRatingProposals")
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

    @post("/periods/{period_id:int}/approvals", operation_id="approveRatings", status_code=HTTP_200_OK,
          request_max_body_size=BULK_JSON_BODY)
    async def approve(self, request: AuthRequest, period_id: IntId, data: JSONBody[ApprovalIn]) -> ApprovalOut:
        """Approve all open proposals of a level in bulk, with exceptions (return, or change with a reason)."""
        return await periods.approve(request.user, period_id, data)

    @post("/proposals/{proposal_id:int}/repropose", operation_id="reproposeRating", status_code=HTTP_200_OK)
    async def repropose(self, request: AuthRequest, proposal_id: BigId, data: JSONBody[ReproposeIn]) -> ProposalOut:
        """Send a returned proposal back for approval, with a grade (a change needs a reason)."""
        return await periods.repropose(request.user, proposal_id, data)

    @post("/objections/{objection_id:int}/resolve", operation_id="resolveRatingObjection", status_code=HTTP_200_OK,
          responses=_errors(e404=NOT_YOURS, e409="RATINGS_OBJECTION_RESOLVED: already decided",
                            e422="RATINGS_GRADE: upholding needs a valid corrected grade"))
    async def resolve(self, request: AuthRequest, objection_id: BigId, data: JSONBody[ResolveIn]) -> ObjectionOut:
        """Decide an objection with written reasons: uphold (grade corrected, publicised afresh) or dismiss."""
        return await periods.resolve_objection(request.user, objection_id, data, request_id=request_id(request))

    @post("/finalize", operation_id="finalizeRatings", guards=[COUNTY], status_code=HTTP_200_OK)
    async def finalize(self, request: AuthRequest) -> dict[str, int]:
        """Make my county's ratings effective whose publicity ended with no open objection (the worker does all daily)."""
        return {"effective": await periods.finalize(actor=request.user)}

    @post("/recompute", operation_id="recomputeStanding", guards=[COUNTY], status_code=HTTP_200_OK,
          responses=_errors(e404="NOT_FOUND: the township is not in my county"))
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

    @post("/proposals/{proposal_id:int}/objections", operation_id="objectToRating", status_code=HTTP_201_CREATED,
          guards=[require_roles(Role.VILLAGER)],
          responses=_errors(e404=NOT_YOURS, e409="RATINGS_NOT_IN_PUBLICITY: the rating is not in its publicity period"))
    async def object_to(self, request: AuthRequest, proposal_id: BigId, data: JSONBody[ObjectionIn]) -> ObjectionOut:
        """异议: object to my household's publicised rating; it is held back until decided (≤ 7 working days)."""
        return await periods.object_to(request.user, proposal_id, data, request_id=request_id(request))

    @get("/objections", operation_id="listRatingObjections", guards=[OBJECTION_READERS])
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

    @get("/objections/{objection_id:int}", operation_id="getRatingObjection", guards=[OBJECTION_READERS],
         responses=_errors(e404=NOT_YOURS))
    async def get_objection(self, request: AuthRequest, objection_id: BigId) -> ObjectionOut:
        """One objection with its deadlines, decision and written reasons."""
        return await periods.get_objection(request.user, objection_id, request_id=request_id(request))


class StandingController(Controller):
    path = "/api/v1"
    tags = ["ratings 评定"]

    @get("/households/{household_id:int}/rating", operation_id="getHouseholdRating", guards=[PEOPLE_READERS])
    async def household(self, request: AuthRequest, household_id: IntId, as_of: AsOf = None) -> HouseholdRatingOut:
        """Grade from the ledger as of a day (default today), official ratings, any rating in progress — explained."""
        return await views.household_rating(request.user, household_id, request_id=request_id(request),
                                            as_of=as_of_date(as_of))

    @get("/grids/{grid_id:int}/standing", operation_id="getGridStanding",
         guards=[require_roles(Role.GRID_WORKER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)])
    async def grid(self, request: AuthRequest, grid_id: IntId) -> AreaDetailOut:
        """网格: the grid's households and grades."""
        return await views.grid_standing(request.user, grid_id, request_id=request_id(request))

    @get("/villages/{village_id:int}/standing", operation_id="getVillageStanding", guards=[ADMINS])
    async def village(self, request: AuthRequest, village_id: IntId) -> AreaDetailOut:
        """A village's households and grades, 信用村 status and stars."""
        return await views.village_standing(request.user, village_id, request_id=request_id(request))

    @get("/party-branches/{branch_id:int}/standing", operation_id="getPartyBranchStanding", guards=[ADMINS])
    async def branch(self, request: AuthRequest, branch_id: IntId) -> AreaDetailOut:
        """党建+网格: households looked after by the branch's party members."""
        return await views.party_branch_standing(request.user, branch_id, request_id=request_id(request))

    @get("/persons/{person_id:int}/linked-households/standing", operation_id="getLinkedHouseholdsStanding",
         guards=[require_roles(Role.GRID_WORKER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)])
    async def linked(self, request: AuthRequest, person_id: IntId) -> AreaDetailOut:
        """党员联户 at a glance: a party member's households and their grades."""
        return await views.linked_standing(request.user, person_id, request_id=request_id(request))

    @get("/townships/{township_id:int}/rankings", operation_id="getTownshipRankings", guards=[ADMINS])
    async def rankings(
        self, request: AuthRequest, township_id: IntId,
        by: Annotated[str, Parameter(pattern="^(village|grid)$")] = "village",
    ) -> list[AreaStandingOut]:
        """Villages or grids of a township ranked by share of credit households."""
        return await views.rankings(request.user, township_id, by)

    @get("/townships/{township_id:int}/charts/grade-distribution.svg", operation_id="chartTownshipGrades",
         guards=[ADMINS], media_type=SVG)
    async def distribution_chart(self, request: AuthRequest, township_id: IntId) -> Response[str]:
        """Chart: household grade distribution per village (SVG)."""
        return Response(await views.township_distribution_svg(request.user, township_id), media_type=SVG)

    @get("/townships/{township_id:int}/charts/trend.svg", operation_id="chartTownshipTrend",
         guards=[ADMINS], media_type=SVG)
    async def trend_chart(self, request: AuthRequest, township_id: IntId) -> Response[str]:
        """Chart: share of credit households per village over rating periods, and now (SVG)."""
        return Response(await views.township_trend_svg(request.user, township_id), media_type=SVG)

    @get("/county/charts/grade-distribution.svg", operation_id="chartCountyGrades", guards=[COUNTY], media_type=SVG)
    async def county_chart(self, request: AuthRequest) -> Response[str]:
        """Chart: household grade distribution per township (SVG)."""
        return Response(await views.county_distribution_svg(request.user), media_type=SVG)
