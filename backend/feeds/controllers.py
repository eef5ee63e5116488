"""Feed sources (county admins), the signed intake (neighbouring systems), Excel uploads and the
matching queue (township and county admins)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, HeaderParameter, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from backend.auth.guards import require_roles
from backend.auth.roles import Role
from backend.errors import InvalidInput, NotFound, PayloadTooLarge, PermissionDenied
from backend.feeds import services, xlsx
from backend.feeds.schemas import (DismissIn, FeedReportOut, QueueItemOut, ResolvedOut, ResolveIn, SourceCredentialsOut,
                                   SourceIn, SourceOut)
from backend.openapi import errors
from backend.params import AuthRequest, IntId, Limit, Offset
from backend.requests import request_id
from backend.schemas import DEFAULT_PAGE_SIZE, Page

FEED_BODY = 8 * 1024 * 1024
"""A feed post: up to 10,000 records of ~300 bytes (an ID number, a name, a date, a note), with room."""

COUNTY_ADMINS = require_roles(Role.COUNTY_ADMIN)
ADMINS = require_roles(Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
FILE_MISSING = InvalidInput("请以 multipart 字段 data 上传 .xlsx 文件", "Send the .xlsx file as the multipart field `data`",
                            code="FEED_XLSX_MISSING")
FILE_TOO_LARGE = PayloadTooLarge("文件不能超过 8 MB", "File larger than 8 MB", code="FEED_XLSX_TOO_LARGE")


class FeedSourceController(Controller):
    path = "/api/v1/feeds/sources"
    tags = ["feeds 数据接入"]
    guards = [COUNTY_ADMINS]

    @post("", operation_id="createFeedSource", summary="登记数据来源 · Register a feed source",
          status_code=HTTP_201_CREATED,
          responses=errors(PermissionDenied, services.MAPPING_INVALID, services.SOURCE_EXISTS))
    async def create(self, request: AuthRequest, data: JSONBody[SourceIn]) -> SourceCredentialsOut:
        """A neighbouring system of my county with its record-type mapping; answers its key id and secret (shown once)."""
        return await services.create_source(request.user, data)

    @get("", operation_id="listFeedSources", summary="数据来源列表 · Feed sources of my county")
    async def list_all(self, request: AuthRequest) -> list[SourceOut]:
        """The sources of my county (never their secrets)."""
        return await services.list_sources(request.user)

    @post("/{source_id:int}/rotate", operation_id="rotateFeedKey", summary="更换接入密钥 · Rotate a source's key",
          status_code=HTTP_200_OK, responses=errors(NotFound))
    async def rotate(self, request: AuthRequest, source_id: IntId) -> SourceCredentialsOut:
        """A new key id and secret (shown once); the old key stops working at once."""
        return await services.rotate_key(request.user, source_id)


@dataclass
class FeedFile:
    data: UploadFile


class FeedUploadController(Controller):
    path = "/api/v1/feeds/sources/{source_id:int}/uploads"
    tags = ["feeds 数据接入"]
    guards = [ADMINS]

    @post("", operation_id="uploadFeedFile", summary="上传数据文件（Excel） · Upload a feed file (Excel)",
          status_code=HTTP_200_OK, request_max_body_size=xlsx.MAX_BYTES + 64 * 1024,
          responses=errors(PermissionDenied, NotFound, FILE_MISSING, FILE_TOO_LARGE, xlsx.XLSX_INVALID,
                           xlsx.HEADER_UNKNOWN, services.BODY_INVALID))
    async def upload(self, request: AuthRequest, source_id: IntId,
                     data: Annotated[FeedFile, Body(media_type=RequestEncodingType.MULTI_PART)],
                     report: Annotated[str, Parameter(pattern="^(json|xlsx)$", description="answer as JSON or .xlsx")] = "json",
                     ) -> Response:
        """The same records as the signed feed, as an .xlsx file (header row: 记录编号, 类型, 身份证号 …); one result per row."""
        if not isinstance(data.data, UploadFile):
            raise FILE_MISSING
        content = await data.data.read(xlsx.MAX_BYTES + 1)
        if len(content) > xlsx.MAX_BYTES:
            raise FILE_TOO_LARGE
        result = await services.upload(request.user, source_id, content)
        if report == "xlsx":
            return Response(xlsx.report_workbook(result), media_type=xlsx.REPORT_TYPE,
                            headers={"Content-Disposition": f'attachment; filename="feed-report-{result.batch_id}.xlsx"'})
        return Response(result)


class FeedInboundController(Controller):
    path = "/api/v1/feeds/inbound"
    tags = ["feeds 数据接入"]

    @post("/{source_code:str}/records", operation_id="postFeedRecords",
          summary="推送来源记录（签名） · Post source records (signed)", status_code=HTTP_200_OK,
          request_max_body_size=FEED_BODY,
          responses=errors(services.SIGNATURE_INVALID, services.TIMESTAMP_STALE, services.REPLAYED,
                           services.BODY_INVALID))
    async def post_records(
        self, request: Request,
        source_code: Annotated[str, Parameter(max_length=32)],
        x_feed_key: Annotated[str, HeaderParameter(name="X-Feed-Key", max_length=64)] = "",
        x_feed_timestamp: Annotated[str, HeaderParameter(name="X-Feed-Timestamp", max_length=16)] = "",
        x_feed_signature: Annotated[str, HeaderParameter(name="X-Feed-Signature", max_length=400)] = "",
    ) -> FeedReportOut:
        """Body `{"records": [...]}` (≤ 10,000), signed: `X-Feed-Signature: v1=hex(HMAC-SHA256(secret, timestamp + "." + body))`, `X-Feed-Timestamp` within ±5 min, each signature once. One result per record; idempotent per record id."""
        body = await request.body()
        source, signature = await services.authenticate(source_code, x_feed_key, x_feed_timestamp, x_feed_signature,
                                                        body)
        records = services.parse_body(body)
        return await services.ingest(source, await services.claim_signature(source, signature), records)


class FeedQueueController(Controller):
    path = "/api/v1/feeds/queue"
    tags = ["feeds 数据接入"]
    guards = [ADMINS]

    @get("", operation_id="listFeedQueue", summary="待匹配记录 · Feed records waiting to be matched")
    async def list_queue(
        self, request: AuthRequest,
        status: Annotated[str, Parameter(pattern="^(unmatched|recorded|dismissed|withdrawn)$")] = "unmatched",
        limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0,
    ) -> Page[QueueItemOut]:
        """Records Cunxin could not match, held by my township (county admins: the county's, including those held by the county)."""
        return await services.queue(request.user, status=status, limit=limit, offset=offset)

    @post("/{queue_id:int}/resolve", operation_id="resolveFeedRecord", summary="人工匹配 · Match a held record",
          status_code=HTTP_200_OK,
          responses=errors(NotFound, services.QUEUE_DONE, services.SUBJECT_KIND_MISMATCH))
    async def resolve(self, request: AuthRequest, queue_id: Annotated[int, Parameter(ge=1, le=2**63 - 1)],
                      data: JSONBody[ResolveIn]) -> ResolvedOut:
        """Match the record to a person (or organisation) of my jurisdiction: its event is recorded now, once."""
        return await services.resolve(request.user, queue_id, data.subject_kind, data.subject_id,
                                      request_id=request_id(request))

    @post("/{queue_id:int}/dismiss", operation_id="dismissFeedRecord", summary="驳回待匹配记录 · Dismiss a held record",
          status_code=HTTP_200_OK, responses=errors(NotFound, services.QUEUE_DONE))
    async def dismiss(self, request: AuthRequest, queue_id: Annotated[int, Parameter(ge=1, le=2**63 - 1)],
                      data: JSONBody[DismissIn]) -> ResolvedOut:
        """Take the record out of the queue with a written reason (kept, marked dismissed)."""
        return await services.dismiss(request.user, queue_id, data.reason)
