from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from backend.ledger.schemas import BatchItemResult
from backend.schemas import BigIdField, IntIdField, RequestModel



class PartyActivityIn(RequestModel):
    """A party-organised activity, recorded once. ``idempotency_key`` is generated once on the phone
    and re-sent unchanged on every retry; re-posting it with more attendees adds only theirs."""

    idempotency_key: str = Field(min_length=8, max_length=40, pattern=r"^[A-Za-z0-9_.:-]+$")
    branch_id: IntIdField
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
    patrols_filed: int = Field(description="patrol reports they filed in the range (by patrol date)")
    activities_recorded: int = Field(description="party activities they recorded in the range")


class WorkReportOut(BaseModel):
    date_from: date
    date_to: date
    as_of: date
    grid_workers: list[GridWorkerWorkOut]


class FindingIn(RequestModel):
    """One finding of a patrol that is a credit event (the ledger's rules: negative items go to review)."""

    item_code: str = Field(min_length=1, max_length=48)
    subject_kind: str = Field(pattern="^(person|household|organisation)$")
    subject_id: IntIdField
    level: str | None = Field(None, max_length=48)
    quantity: Decimal | None = Field(None, ge=0, le=10000, max_digits=12, decimal_places=2)
    note: str = Field("", max_length=500)
    evidence_ids: list[BigIdField] = Field(default_factory=list, max_length=9)


class PatrolReportIn(RequestModel):
    """A grid worker's patrol of one of their grids; ``idempotency_key`` once per report, re-sent on retry."""

    idempotency_key: str = Field(min_length=8, max_length=40, pattern=r"^[A-Za-z0-9_.:-]+$")
    grid_id: IntIdField
    patrolled_on: date
    route: str = Field(min_length=1, max_length=500)
    notes: str = Field("", max_length=4000)
    photo_evidence_id: BigIdField | None = None
    findings: list[FindingIn] = Field(default_factory=list, max_length=50)


class PatrolReportOut(BaseModel):
    id: int
    idempotency_key: str
    grid_id: int
    patrolled_on: date
    route: str
    notes: str
    photo_evidence_id: int | None
    event_ids: list[int] = Field(description="the findings' events recorded so far")


class PatrolReportResult(BaseModel):
    report: PatrolReportOut
    results: list[BatchItemResult] = Field(description="one per finding, in order: created, replayed or error")
    created: int
    replayed: int
    errors: int
