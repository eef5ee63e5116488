"""Response models of the public honour roll. No ids of persons or households, no ID numbers,
phones, addresses or scores: only what a 红榜 prints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class PlaceOut(BaseModel):
    code: str
    name: str


class RatedPlaceOut(BaseModel):
    """A 信用村 or 信用乡镇 by its latest effective official rating (public: structure, not people)."""

    code: str
    name: str
    township_code: str | None = Field(default=None, description="villages: their township")
    township_name: str | None = None
    period_code: str
    period_name_zh: str
    effective_on: date | None


class HonourLineOut(BaseModel):
    category: str = Field(description="表彰奖励 | 志愿服务 | 公益慈善")
    item_code: str
    title_zh: str = Field(description="e.g. 表彰奖励（市级）")
    detail_zh: str = Field(description="the month of the deed, or the volunteer hours in force")
    occurred_on: date


class CreditHouseholdOut(BaseModel):
    grade: str = Field(description="AAA | AA | A — the household's effective official rating")
    period_code: str
    period_name_zh: str
    effective_on: date | None


class HonouredOut(BaseModel):
    """A person, or a household (named by its head), published under their own active consent."""

    kind: Literal["person", "household"]
    name_zh: str = Field(description="full name as consented to (a household: 户主姓名 + 家)")
    township: PlaceOut
    village: PlaceOut
    credit_household: CreditHouseholdOut | None = Field(
        default=None, description="households: a 信用户 by its effective official rating (consent scope ≥ grade)")
    honours: list[HonourLineOut] = Field(default_factory=list,
                                         description="positive information in force (consent scope: entries)")


class HonourRollOut(BaseModel):
    county: PlaceOut
    as_of: date = Field(description="the county's today: ratings and entries as they stand now")
    generated_at: datetime
    township_filter: str | None = None
    village_filter: str | None = None
    credit_townships: list[RatedPlaceOut] = Field(description="信用乡镇 (all matching the filters)")
    credit_villages: list[RatedPlaceOut] = Field(description="信用村 (all matching the filters)")
    honoured: list[HonouredOut] = Field(description="persons and households under consent, one page")
    total: int = Field(description="persons and households matching the filters")
    limit: int
    offset: int
