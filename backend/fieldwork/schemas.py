from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from backend.ledger.schemas import BatchItemResult
from backend.schemas import BigIdField, RequestModel

IntIdField = Field(ge=1, le=2**31 - 1)


class PartyActivityIn(RequestModel):
    """A party-organised activity, recorded once. ``idempotency_key`` is generated once on the phone
    and re-sent unchanged on every retry; re-posting it with more attendees adds only theirs."""

    idempotency_key: str = Field(min_length=8, max_length=40, pattern=r"^[A-Za-z0-9_.:-]+$")
    branch_id: int = IntIdField
    kind: str = Field(pattern="^(theme_party_day|volunteer_service|environment_cleanup|other)$")
    item_code: str = Field(min_length=1, max_length=48, description="the catalogue item each attendee's event records")
    level: str | None = Field(None, max_length=48)
    quantity: Decimal | None = Field(None, ge=0, le=10000, max_digits=12, decimal_places=2,
                                     description="e.g. volunteer hours per attendee")
    occurred_on: date
    place: str = Field(min_length=1, max_length=128)
    description: str = Field("", max_length=2000)
    photo_evidence_id: BigIdField | None = Field(None, description="one photo of the activity (the recorder's upload)")
    attendee_person_ids: list[int] = Field(min_length=1, max_length=500)


class PartyActivityOut(BaseModel):
    id: int
    idempotency_key: str
    branch_id: int
    kind: str
    item_code: str
    level: str | None
    quantity: Decimal | None
    occurred_on: date
    place: str
    description: str
    photo_evidence_id: int | None
    event_ids: list[int] = Field(description="the attendees' events recorded so far")


class PartyActivityResult(BaseModel):
    activity: PartyActivityOut
    results: list[BatchItemResult] = Field(description="one per attendee, in order: created, replayed or error")
    created: int
    replayed: int
    errors: int


class GridWorkerWorkOut(BaseModel):
    account_id: int
    username: str
    display_name: str
    events_logged: int = Field(description="events they recorded in the range (by recording date)")
    reviews_approved: int = Field(description="of those, reviewed and passed")
    reviews_rejected: int
    late_entries: int = Field(description="recorded after the catalogue's recording window")
    objections_upheld: int = Field(description="of those, events with an upheld entry objection")
    activities_recorded: int = Field(description="party activities they recorded in the range")


class WorkReportOut(BaseModel):
    date_from: date
    date_to: date
    as_of: date
    grid_workers: list[GridWorkerWorkOut]
