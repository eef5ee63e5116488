"""The semi-annual report over HTTP: a county admin asks for a half-year (202, a run); the county's
admins and auditors follow its progress and download it as Excel or as a printable page."""

from __future__ import annotations

from litestar import Controller, MediaType, Response, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from backend.auth.guards import require_roles
from backend.auth.roles import Role
from backend.errors import NotFound, PermissionDenied
from backend.openapi import errors, images
from backend.params import AuthRequest, IntId, Limit, Offset
from backend.reports import render, services
from backend.reports.schemas import ReportIn, ReportRunOut
from backend.schemas import DEFAULT_PAGE_SIZE

ADMIN = require_roles(Role.COUNTY_ADMIN)
READERS = require_roles(Role.COUNTY_ADMIN, Role.AUDITOR)


class SemiAnnualReportController(Controller):
    path = "/api/v1/reports/semi-annual"
    tags = ["reports 半年报"]
    guards = [READERS]

    @post("", operation_id="createSemiAnnualReport", summary="生成半年报 · Build the semi-annual report",
          guards=[ADMIN], status_code=HTTP_202_ACCEPTED,
          responses=errors(PermissionDenied, services.PERIOD_INVALID, services.NOT_STARTED,
                           services.CUT_NOT_OVER, services.CUT_INVALID))
    async def create(self, request: AuthRequest, data: JSONBody[ReportIn]) -> ReportRunOut:
        """A half-year of my county (2026H1 / 2026H2) — the current one provisionally, up to yesterday or ``through`` —
        as a queued run, built by the worker from the data alone."""
        return await services.request_report(request.user, data.period, data.through)

    @get("", operation_id="listSemiAnnualReports", summary="半年报生成记录 · Report runs of my county")
    async def list_runs(self, request: AuthRequest, limit: Limit = DEFAULT_PAGE_SIZE,
                        offset: Offset = 0) -> list[ReportRunOut]:
        """My county's report runs, newest first (status, progress, fingerprint; no figures)."""
        return await services.list_runs(request.user, limit=limit, offset=offset)

    @get("/{run_id:int}", operation_id="getSemiAnnualReport", summary="半年报进度与数据 · A report run and its figures",
         responses=errors(NotFound))
    async def get_run(self, request: AuthRequest, run_id: IntId) -> ReportRunOut:
        """queued / running (sections done of total) / done (the figures and their SHA-256) / failed."""
        return await services.get_run(request.user, run_id)

    @get("/{run_id:int}/report.xlsx", operation_id="getSemiAnnualReportExcel",
         summary="导出半年报（Excel） · The report as Excel", media_type=render.XLSX, opt=images(render.XLSX),
         responses=errors(NotFound, services.NOT_DONE))
    async def workbook(self, request: AuthRequest, run_id: IntId) -> Response[bytes]:
        """One sheet per section, each with the issuing office's title row and the period and data-cut note."""
        run, figures = await services.done_run(request.user, run_id)
        content = await render.workbook(figures)
        return Response(content, media_type=render.XLSX, headers={
            "Content-Disposition": f'attachment; filename="semi-annual-{run["period_code"]}-{run["id"]}.xlsx"',
            "Cache-Control": "no-store"})

    @get("/{run_id:int}/print", operation_id="getSemiAnnualReportPage",
         summary="半年报打印页 · The report as a printable page", media_type=MediaType.HTML,
         responses=errors(NotFound, services.NOT_DONE))
    async def print_page(self, request: AuthRequest, run_id: IntId) -> Response[str]:
        """A printable HTML page: every section's table with inline SVG charts, nothing loaded from elsewhere."""
        run, figures = await services.done_run(request.user, run_id)
        return Response(render.page(figures, run["figures_sha256"]), media_type=MediaType.HTML)
