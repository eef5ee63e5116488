"""Notification endpoints: the villager's inbox (read/unread) and what left the platform about
them; the county's delivery log for county admins and auditors."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter

from backend.auth.guards import require_roles
from backend.auth.roles import Role
from backend.errors import NotFound, PermissionDenied
from backend.notifications import services
from backend.notifications.schemas import DeliveryOut, InboxOut, MyDeliveryOut, NoticeOut, ReadAllOut
from backend.openapi import errors
from backend.params import AuthRequest, BigId, Limit, Offset
from backend.requests import request_id
from backend.schemas import Page

VILLAGER = require_roles(Role.VILLAGER)
INBOX_PAGE = 20
UnreadOnly = Annotated[bool, Parameter(description="only unread notices")]


class MyNoticeController(Controller):
    path = "/api/v1/me/notices"
    tags = ["notifications 通知"]

    @get("/", operation_id="listMyNotices", summary="我的消息 · My notices", guards=[VILLAGER],
         responses=errors(PermissionDenied))
    async def list_notices(self, request: AuthRequest, unread_only: UnreadOnly = False, limit: Limit = INBOX_PAGE,
                           offset: Offset = 0) -> InboxOut:
        """My notices about my and my household's credit record, newest first, with the number unread."""
        return await services.inbox(request.user, unread_only=unread_only, limit=limit, offset=offset)

    @post("/{inbox_notice_id:int}/read", operation_id="readMyNotice", summary="标记已读 · Mark a notice read",
          status_code=200, guards=[VILLAGER], responses=errors(NotFound, PermissionDenied))
    async def read(self, request: AuthRequest, inbox_notice_id: BigId) -> NoticeOut:
        """Mark one of my notices read (again: no change); anyone else's is 404."""
        return await services.mark_read(request.user, inbox_notice_id)

    @post("/read-all", operation_id="readAllMyNotices", summary="全部标记已读 · Mark all my notices read",
          status_code=200, guards=[VILLAGER], responses=errors(PermissionDenied))
    async def read_all(self, request: AuthRequest) -> ReadAllOut:
        """Mark every unread notice of mine read; how many were."""
        return ReadAllOut(updated=await services.mark_all_read(request.user))

    @get("/deliveries", operation_id="listMyNoticeDeliveries", summary="发给我的短信等记录 · What was sent to me",
         guards=[VILLAGER], responses=errors(PermissionDenied))
    async def deliveries(self, request: AuthRequest, limit: Limit = INBOX_PAGE, offset: Offset = 0) -> Page[MyDeliveryOut]:
        """What left the platform about me (SMS, WeChat, the logging stand-in): channel, masked address, text, time."""
        return await services.my_deliveries(request.user, limit=limit, offset=offset)


class NoticeDeliveryController(Controller):
    path = "/api/v1/notices"
    tags = ["notifications 通知"]

    @get("/deliveries", operation_id="listNoticeDeliveries", summary="通知发送记录 · The notice delivery log",
         guards=[require_roles(*services.LOG_READERS)], responses=errors(PermissionDenied))
    async def deliveries(
        self,
        request: AuthRequest,
        status: Annotated[str | None, Parameter(pattern="^(sent|failed|skipped)$")] = None,
        channel: Annotated[str | None, Parameter(pattern="^(logging|sms|wechat)$")] = None,
        limit: Limit = INBOX_PAGE,
        offset: Offset = 0,
    ) -> Page[DeliveryOut]:
        """Every send and skip in my county, newest first (county admins, auditors); each page is access-logged."""
        return await services.county_deliveries(request.user, status=status, channel=channel, limit=limit,
                                                offset=offset, request_id=request_id(request))
