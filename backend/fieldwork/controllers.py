"""Party-activity endpoints (党建+网格+信用): record an activity once with its attendees (one ledger
event each), and see it."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from backend.auth.guards import require_roles
from backend.auth.roles import Role
from backend.errors import NotFound
from backend.fieldwork import patrols, services, work
from backend.fieldwork.schemas import (PartyActivityIn, PartyActivityOut, PartyActivityResult, PatrolReportIn,
                                       PatrolReportOut, PatrolReportResult, WorkReportOut)
from backend.openapi import errors, images
from backend.params import AuthRequest, IntId


class PartyActivityController(Controller):
    path = "/api/v1/party-activities"
    tags = ["fieldwork 党建网格"]

    @post("/", operation_id="recordPartyActivity", summary="登记党组织活动及参加人员 · Record a party activity",
          status_code=HTTP_200_OK, guards=[require_roles(*services.RECORDERS)],
          responses=errors(NotFound, services.KEY_CONFLICT, services.NOT_ACTIVITY_ITEM, services.FUTURE,
                           services.PHOTO_UNKNOWN))
    async def record(self, request: AuthRequest, data: JSONBody[PartyActivityIn]) -> PartyActivityResult:
        """Once per idempotency key; one event per attendee (results per attendee: created, replayed or the
        ledger's error, e.g. 404 for a person outside your grids). Re-post with more attendees to add late ones."""
        return await services.record_activity(request.user, data)

    @get("/{activity_id:int}", operation_id="getPartyActivity", summary="党组织活动 · A party activity",
         guards=[require_roles(*services.READERS)], responses=errors(NotFound))
    async def get_activity(self, request: AuthRequest, activity_id: IntId) -> PartyActivityOut:
        """The recorder's own, or one of a branch in an admin's township/county; otherwise 404."""
        return await services.get_activity(request.user, activity_id)


SVG = "image/svg+xml"
WORK_READERS = require_roles(Role.GRID_WORKER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
RangeFrom = Annotated[str | None, QueryParameter(name="from",
                                                 description="YYYY-MM-DD, recorded on or after (default: 1 January)")]
RangeTo = Annotated[str | None, QueryParameter(name="to", description="YYYY-MM-DD, recorded on or before (default: today)")]


class GridWorkerWorkController(Controller):
    path = "/api/v1/grid-worker-work"
    tags = ["fieldwork 党建网格"]

    @get("/", operation_id="gridWorkerWork", summary="网格员工作量 · Each grid worker's own work",
         guards=[WORK_READERS], responses=errors(work.bad_range()))
    async def report_json(self, request: AuthRequest, date_from: RangeFrom = None,
                          date_to: RangeTo = None) -> WorkReportOut:
        """Per grid worker (a township's, the county's; a grid worker: their own row): events logged, reviews passed
        and rejected, late entries, objections upheld against their entries, party activities recorded."""
        start, end = work.parse_range(date_from, date_to)
        return await work.work_report(request.user, start, end)

    @get("/chart.svg", operation_id="gridWorkerWorkChart", summary="网格员工作量图 · Grid workers' work chart (SVG)",
         guards=[WORK_READERS], media_type=SVG, responses=errors(work.bad_range()))
    async def report_svg(self, request: AuthRequest, date_from: RangeFrom = None,
                         date_to: RangeTo = None) -> Response[str]:
        """The same numbers as a chart (SVG, no outside resources)."""
        start, end = work.parse_range(date_from, date_to)
        return Response(await work.work_chart(request.user, start, end), media_type=SVG)

    @get("/table.xlsx", operation_id="gridWorkerWorkExcel", summary="导出网格员工作量（Excel） · Grid workers' work as Excel",
         guards=[WORK_READERS], media_type=work.XLSX, opt=images(work.XLSX),
         responses=errors(work.bad_range()))
    async def report_xlsx(self, request: AuthRequest, date_from: RangeFrom = None,
                          date_to: RangeTo = None) -> Response[bytes]:
        """A title row, then one row per grid worker (usernames as text)."""
        start, end = work.parse_range(date_from, date_to)
        return Response(await work.work_workbook(request.user, start, end), media_type=work.XLSX,
                        headers={"Content-Disposition": f'attachment; filename="grid-worker-work-{start}-{end}.xlsx"',
                                 "Cache-Control": "no-store"})


class PatrolReportController(Controller):
    path = "/api/v1/patrol-reports"
    tags = ["fieldwork 党建网格"]

    @post("/", operation_id="filePatrolReport", summary="提交网格巡查报告 · File a patrol report",
          status_code=HTTP_200_OK, guards=[require_roles(Role.GRID_WORKER)],
          responses=errors(NotFound, patrols.KEY_CONFLICT, patrols.FUTURE, patrols.PHOTO_UNKNOWN))
    async def file(self, request: AuthRequest, data: JSONBody[PatrolReportIn]) -> PatrolReportResult:
        """Once per idempotency key, for one of your grids; each finding is a credit event (results per finding,
        as ``/events:batch``: negative items wait for review as the catalogue says)."""
        return await patrols.file_report(request.user, data)

    @get("/{patrol_report_id:int}", operation_id="getPatrolReport", summary="网格巡查报告 · A patrol report",
         guards=[require_roles(Role.GRID_WORKER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)], responses=errors(NotFound))
    async def get_report(self, request: AuthRequest, patrol_report_id: IntId) -> PatrolReportOut:
        """The worker's own report, or one of a grid in an admin's township/county; otherwise 404."""
        return await patrols.get_report(request.user, patrol_report_id)
