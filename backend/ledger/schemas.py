"""Ledger request/response models. Points travel as decimal strings ("+2.0"), never floats."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from backend.schemas import RequestModel, BigIdField, ErrorBody

MAX_BATCH = 200


class EventIn(RequestModel):
    """One credit event as a phone reports it. ``idempotency_key`` is generated on the phone once
    per event and re-sent unchanged on every retry."""

    idempotency_key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    item_code: str = Field(min_length=1, max_length=48)
    subject_kind: str = Field(pattern="^(person|household|organisation)$")
    subject_id: int = Field(ge=1, le=2**31 - 1)
    occurred_on: date
    quantity: Decimal | None = Field(None, ge=0, le=10000, max_digits=12, decimal_places=2,
                                     description="e.g. volunteer hours for tiered items")
    level: str | None = Field(None, max_length=48, description="severity/outcome level key for by-level items")
    act_id: str | None = Field(None, max_length=64, description="events sharing an act_id are one act (scored once)")
    note: str = Field("", max_length=500)
    evidence_ids: list[BigIdField] = Field(default_factory=list, max_length=9)


class BatchIn(BaseModel):
    """Each item is validated on its own (as an ``EventIn``) when it is recorded, so that one
    malformed item is that item's error result and never fails the whole batch."""

    events: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH,
                                         description="each an EventIn; a malformed one is its own error result")


class EntryOut(BaseModel):
    id: int
    item_code: str
    catalogue_version: str
    points: str
    valid_from: date
    valid_until: date
    grade_override: str | None
    reverses_entry: int | None
    explanation_zh: str


class EventOut(BaseModel):
    id: int
    idempotency_key: str
    status: str
    late: bool
    item_code: str
    subject_kind: str
    subject_id: int
    occurred_on: date
    recorded_on: date
    catalogue_version: str
    review_reason: str
    flag_reason: str
    evidence_ids: list[int]
    entries: list[EntryOut]


class BatchItemResult(BaseModel):
    idempotency_key: str
    outcome: str = Field(description="created | replayed | error")
    event: EventOut | None = None
    error: ErrorBody | None = None


class BatchOut(BaseModel):
    results: list[BatchItemResult]
    created: int
    replayed: int
    errors: int


class ReviewIn(RequestModel):
    reason: str = Field("", max_length=500)


class RejectIn(RequestModel):
    reason: str = Field(min_length=2, max_length=500)


class ReverseIn(RequestModel):
    reason: str = Field(min_length=2, max_length=500)


class StandingOut(BaseModel):
    as_of: date
    catalogue_version: str
    base: str
    score: str
    grade: str
    grade_override: str | None
    override_until: date | None
    next_expiry: date | None
    next_expiry_points: str
    explanation_zh: str
    disputed_entries: int = Field(0, description="entries in force on as_of left out because an objection on them "
                                                 "is open (异议, art. 46): they count again if it is refused")


class PointsEntryOut(EntryOut):
    in_force: bool = Field(description="counts on as_of: valid that day and neither cancelled nor a cancellation")
    cancelled: bool = Field(description="a later entry reverses this one (a correction, or a re-scoring whose "
                                        "reason the reversing entry's explanation gives); kept, never deleted")
    disputed: bool = Field(False, description="an objection on this entry (or its event) is open: it does not "
                                              "count until the township decides (异议, art. 46)")
    repaired: bool = Field(False, description="the entry's event was repaired (信用修复, art. 45): kept in the ledger, "
                                              "cancelled, no longer counted nor shown as negative")
    event_id: int | None
    occurred_on: date
    evidence_thumbnails: list[str]


class PersonPointsOut(BaseModel):
    person_id: int
    name: str
    standing: StandingOut
    entries: list[PointsEntryOut]


class HouseholdPointsOut(BaseModel):
    household_id: int
    as_of: date = Field(description="the day evaluated (members on that day, entries in force on it)")
    catalogue_version: str = Field(description="the catalogue version in force on as_of")
    next_expiry: date | None = Field(
        description="the first day after as_of on which an entry shown here lapses and a score changes")
    members: list[PersonPointsOut]
    household_entries: list[PointsEntryOut]


class PendingEventOut(EventOut):
    """One row of the township review queue: what a reviewer needs to decide without opening anything."""

    recorded_by: str
    subject_name: str | None
    created_at: datetime
    item_name_zh: str = Field(description="the item's Chinese name in the catalogue version of the event date")
    level: str | None
    level_name_zh: str | None = Field(description="the chosen level in Chinese (by-level items)")
    quantity: str | None = Field(description="e.g. volunteer hours (tiered items)")
    unit_zh: str | None
    note: str
    evidence_thumbnails: list[str]
    points_if_approved: str | None = Field(
        description="what the engine would give if approved now, against the subject's counted events "
                    "(null: it would score nothing, e.g. a larger item of the same act already counts)")


class ReviewException(RequestModel):
    event_id: BigIdField
    action: str = Field(pattern="^reject$", description="reject (with a written reason)")
    reason: str = Field(min_length=2, max_length=500)


class BulkReviewIn(RequestModel):
    """Approve these pending events, except those listed as exceptions (rejected, each with its reason)."""

    event_ids: list[BigIdField] = Field(min_length=1, max_length=MAX_BATCH)
    reason: str = Field("", max_length=500, description="note kept with every approval")
    exceptions: list[ReviewException] = Field(default_factory=list, max_length=MAX_BATCH)


class BulkReviewItem(BaseModel):
    event_id: int
    outcome: str = Field(description="approved | rejected | error")
    event: EventOut | None = None
    error: ErrorBody | None = None


class BulkReviewOut(BaseModel):
    results: list[BulkReviewItem]
    approved: int
    rejected: int
    errors: int
