"""Measures and eligibility-list request/response models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from backend.schemas import RequestModel

_CONDITIONS_DOC = ("the closed set: {kind: household_grade_at_least, grade}, {kind: household_grade_in, grades}, "
                   "{kind: village_is_credit}, {kind: township_is_credit}, {kind: serious_dishonesty}")


class _MeasureTerms(RequestModel):
    kind: str = Field(max_length=16, description="incentive (激励) | restriction (惩戒)")
    category: str = Field(max_length=24, description="subsidy | financial | administrative | publicity | "
                                                     "supervision | other")
    name_zh: str = Field(min_length=2, max_length=128, description="e.g. 农业补贴优先")
    legal_basis: str = Field(min_length=2, max_length=2000, description="设定依据, e.g. 《张掖市社会信用体系建设促进条例》第三十九条")
    conditions: list[dict[str, Any]] = Field(max_length=8, description=_CONDITIONS_DOC)
    valid_from: date
    valid_to: date | None = Field(None, description="last day of the term (inclusive); none = open-ended")
    office_zh: str = Field(min_length=2, max_length=128, description="实施单位, e.g. 区农业农村局")


class MeasureIn(_MeasureTerms):
    """A new measure on my county's list (version 1)."""

    code: str = Field(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_-]+$", description="unique in my county")


class MeasureVersionIn(_MeasureTerms):
    """The measure's terms from now on, as a new version; the old version stays as it was."""

    change_reason: str = Field(min_length=2, max_length=500)


class MeasureEndIn(RequestModel):
    """End the measure: a new version whose term ends on ``valid_to``."""

    valid_to: date
    change_reason: str = Field(min_length=2, max_length=500)


class MeasureOut(BaseModel):
    id: int
    code: str
    version: int
    kind: str
    kind_zh: str
    category: str
    category_zh: str
    name_zh: str
    legal_basis: str
    conditions: list[dict[str, Any]]
    conditions_zh: list[str]
    valid_from: date
    valid_to: date | None
    office_zh: str
    supersedes: int | None
    superseded_by: int | None
    current: bool = Field(description="the newest version of its code (false once superseded)")
    change_reason: str
    created_at: datetime


class ListIn(RequestModel):
    as_of: date = Field(description="the day the list is for (today or earlier): facts as they stood then")


class ListOut(BaseModel):
    id: int
    measure_id: int
    measure_code: str
    measure_version: int
    measure_name_zh: str
    as_of: date
    status: str = Field(description="queued | running | done | failed")
    progress_done: int
    progress_total: int | None
    households: int | None = Field(description="households on the list (when done)")
    catalogue_version: str
    error_code: str
    error_zh: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int


class EntryOut(BaseModel):
    seq: int
    household_id: int
    household_code: str
    township_name: str
    village_name: str
    head_name_masked: str
    head_id_masked: str
    grade: str
    period_code: str
    period_name_zh: str
    publicity_starts_on: date | None
    publicity_ends_on: date | None
    reason_zh: str
