"""Entry-objection request and response models (hand-written pydantic v2)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, model_validator

from backend.schemas import BigIdField, RequestModel

REASON = Field(min_length=2, max_length=1000)


class _Target(RequestModel):
    entry_id: BigIdField | None = Field(None, description="the ledger entry objected to (an original entry)")
    event_id: BigIdField | None = Field(None, description="or the credit event behind it")

    @model_validator(mode="after")
    def _one_target(self):
        if (self.entry_id is None) == (self.event_id is None):
            raise ValueError("give exactly one of entry_id and event_id")
        return self


class ObjectionFileIn(_Target):
    """异议 in the app: a villager for their own entries, or as head of household for the household's
    (and a member's) entries. Villagers do not upload photos: evidence photos come with a paper
    objection their grid worker captures."""

    reason: str = REASON


class PaperObjectionIn(_Target):
    """A signed paper objection the grid worker captures for a subject in their grids: the photo of
    the signed form and any further evidence photos are the worker's own unused uploads
    (``POST /api/v1/evidence``)."""

    reason: str = REASON
    signed_on: date = Field(description="the date written on the form")
    form_evidence_id: BigIdField
    evidence_ids: list[BigIdField] = Field(default_factory=list, max_length=9)


class DecisionIn(RequestModel):
    decision: str = Field(pattern="^(uphold|refuse)$",
                          description="uphold: the entry is corrected through the ledger; refuse: it stands")
    reason: str = Field(min_length=2, max_length=2000, description="written reasons, shown to the subject")


class ObjectionOut(BaseModel):
    id: int
    status: str = Field(description="open | upheld | refused")
    entry_id: int
    event_id: int | None
    subject_kind: str
    subject_id: int
    township_id: int = Field(description="the recording township, which decides")
    item_code: str
    entry_points: str
    entry_explanation_zh: str
    channel: str = Field(description="app | paper")
    reason: str
    signed_on: date | None
    evidence_ids: list[int]
    form_evidence_id: int | None
    filed_at: datetime
    filed_on: date
    mark_by: date = Field(description="legal deadline to mark the record disputed (1 working day)")
    disputed_marked_on: date = Field(description="marked disputed on filing, at once")
    marked_on_time: bool
    respond_by: date = Field(description="legal deadline for the decision (7 working days, official calendar)")
    warn_on: date = Field(description="the township's queue shows it as due soon from this day")
    due: str = Field(description="open | due_soon | overdue | decided (on the server's today)")
    warned_at: datetime | None
    escalated_at: datetime | None = Field(description="when an overdue case was sent to the county")
    decided_at: datetime | None
    decided_on: date | None
    decided_on_time: bool | None
    decision_reason: str
    correction_entry_id: int | None = Field(description="upheld: the reversing ledger entry")
    correction_explanation_zh: str | None


class TownshipOnTimeOut(BaseModel):
    township_id: int
    township_code: str
    township_name: str
    filed: int
    decided: int
    decided_on_time: int
    decided_late: int
    open: int
    open_overdue: int
    on_time_percent: str | None = Field(description="decided by respond_by / all decided, one decimal; "
                                                    "null when none was decided")


class OnTimeReportOut(BaseModel):
    date_from: date = Field(description="objections filed from this day …")
    date_to: date = Field(description="… to this day (inclusive)")
    as_of: date = Field(description="the day open cases are judged overdue on")
    townships: list[TownshipOnTimeOut]
