"""Entry-objection endpoints (异议, art. 46): file (villagers in the app, grid workers on paper),
see, decide (the recording township, the county), and the on-time report."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import JSONBody, Parameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from backend.auth.guards import require_roles
from backend.auth.roles import Role
from backend.errors import NotFound
from backend.objections import report, services
from backend.objections.schemas import DecisionIn, ObjectionFileIn, ObjectionOut, OnTimeReportOut, PaperObjectionIn
from backend.openapi import errors, images
from backend.params import AuthRequest, BigId, Limit, Offset
from backend.requests import request_id
from backend.schemas import DEFAULT_PAGE_SIZE, Page

ADMINS = require_roles(Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
READERS = require_roles(Role.VILLAGER, Role.GRID_WORKER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
SVG = "image/svg+xml"
RangeFrom = Annotated[str | None, QueryParameter(name="from", description="YYYY-MM-DD, filed on or after (default: 1 January)")]
RangeTo = Annotated[str | None, QueryParameter(name="to", description="YYYY-MM-DD, filed on or before (default: today)")]



class EntryObjectionController(Controller):
    path = "/api/v1/entry-objections"
    tags = ["objections 异议"]

    @post("/", operation_id="fileEntryObjection", summary="对积分记录提出异议 · Object to a ledger entry",
          status_code=HTTP_201_CREATED, guards=[require_roles(Role.VILLAGER)],
          responses=errors(NotFound, services.ALREADY_OPEN, services.NOT_COUNTING, services.NOT_SUBJECT))
    async def file(self, request: AuthRequest, data: JSONBody[ObjectionFileIn]) -> ObjectionOut:
        """异议: my own entry, or as head of household one of my household's; it stops counting at once until decided."""
        return await services.file_objection(request.user, data, request_id=request_id(request))

    @post("/paper", operation_id="fileEntryObjectionOnPaper",
          summary="代录纸质异议申请 · Capture a signed paper objection", status_code=HTTP_201_CREATED,
          guards=[require_roles(Role.GRID_WORKER)],
          responses=errors(NotFound, services.ALREADY_OPEN, services.NOT_COUNTING, services.EVIDENCE_UNKNOWN,
                           services.SIGNED_ON_FUTURE))
    async def file_paper(self, request: AuthRequest, data: JSONBody[PaperObjectionIn]) -> ObjectionOut:
        """A grid worker captures a signed objection form (their own photo of it) for a subject in their grids."""
        return await services.file_paper(request.user, data)

    @get("/", operation_id="listEntryObjections", summary="积分记录异议列表 · Entry objections", guards=[READERS])
    async def list_objections(
        self,
        request: AuthRequest,
        status: Annotated[str | None, Parameter(pattern="^(open|upheld|refused)$")] = None,
        due: Annotated[str | None, Parameter(pattern="^(open|due_soon|overdue|escalated)$",
                                             description="due_soon: the township's warning queue; escalated: "
                                                         "the county's queue of overdue cases")] = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        offset: Offset = 0,
    ) -> Page[ObjectionOut]:
        """Objections I may see (villagers: mine and my household's), soonest deadline first."""
        return await services.list_objections(request.user, status=status, due=due, limit=limit, offset=offset,
                                              request_id=request_id(request))

    @get("/{entry_objection_id:int}", operation_id="getEntryObjection", summary="积分记录异议详情 · One entry objection",
         guards=[READERS], responses=errors(NotFound))
    async def get_objection(self, request: AuthRequest, entry_objection_id: BigId) -> ObjectionOut:
        """One objection with its deadlines, the decision, its written reasons and any correction."""
        return await services.get_objection(request.user, entry_objection_id, request_id=request_id(request))

    @post("/{entry_objection_id:int}/decide", operation_id="decideEntryObjection",
          summary="处理积分记录异议 · Decide an entry objection", status_code=HTTP_200_OK, guards=[ADMINS],
          responses=errors(NotFound, services.DECIDED))
    async def decide(self, request: AuthRequest, entry_objection_id: BigId, data: JSONBody[DecisionIn]) -> ObjectionOut:
        """The recording township (or the county) upholds — a correcting entry — or refuses, with written reasons."""
        return await services.decide(request.user, entry_objection_id, data, request_id=request_id(request))

    @get("/report", operation_id="entryObjectionReport", summary="异议按期办结率 · On-time decisions per township",
         guards=[ADMINS], responses=errors(report.bad_range()))
    async def report_json(self, request: AuthRequest, date_from: RangeFrom = None,
                          date_to: RangeTo = None) -> OnTimeReportOut:
        """Per township: filed, decided, decided by the deadline, open and overdue — for objections filed in the range."""
        start, end = report.parse_range(date_from, date_to)
        return await report.on_time_report(request.user, start, end)

    @get("/report.svg", operation_id="entryObjectionReportChart",
         summary="异议按期办结率图 · On-time decisions chart (SVG)", guards=[ADMINS], media_type=SVG,
         responses=errors(report.bad_range()))
    async def report_svg(self, request: AuthRequest, date_from: RangeFrom = None,
                         date_to: RangeTo = None) -> Response[str]:
        """Chart: each township's on-time share by month of filing (SVG, no outside resources)."""
        start, end = report.parse_range(date_from, date_to)
        return Response(await report.on_time_chart(request.user, start, end), media_type=SVG)

    @get("/report.xlsx", operation_id="entryObjectionReportExcel",
         summary="导出异议按期办结率（Excel） · On-time decisions as Excel", guards=[ADMINS],
         media_type=report.XLSX, opt=images(report.XLSX), responses=errors(report.bad_range()))
    async def report_xlsx(self, request: AuthRequest, date_from: RangeFrom = None,
                          date_to: RangeTo = None) -> Response[bytes]:
        """The report as .xlsx: a title row, then one row per township (codes as text)."""
        start, end = report.parse_range(date_from, date_to)
        content = await report.on_time_workbook(request.user, start, end)
        return Response(content, media_type=report.XLSX,
                        headers={"Content-Disposition": f'attachment; filename="objections-on-time-{start}-{end}.xlsx"',
                                 "Cache-Control": "no-store"})
