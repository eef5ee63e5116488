"""History import over HTTP: a county admin uploads a file (202, a run), then reads its status and report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.status_codes import HTTP_202_ACCEPTED

from backend.auth.guards import require_roles
from backend.auth.roles import Role
from backend.errors import InvalidInput, NotFound, PayloadTooLarge, PermissionDenied
from backend.history import rows, services
from backend.history.schemas import RunOut
from backend.openapi import errors, images
from backend.params import AuthRequest, IntId, Limit, Offset
from backend.schemas import DEFAULT_PAGE_SIZE
from backend.sheets import XLSX

COUNTY = require_roles(Role.COUNTY_ADMIN)
FILE_MISSING = InvalidInput("请以 multipart 字段 data 上传 .xlsx 或 .csv 文件",
                            "Send the .xlsx or .csv file as the multipart field `data`", code="HISTORY_FILE_MISSING")
FILE_TOO_LARGE = PayloadTooLarge("文件不能超过 8 MB", "File larger than 8 MB", code="HISTORY_FILE_TOO_LARGE")
FORMAT = InvalidInput("文件格式不对或缺少必填列", "File unreadable or missing required columns", code="HISTORY_FILE_FORMAT")


@dataclass
class HistoryFile:
    data: UploadFile


class EventImportController(Controller):
    path = "/api/v1/event-imports"
    tags = ["history 历史数据导入"]
    guards = [COUNTY]

    @post("", operation_id="createEventImport", summary="导入历史信用事件 · Import historical events",
          status_code=HTTP_202_ACCEPTED, request_max_body_size=services.MAX_BYTES + 64 * 1024,
          responses=errors(PermissionDenied, FILE_MISSING, FILE_TOO_LARGE, FORMAT, services.MODE_INVALID))
    async def create(
        self, request: AuthRequest, data: Annotated[HistoryFile, Body(media_type=RequestEncodingType.MULTI_PART)],
        mode: Annotated[str, Parameter(pattern="^(all_or_nothing|valid_rows)$",
                                       description="all_or_nothing (default): any bad row, nothing imported")]
        = "all_or_nothing",
        dry_run: Annotated[bool, Parameter(description="validate and report only")] = False,
    ) -> RunOut:
        """An .xlsx or .csv of my county's history (身份证号/户号, 事项代码, 等级/数量, 发生日期, 来源文书, 备注): a queued run."""
        if not isinstance(data.data, UploadFile):
            raise FILE_MISSING
        content = await data.data.read(services.MAX_BYTES + 1)
        if len(content) > services.MAX_BYTES:
            raise FILE_TOO_LARGE
        return await services.request_import(request.user, data.data.filename or "", content, mode=mode,
                                             dry_run=dry_run)

    @get("", operation_id="listEventImports", summary="历史导入记录 · Import runs of my county")
    async def list_runs(self, request: AuthRequest, limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0) -> list[RunOut]:
        """My county's import runs, newest first, each with its status, counts and row report."""
        return await services.list_runs(request.user, limit=limit, offset=offset)

    @get("/{import_id:int}", operation_id="getEventImport", summary="导入进度与报告 · An import run's status and report",
         responses=errors(NotFound))
    async def get_run(self, request: AuthRequest, import_id: IntId) -> RunOut:
        """queued / running (progress_done of progress_total) / done / rejected (every bad row named) / failed."""
        return await services.get_run(request.user, import_id)

    @get("/template.xlsx", operation_id="getEventImportTemplate", summary="导入模板（Excel） · The import template",
         media_type=XLSX, opt=images(XLSX))
    async def template(self) -> Response[bytes]:
        """An empty history file: the header row and one example row."""
        return Response(rows.template_workbook(), media_type=XLSX,
                        headers={"Content-Disposition": 'attachment; filename="event-import-template.xlsx"',
                                 "Cache-Control": "no-store"})
