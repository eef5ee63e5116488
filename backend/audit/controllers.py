"""Audit — who read which personal data, and security events. Append-only."""
from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, get
from litestar.params import Parameter

from backend.audit import services
from backend.audit.schemas import AccessLogOut, MyAccessLogOut
from backend.auth.guards import AUDIT_READERS, require_roles
from backend.auth.roles import Role
from backend.params import AuthRequest, Limit, Offset, OptionalIntId
from backend.schemas import DEFAULT_PAGE_SIZE, Page

OptionalRef = Annotated[int | None, Parameter(ge=1, le=2**63 - 1, description="查询编号 (the row's id)")]
Section = Annotated[Literal["others", "mine"], Parameter(
    description="others (default): reads by other people; mine: the villager's own reads")]


class AccessLogController(Controller):
    path = "/api/v1"
    tags = ["audit 审计"]

    @get("/audit/access-log", operation_id="listAccessLog",
         summary="全县个人信息查询记录 · Access log of the county", guards=[AUDIT_READERS])
    async def county_log(
        self,
        request: AuthRequest,
        subject_kind: Annotated[str | None, Parameter(pattern="^(person|household|organisation)$")] = None,
        subject_id: OptionalIntId = None,
        ref: OptionalRef = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        offset: Offset = 0,
    ) -> Page[AccessLogOut]:
        """Reads of personal data in the county, newest first, with every machine field (auditors, county admins)."""
        return await services.county_access_log(request.user, subject_kind=subject_kind, subject_id=subject_id,
                                                ref=ref, limit=limit, offset=offset)

    @get("/me/access-log", operation_id="myAccessLog",
         summary="谁查看了我的信息 · Who looked at my data", guards=[require_roles(Role.VILLAGER)])
    async def my_log(self, request: AuthRequest, section: Section = "others", limit: Limit = DEFAULT_PAGE_SIZE,
                     offset: Offset = 0) -> MyAccessLogOut:
        """Who has looked at my or my household's data, when, what and why, in words (查询记录); my own reads apart."""
        return await services.my_access_log(request.user, section=section, limit=limit, offset=offset)
