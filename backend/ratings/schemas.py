"""Ratings request/response models."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, model_validator

from backend.schemas import RequestModel, BigIdField, IntIdField


class PeriodIn(RequestModel):
    code: str = Field(min_length=2, max_length=16, pattern=r"^[A-Za-z0-9_-]+$", description="e.g. 2026")
    name_zh: str = Field(min_length=2, max_length=64)
    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def _ordered(self) -> "PeriodIn":
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


class PeriodOut(BaseModel):
    id: int
    code: str
    name_zh: str
    starts_on: date
    ends_on: date
    status: str
    proposals: dict[str, int] = Field(default_factory=dict, description="count per status")


class TownshipPreviewOut(BaseModel):
    township_id: int
    households: int = 0
    credit_households: int = 0
    household_grades: dict[str, int] = Field(default_factory=dict, description="households per grade")
    villages: int
    credit_villages: int
    is_credit: bool


class PeriodPreviewOut(BaseModel):
    """What closing the period would propose — computed, nothing written."""

    period_id: int
    as_of: date = Field(description="the period's end: every rating is computed as of this date")
    computed_on: date = Field(description="today: the ledger as recorded up to now")
    ended: bool = Field(description="whether the period is over (it may be closed from the day after its end)")
    households: int
    credit_households: int
    household_grades: dict[str, int] = Field(description="households per grade")
    villages: int
    credit_villages: int
    townships: int
    credit_townships: int
    by_township: list[TownshipPreviewOut]


class ProposalOut(BaseModel):
    id: int
    period_id: int
    level: str
    subject_id: int
    subject_name: str | None = None
    township_id: int
    village_id: int | None
    computed_grade: str
    computed_score: str | None
    grade: str
    is_credit: bool
    change_reason: str
    status: str
    explanation_zh: str
    explanation: dict = Field(default_factory=dict, description="every input, threshold and rule version")
    catalogue_version: str
    publicity_starts_on: date | None
    publicity_ends_on: date | None
    effective_on: date | None


class ProposalException(RequestModel):
    proposal_id: BigIdField
    action: str = Field(pattern="^(return|change)$")
    grade: str | None = Field(None, max_length=8)
    reason: str = Field(min_length=2, max_length=500)


class ApprovalIn(RequestModel):
    """Approve every open proposal of a level in my jurisdiction (optionally one village),
    except those listed: returned, or approved with a changed grade (each with a reason)."""

    level: str = Field(pattern="^(household|village|township)$")
    village_id: IntIdField | None = None
    exceptions: list[ProposalException] = Field(default_factory=list, max_length=1000)


class ApprovalOut(BaseModel):
    approved: int
    awaiting_second: int
    publicised: int
    returned: int
    changed: int
    not_own_check: int = Field(description="left for another approver: one person may not check their own approval")
    back_to_check: int = Field(0, description="changed by the checker: the new grade waits for another approver "
                                              "(counted in awaiting_second, not publicised)")
    publicity_ends_on: date | None


class ReproposeIn(RequestModel):
    grade: str = Field(max_length=8)
    reason: str = Field(min_length=2, max_length=500)


class ObjectionIn(RequestModel):
    reason: str = Field(min_length=5, max_length=1000)


class ObjectionOut(BaseModel):
    """异议 with its art. 46 deadlines (stored when raised) and whether they were met."""

    id: int
    proposal_id: int
    period_id: int
    household_id: int
    grade: str = Field(description="the rating's grade now")
    proposal_status: str = Field(description="the rating's status now (disputed while any objection is open)")
    status: str = Field(description="open | upheld | dismissed")
    reason: str
    resolution_reason: str = Field(description="the written reasons of the decision")
    resolution_grade: str | None = Field(None, description="the corrected grade, when upheld")
    raised_at: datetime
    raised_on: date = Field(description="local date raised: the deadlines count from here")
    mark_by: date = Field(description="legal deadline to mark the record disputed (1 working day)")
    disputed_marked_on: date = Field(description="when the record was marked disputed")
    marked_on_time: bool
    respond_by: date = Field(description="legal deadline for the decision (7 working days)")
    resolved_at: datetime | None
    resolved_on: date | None
    decided_on_time: bool | None = Field(description="null while undecided")
    overdue: bool = Field(description="still open after respond_by")


class ResolveIn(RequestModel):
    decision: str = Field(pattern="^(uphold|dismiss)$")
    reason: str = Field(min_length=2, max_length=1000)
    grade: str | None = Field(None, max_length=8, description="the corrected grade, when upholding")


class HouseholdRatingOut(BaseModel):
    household_id: int
    as_of: date = Field(description="the day the live_* fields were computed for (default today)")
    catalogue_version: str = Field(description="the catalogue version in force on as_of")
    live_grade: str | None
    live_score: str | None
    live_is_credit: bool | None
    live_as_of: date | None
    live_explanation_zh: str
    official: list[ProposalOut]
    in_progress: list[ProposalOut]


class AreaStandingOut(BaseModel):
    kind: str
    id: int
    name: str
    households: int
    credit_households: int
    share_percent: str
    grade_counts: dict[str, int]
    is_credit: bool | None = None
    stars: int | None = None


class HouseholdGradeOut(BaseModel):
    household_id: int
    code: str
    head_name: str | None
    grade: str
    score: str
    is_credit: bool


class AreaDetailOut(AreaStandingOut):
    households_detail: list[HouseholdGradeOut] = Field(default_factory=list)


class RecomputeOut(BaseModel):
    as_of: date
    persons: int
    households: int
    villages: int
    townships: int
    drifted_households: int
    drifted_villages: int
    drifted_townships: int
