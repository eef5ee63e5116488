"""Feed request/response models. A record travels as a plain object checked on its own
(``points_rules.feeds.parse_record``), so one bad record is that record's ``invalid`` result."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from backend.schemas import ErrorBody, RequestModel

KINDS = "^(court_defaulters|wage_arrears|volunteer_hours|other)$"


class MappingIn(RequestModel):
    item_code: str = Field(min_length=1, max_length=48)
    level: str | None = Field(None, max_length=48, description="default level for by-level items")


class SourceIn(RequestModel):
    """A neighbouring system of my county; the key id and secret are made by the server."""

    code: str = Field(min_length=2, max_length=32, pattern=r"^[a-z0-9][a-z0-9_-]*$",
                      description="used in the intake path: /api/v1/feeds/inbound/{code}/records")
    name: str = Field(min_length=2, max_length=64)
    kind: str = Field(pattern=KINDS)
    mapping: dict[str, MappingIn] = Field(min_length=1, max_length=50,
                                          description="source record type → catalogue item (and default level)")


class SourceOut(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    county_id: int
    mapping: dict[str, Any]
    key_id: str
    active: bool
    created_at: datetime
    rotated_at: datetime | None


class SourceCredentialsOut(SourceOut):
    secret: str = Field(description="HMAC-SHA256 secret — shown this once, never again (rotate to get a new one)")


class RecordResult(BaseModel):
    record_id: str
    outcome: str = Field(description="recorded | duplicate | unmatched | invalid | removed | removal_unknown | "
                                     "not_written (nothing of it written: post it again)")
    event_id: int | None = None
    queue_id: int | None = Field(None, description="the matching-queue item (unmatched records)")
    error: ErrorBody | None = None


class FeedReportOut(BaseModel):
    batch_id: int
    received: int
    recorded: int
    duplicate: int
    unmatched: int
    invalid: int
    removed: int
    removal_unknown: int
    not_written: int
    results: list[RecordResult]


class QueueItemOut(BaseModel):
    id: int
    source_code: str
    source_name: str
    record_id: str
    record_type: str
    item_code: str
    subject_kind: str
    name: str
    identifier_masked: str
    township_id: int | None = Field(description="the township holding it (null: held by the county)")
    details: dict[str, Any]
    status: str
    received_at: datetime


class ResolveIn(RequestModel):
    subject_kind: str = Field(pattern="^(person|organisation)$")
    subject_id: int = Field(ge=1, le=2**31 - 1)


class DismissIn(RequestModel):
    reason: str = Field(min_length=2, max_length=500)


class ResolvedOut(BaseModel):
    id: int
    status: str
    event_id: int | None
    resolution_reason: str
