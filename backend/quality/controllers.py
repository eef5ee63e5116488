"""Data-quality endpoints (数据质量): the six counts, each check's list (JSON, Excel) and the
weekly trend (JSON, SVG) for a township's or the county's admins."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import Parameter

from backend.auth.guards import require_roles
from backend.auth.roles import Role
from backend.errors import NotFound
from backend.openapi import errors, images
from backend.params import AuthRequest, Limit, Offset
from backend.quality import services
from backend.quality.schemas import QualityListOut, QualitySummaryOut, QualityTrendOut
from backend.requests import request_id
from backend.schemas import DEFAULT_PAGE_SIZE
from points_rules import quality as rules

COUNTERS = require_roles(Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN, Role.AUDITOR)
LISTERS = require_roles(Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
SVG = "image/svg+xml"
TownshipId = Annotated[int | None, Parameter(ge=1, le=2**31 - 1, description="county admins: one township only")]
WaitingDays = Annotated[int, Parameter(ge=0, le=rules.MAX_WAITING_DAYS,
                                       description="reviews waiting longer than this many working days")]
LateDays = Annotated[int, Parameter(ge=1, le=366, description="late entries recorded in the last this many days")]
Weeks = Annotated[int, Parameter(ge=1, le=rules.MAX_WEEKS, description="weeks of the trend (the last one: this week so far)")]
Check = Annotated[str, Parameter(pattern="^(" + "|".join(rules.CHECKS) + ")$", description="one of the six checks")]


class QualityController(Controller):
    path = "/api/v1/quality"
    tags = ["quality 数据质量"]

    @get("", operation_id="dataQualitySummary", summary="数据质量概览 · Data-quality counts", guards=[COUNTERS],
         responses=errors(NotFound))
    async def summary(self, request: AuthRequest, township_id: TownshipId = None,
                      waiting_days: WaitingDays = rules.DEFAULT_WAITING_DAYS,
                      late_days: LateDays = rules.DEFAULT_LATE_WINDOW_DAYS) -> QualitySummaryOut:
        """The six checks' counts for my township (county admins and auditors: the county, or one township), each with the link to its list."""
        return await services.summary(request.user, township_id=township_id, n=waiting_days, late_days=late_days)

    @get("/trend", operation_id="dataQualityTrend", summary="数据质量趋势 · Data-quality trend per week",
         guards=[COUNTERS], responses=errors(NotFound))
    async def trend(self, request: AuthRequest, township_id: TownshipId = None,
                    waiting_days: WaitingDays = rules.DEFAULT_WAITING_DAYS,
                    weeks: Weeks = rules.DEFAULT_WEEKS) -> QualityTrendOut:
        """The six counts as they stood at the end of each week (late entries: recorded that week), from the data alone."""
        return await services.trend(request.user, township_id=township_id, n=waiting_days, weeks=weeks)

    @get("/trend.svg", operation_id="dataQualityTrendChart", summary="数据质量趋势图 · Data-quality trend chart (SVG)",
         guards=[COUNTERS], media_type=SVG, responses=errors(NotFound))
    async def trend_svg(self, request: AuthRequest, township_id: TownshipId = None,
                        waiting_days: WaitingDays = rules.DEFAULT_WAITING_DAYS,
                        weeks: Weeks = rules.DEFAULT_WEEKS) -> Response[str]:
        """The same weekly figures as a line chart, one line per check (inline SVG, nothing loaded from elsewhere)."""
        return Response(await services.chart(request.user, township_id=township_id, n=waiting_days, weeks=weeks),
                        media_type=SVG)

    @get("/{check:str}", operation_id="dataQualityList", summary="数据质量清单 · One check's list",
         guards=[LISTERS], responses=errors(NotFound))
    async def listing(self, request: AuthRequest, check: Check, township_id: TownshipId = None,
                      waiting_days: WaitingDays = rules.DEFAULT_WAITING_DAYS,
                      late_days: LateDays = rules.DEFAULT_LATE_WINDOW_DAYS,
                      limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0) -> QualityListOut:
        """One check's rows in my area, each with a link (ID numbers masked); every person or household shown is logged."""
        return await services.listing(request.user, check, township_id=township_id, n=waiting_days,
                                      late_days=late_days, limit=limit, offset=offset, request_id=request_id(request))

    @get("/{check:str}/table.xlsx", operation_id="dataQualityListExcel",
         summary="导出数据质量清单（Excel） · One check's list as Excel", guards=[LISTERS], media_type=services.XLSX,
         opt=images(services.XLSX), responses=errors(NotFound))
    async def listing_xlsx(self, request: AuthRequest, check: Check, township_id: TownshipId = None,
                           waiting_days: WaitingDays = rules.DEFAULT_WAITING_DAYS,
                           late_days: LateDays = rules.DEFAULT_LATE_WINDOW_DAYS) -> Response[bytes]:
        """The same list as an Excel workbook (the township's usual tool); the reads are logged as for the list."""
        content = await services.workbook(request.user, check, township_id=township_id, n=waiting_days,
                                          late_days=late_days, request_id=request_id(request))
        return Response(content, media_type=services.XLSX,
                        headers={"Content-Disposition": f'attachment; filename="quality-{check}.xlsx"'})
