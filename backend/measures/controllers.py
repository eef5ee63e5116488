"""Measures (激励惩戒措施清单) and eligibility lists (名单): list, versions, builds, Excel export."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED

from backend.auth.guards import require_roles
from backend.auth.roles import Role
from backend.errors import InvalidInput, NotFound, PermissionDenied
from backend.measures import export, services
from backend.measures.schemas import (
    EntryOut,
    ListIn,
    ListOut,
    MeasureEndIn,
    MeasureIn,
    MeasureOut,
    MeasureVersionIn,
)
from backend.openapi import errors, images
from backend.params import AuthRequest, IntId, Limit, Offset, OptionalIntId
from backend.requests import request_id
from backend.schemas import DEFAULT_PAGE_SIZE

COUNTY = require_roles(Role.COUNTY_ADMIN)
READERS = require_roles(Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN, Role.AUDITOR)
ENTRY_READERS = require_roles(Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN)

KIND = InvalidInput("措施类型只能是激励或惩戒", "kind must be incentive or restriction", code="MEASURE_KIND")
CATEGORY = InvalidInput("措施类别不在清单规定的类别中", "Unknown category", code="MEASURE_CATEGORY")
TERM = InvalidInput("措施终止日期不能早于起始日期", "valid_to is before valid_from", code="MEASURE_TERM")
LEGAL_BASIS = InvalidInput("措施名称、设定依据和实施单位不能为空", "name, legal basis and office are required",
                           code="MEASURE_LEGAL_BASIS")
MEASURE_WRITE_ERRORS = (services.MEASURE_INVALID, KIND, CATEGORY, TERM, LEGAL_BASIS)


class MeasureController(Controller):
    path = "/api/v1/measures"
    tags = ["measures 激励惩戒措施"]

    @get("", operation_id="listMeasures", guards=[READERS], summary="措施清单 · The county's list of measures",
         responses=errors(PermissionDenied))
    async def list_measures(self, request: AuthRequest,
                            all_versions: Annotated[bool, Parameter(description="every version, not only the newest")]
                            = False) -> list[MeasureOut]:
        """The incentives and restrictions of my county: nothing outside this list may be applied."""
        return await services.list_measures(request.user, all_versions=all_versions)

    @post("", operation_id="createMeasure", guards=[COUNTY], status_code=HTTP_201_CREATED,
          summary="新增措施 · Add a measure to the list",
          responses=errors(services.MEASURE_EXISTS, *MEASURE_WRITE_ERRORS))
    async def create(self, request: AuthRequest, data: JSONBody[MeasureIn]) -> MeasureOut:
        """A measure with its legal basis, conditions from the closed set, term and applying office (county admins)."""
        return await services.create_measure(request.user, data)

    @get("/{measure_id:int}", operation_id="getMeasure", guards=[READERS], summary="措施详情 · One measure version",
         responses=errors(NotFound))
    async def get_measure(self, request: AuthRequest, measure_id: IntId) -> MeasureOut:
        """One version of a measure, with the version that superseded it, if any."""
        return await services.get_measure(request.user, measure_id)

    @post("/{measure_id:int}/versions", operation_id="createMeasureVersion", guards=[COUNTY],
          status_code=HTTP_201_CREATED, summary="修订措施（新版本） · Revise a measure (new version)",
          responses=errors(NotFound, services.MEASURE_SUPERSEDED, *MEASURE_WRITE_ERRORS))
    async def new_version(self, request: AuthRequest, measure_id: IntId,
                          data: JSONBody[MeasureVersionIn]) -> MeasureOut:
        """New terms as a new version; the old version, and every list built from it, never changes."""
        return await services.new_version(request.user, measure_id, data)

    @post("/{measure_id:int}/end", operation_id="endMeasure", guards=[COUNTY], status_code=HTTP_201_CREATED,
          summary="终止措施 · End a measure", responses=errors(NotFound, services.MEASURE_SUPERSEDED, TERM))
    async def end(self, request: AuthRequest, measure_id: IntId, data: JSONBody[MeasureEndIn]) -> MeasureOut:
        """End the measure on a day: a new version with the same terms ending then."""
        return await services.end_measure(request.user, measure_id, data)

    @post("/{measure_id:int}/eligibility-lists", operation_id="buildEligibilityList", guards=[COUNTY],
          status_code=HTTP_202_ACCEPTED, summary="生成适用名单 · Build an eligibility list",
          responses=errors(NotFound, services.AS_OF_FUTURE, services.NOT_IN_TERM))
    async def build(self, request: AuthRequest, measure_id: IntId, data: JSONBody[ListIn]) -> ListOut:
        """Queue the list of households this measure version applies to on ``as_of`` (facts as they stood then)."""
        return await services.request_list(request.user, measure_id, data)


class EligibilityListController(Controller):
    path = "/api/v1/eligibility-lists"
    tags = ["measures 激励惩戒措施"]

    @get("", operation_id="listEligibilityLists", guards=[READERS], summary="名单列表 · Eligibility lists",
         responses=errors(PermissionDenied))
    async def lists(self, request: AuthRequest, measure_id: OptionalIntId = None, limit: Limit = DEFAULT_PAGE_SIZE,
                    offset: Offset = 0) -> list[ListOut]:
        """Lists of my county, newest first, with their status and progress."""
        return await services.list_lists(request.user, measure_id=measure_id, limit=limit, offset=offset)

    @get("/{list_id:int}", operation_id="getEligibilityList", guards=[READERS],
         summary="名单状态 · An eligibility list's status and progress", responses=errors(NotFound))
    async def get_list(self, request: AuthRequest, list_id: IntId) -> ListOut:
        """queued / running (progress_done of progress_total households) / done / failed (error_code)."""
        return await services.get_list(request.user, list_id)

    @get("/{list_id:int}/entries", operation_id="listEligibilityEntries", guards=[ENTRY_READERS],
         summary="名单内容 · The households on a list", responses=errors(NotFound, services.LIST_NOT_DONE))
    async def entries(self, request: AuthRequest, list_id: IntId) -> list[EntryOut]:
        """The households on a done list that my jurisdiction covers (each read is access-logged)."""
        return await services.list_entries(request.user, list_id, request_id=request_id(request))

    @get("/{list_id:int}/export.xlsx", operation_id="exportEligibilityList", guards=[ENTRY_READERS],
         summary="导出名单（Excel） · Export a list as Excel", media_type=export.MEDIA_TYPE,
         opt=images(export.MEDIA_TYPE), responses=errors(NotFound, services.LIST_NOT_DONE))
    async def export_xlsx(self, request: AuthRequest, list_id: IntId) -> Response[bytes]:
        """The list as .xlsx: title, issuing office, 序号/乡镇/村/户编号/户主/身份证号(脱敏)/等级/评定年度/公示起止."""
        content, name = await services.export_list(request.user, list_id, request_id=request_id(request))
        return Response(content, media_type=export.MEDIA_TYPE,
                        headers={"Content-Disposition": export.content_disposition(name, list_id),
                                 "Cache-Control": "no-store"})
