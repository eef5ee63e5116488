"""Notification response models (hand-written pydantic v2). The phone app's inbox reads exactly
``InboxOut`` / ``NoticeOut``: keep the contract."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from backend.schemas import Page


class NoticeOut(BaseModel):
    id: int
    kind: str = Field(description="event_recorded | event_pending | event_approved | event_rejected | rating_publicity "
                                  "| rating_objection_decided | objection_decided | repair_decided | bank_pull "
                                  "| commitment_due")
    title_zh: str
    body_zh: str = Field(description="the facts in Chinese: item, points, dates, deadline, how to object")
    link: str | None = Field(description='a phone-app route ("/me", "/objections/12", "/rating-objection") or null')
    created_at: datetime
    read_at: datetime | None


class InboxOut(Page[NoticeOut]):
    unread: int = Field(description="my unread notices (whatever the filter)")


class ReadAllOut(BaseModel):
    updated: int = Field(description="notices marked read now")


class MyDeliveryOut(BaseModel):
    """One send (or skip) of one of my notices through an external channel: exactly what left the platform."""

    id: int
    notice_id: int
    channel: str = Field(description="logging | sms | wechat")
    address_masked: str = Field(description="138****8000; empty when there was nowhere to send")
    text: str = Field(description="the exact text sent (never the content of a record)")
    status: str = Field(description="sent | failed | skipped")
    error: str = Field(description="why it failed or was skipped (no phone, no openid …)")
    at: datetime


class DeliveryOut(MyDeliveryOut):
    kind: str
    person_id: int
