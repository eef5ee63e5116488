"""Village-rules request and response models (hand-written pydantic v2).

Request models check shape only (types, lengths that bound the columns); whether an item fits the
county's limits is checked by ``points_rules.village_rules`` so that every problem is listed at once
(422 ``VILLAGE_RULES_INVALID``). Points come as numbers with at most one decimal (``2`` or ``2.5``)
and go out as text (``"+2.5"``), as everywhere in Cunxin.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pydantic import BaseModel, Field

from backend.schemas import BigIdField, IntIdField, RequestModel

POINTS = Field(ge=-1000, le=1000, max_digits=5, decimal_places=1,
               description="分 (whole or one decimal); the county's limits decide what is allowed")


class LimitsIn(RequestModel):
    """县级限额 — a new version of the county's limits (the county comes from the token)."""

    min_points: Decimal = POINTS
    max_points: Decimal = POINTS
    max_validity_years: int = Field(ge=0, le=100)
    allowed_categories: list[str] = Field(max_length=50, description="county catalogue categories "
                                          "(points_rules.model.CATEGORIES) and/or village categories the county names")
    max_items: int = Field(ge=0, le=10000)
    counts_toward_county_grade: bool = Field(False, description="true: the village total is *reported* beside the "
                                             "county grade; it never changes the grade (see the README)")
    note: str = Field("", max_length=500)


class LimitsOut(BaseModel):
    id: int
    county_id: int
    version: int
    min_points: str
    max_points: str
    max_validity_years: int
    allowed_categories: list[str]
    county_categories: list[str] = Field(description="the allowed categories that are the county catalogue's own")
    village_categories: list[str] = Field(description="the allowed categories the county named for villages")
    max_items: int
    counts_toward_county_grade: bool
    note: str
    created_by: int
    created_at: datetime


class ItemIn(RequestModel):
    code: str = Field(min_length=1, max_length=64, description="V-<village code>-CAPITALS-AND-DIGITS")
    name_zh: str = Field(max_length=200)
    behaviour_zh: str = Field(max_length=1000, description="the concrete behaviour (具体行为)")
    category: str = Field(max_length=50)
    points: Decimal = POINTS
    validity_years: int = Field(ge=0, le=100)
    needs_review: bool = Field(description="deductions must: only a township admin then records the item")


class RuleVersionIn(RequestModel):
    """A village's rule set, proposed by a township admin of its township for the village committee."""

    village_id: IntIdField
    effective_from: date = Field(description="today or later: a village rule is never retroactive")
    items: list[ItemIn] = Field(max_length=200)
    note: str = Field("", max_length=1000, description="e.g. the village assembly's resolution (村民会议决议)")


class DecisionIn(RequestModel):
    decision: str = Field(pattern="^(approve|reject)$")
    reason: str = Field("", max_length=2000, description="required (≥ 2 characters) to reject")


class ItemOut(BaseModel):
    code: str
    name_zh: str
    behaviour_zh: str
    category: str
    points: str
    validity_years: int
    needs_review: bool


class RuleVersionOut(BaseModel):
    id: int
    county_id: int
    township_id: int
    village_id: int
    village_name: str
    version: int
    effective_from: date
    items: list[ItemOut]
    sha256: str = Field(description="SHA-256 of canonical_json (checked by the database)")
    canonical_json: str
    limits_id: int
    status: str = Field(description="proposed | approved | rejected")
    in_force: bool = Field(description="approved and the village's version in force today")
    proposed_by: int
    proposed_at: datetime
    note: str
    decided_by: int | None
    decided_at: datetime | None
    decision_reason: str


class VillagePointsIn(RequestModel):
    """One village-item event for a person or a household of that village."""

    idempotency_key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    subject_kind: str = Field(pattern="^(person|household)$")
    subject_id: IntIdField
    item_code: str = Field(min_length=1, max_length=64)
    occurred_on: date
    evidence_id: BigIdField | None = Field(None, description="an optional photo (POST /api/v1/evidence first)")
    note: str = Field("", max_length=500)


class ReverseIn(RequestModel):
    reason: str = Field(min_length=2, max_length=1000)


class VillageEntryOut(BaseModel):
    id: int
    village_id: int
    rule_version_id: int
    item_code: str
    item_name_zh: str
    category: str
    subject_kind: str
    subject_id: int
    points: str
    occurred_on: date
    valid_until: date = Field(description="first day it no longer counts (validity from the event date)")
    in_force: bool = Field(description="counts on as_of (false for a reversed entry and its reversal)")
    reversed: bool
    reverses_entry: int | None
    explanation_zh: str = Field(description="always begins 村规民约积分（<village>）：")
    evidence_id: int | None
    note: str
    recorded_at: datetime


class RecordedOut(BaseModel):
    entry: VillageEntryOut
    created: bool = Field(description="false: the same idempotency key and payload were recorded before")


class VillagePointsOut(BaseModel):
    subject_kind: str
    subject_id: int
    village_id: int | None
    village_name: str | None
    label_zh: str = Field(description="村规民约积分（<village>）")
    as_of: date
    total: str = Field(description="village points in force on as_of — never part of the county score")
    entries: list[VillageEntryOut]
    counts_toward_county_grade: bool = Field(description="the county grade is shown beside the village total (the "
                                                         "limits' switch, or the catalogue counts them)")
    counted_in_county_grade: bool = Field(description="the county's catalogue version in force that day counts "
                                                      "village points toward the county score (scoring.village_points)")
    county_grade: str | None = Field(description="when shown: the county grade as the county computes it "
                                                 "(with village points only if counted_in_county_grade)")
    note_zh: str
