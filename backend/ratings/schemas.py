"""Ratings request/response models."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, model_validator

from backend.schemas import BigIdField, IntIdField


class PeriodIn(BaseModel):
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


class ProposalException(BaseModel):
    proposal_id: BigIdField
    action: str = Field(pattern="^(return|change)$")
    grade: str | None = Field(None, max_length=8)
    reason: str = Field(min_length=2, max_length=500)


class ApprovalIn(BaseModel):
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
    publicity_ends_on: date | None


class ReproposeIn(BaseModel):
    grade: str = Field(max_length=8)
    reason: str = Field(min_length=2, max_length=500)


class ObjectionIn(BaseModel):
    reason: str = Field(min_length=5, max_length=1000)


class ObjectionOut(BaseModel):
    id: int
    proposal_id: int
    status: str
    reason: str
    resolution_reason: str
    raised_at: datetime
    respond_by: date
    resolved_at: datetime | None


class ResolveIn(BaseModel):
    decision: str = Field(pattern="^(uphold|dismiss)$")
    reason: str = Field(min_length=2, max_length=1000)
    grade: str | None = Field(None, max_length=8, description="the corrected grade, when upholding")


class HouseholdRatingOut(BaseModel):
    household_id: int
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
