from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class VersionSummary(BaseModel):
    version: str
    effective_from: date
    title_zh: str
    items: int


class LevelOut(BaseModel):
    key: str
    name_zh: str
    points: str


class TierOut(BaseModel):
    at: str
    total_points: str


class ItemOut(BaseModel):
    code: str
    name_zh: str
    behaviour_zh: str
    category: str
    direction: str
    scoring_kind: str = Field(description="fixed | by_level | tiered | direct_grade")
    points: str | None = None
    levels: list[LevelOut] = Field(default_factory=list)
    unit_zh: str | None = None
    tiers: list[TierOut] = Field(default_factory=list)
    direct_grade: str | None = None
    subject_kinds: list[str]
    validity_years: int | None = Field(description="None: by rule (deduction size / honour level / downgrade term)")
    logged_by: list[str]
    evidence: str
    needs_review: bool
    repeat_doubles: bool
    cap_per_year: str | None
    publicity: str
    sharing_scope: str
    source: str
    channel: str
    update_frequency: str
    legal_basis: str


class GradeBandOut(BaseModel):
    grade: str
    min_score: str | None


class VersionOut(VersionSummary):
    base: str
    grades: list[GradeBandOut]
    direct_downgrade_years: dict[str, int]
    catalogue: list[ItemOut]
