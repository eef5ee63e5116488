"""Webhook request/response models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from backend.schemas import RequestModel

EventTypeName = Literal["rating.effective", "objection.decided", "consent.granted", "consent.withdrawn"]
EventTypes = list[EventTypeName]
Url = str  # checked by points_rules.webhooks.check_url (scheme, host, SSRF)


def _distinct(values: list[str] | None) -> list[str] | None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError("event types must be distinct")
    return values


class EndpointIn(RequestModel):
    url: Url = Field(min_length=8, max_length=2048, description="https (http outside production); no private "
                                                                 "or loopback address in production")
    subscriber_zh: str = Field(min_length=2, max_length=128, description="who receives, e.g. 甘州区农村商业银行")
    description: str = Field(default="", max_length=500)
    event_types: EventTypes = Field(min_length=1, max_length=4)
    # ``int | None`` with bounds here, not ``IntIdField | None``: RequestModel's strictness check does
    # not see an int inside Annotated inside a union (it would take "5" for 5)
    recipient_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                     description="the consent recipient this subscriber is (consent.* events "
                                                 "reach its endpoints only)")

    _distinct_types = field_validator("event_types")(_distinct)


class EndpointPatch(RequestModel):
    url: Url | None = Field(default=None, min_length=8, max_length=2048)
    subscriber_zh: str | None = Field(default=None, min_length=2, max_length=128)
    description: str | None = Field(default=None, max_length=500)
    event_types: EventTypes | None = Field(default=None, min_length=1, max_length=4)
    enabled: bool | None = Field(default=None, description="false disables, true enables again (and forgets "
                                                           "past failures)")

    _distinct_types = field_validator("event_types")(_distinct)


class RotateIn(RequestModel):
    grace_hours: int = Field(default=24, ge=0, le=168, description="how long the previous secret keeps signing "
                                                                   "too (0: at once no more)")


class EndpointOut(BaseModel):
    id: int
    subscriber_zh: str
    recipient_id: int | None
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str = Field(description="'' | admin | failing")
    disabled_at: datetime | None
    consecutive_failures: int
    failing_since: datetime | None
    previous_secret_valid_until: datetime | None = Field(description="while set, deliveries carry two signatures")
    created_at: datetime


class EndpointCreatedOut(EndpointOut):
    secret: str = Field(description="whsec_… — shown this once; we keep it encrypted and never show it again")


class SecretOut(BaseModel):
    endpoint_id: int
    secret: str = Field(description="the new whsec_… secret, shown this once")
    previous_secret_valid_until: datetime | None


class AttemptOut(BaseModel):
    attempt_no: int
    replay: bool
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str
    response_excerpt: str = Field(description="the first 1,024 characters of the answer")


class DeliveryOut(BaseModel):
    id: int
    webhook_id: str = Field(description="the message id (header webhook-id), the same on every attempt and replay")
    event_type: str
    endpoint_id: int
    status: Literal["pending", "delivering", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None
    created_at: datetime
    log: list[AttemptOut]


class EventTypeOut(BaseModel):
    name: str
    title_zh: str
    description_en: str
    data_fields: list[str]
    to_recipient_only: bool
