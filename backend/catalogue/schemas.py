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


# --- a county's own versions (upload, diff, publish) ---------------------------------------------

from datetime import datetime  # noqa: E402

from backend.schemas import RequestModel  # noqa: E402

MAX_YAML_CHARS = 512 * 1024


class CatalogueUploadIn(RequestModel):
    yaml: str = Field(max_length=MAX_YAML_CHARS,
                      description="The version file, the same YAML format as points_rules/catalogue/*.yaml")


class ChangeLineOut(BaseModel):
    kind: str = Field(description="added | removed | changed")
    area: str
    code: str | None
    text_zh: str
    text_en: str


class GradeChangeOut(BaseModel):
    subject_kind: str
    subject_id: int
    old_grade: str | None
    new_grade: str | None


class ImpactOut(BaseModel):
    as_of: date = Field(description="grades compared on this day: today, or the effective date if it is later")
    persons_changing_grade: int
    households_changing_grade: int
    events_governed: int = Field(description="counted events dated on/after the effective date, before the next version")
    events_rescored: int = Field(description="events whose entry would change (re-scored on publishing if past-dated)")
    unscorable_subjects: int = Field(description="subjects the new version cannot score (publishing is refused)")
    persons: list[GradeChangeOut]
    households: list[GradeChangeOut]
    problems_zh: list[str]
    seconds: float = Field(description="how long computing this took")


class CountyVersionOut(BaseModel):
    id: int
    county_id: int
    version: str
    effective_from: date
    title_zh: str
    sha256: str
    status: str = Field(description="draft | published")
    uploaded_by: int
    uploaded_at: datetime
    published_by: int | None
    published_at: datetime | None
    against_version: str | None = Field(description="the version in force on the effective date (the diff's base)")
    changes: list[ChangeLineOut]
    changes_zh: list[str]
    impact: ImpactOut | None = Field(description="drafts only: what publishing would change")
    rescore_status: str = Field(description="none (nothing to re-score) | queued | running | done | failed")
    rescore_done: int
    rescore_total: int | None
    rescore_entries: int
    rescore_error: str
