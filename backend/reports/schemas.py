"""Requests and answers of the semi-annual report (hand-written pydantic models)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from backend.schemas import RequestModel


class ReportIn(RequestModel):
    period: str = Field(max_length=16, description="the half-year: 2026H1 (01-01..06-30) or 2026H2",
                        examples=["2026H1"])
    through: date | None = Field(
        default=None, description="the data cut (inclusive): records written up to this day. Default: the whole "
                                  "half-year if it is over, else yesterday (a provisional report, due 06-20 / 12-20)")


class ReportRunOut(BaseModel):
    """半年报 — one build of a county's semi-annual report: queued → running (sections done of
    total) → done (figures and their SHA-256) | failed (error code)."""

    id: int
    county_id: int
    period: str
    through: date | None = Field(description="the data cut of a provisional report (null: the whole half-year)")
    provisional: bool
    status: str
    progress_done: int = Field(description="sections built so far")
    progress_total: int = Field(description="sections to build")
    requested_by: int | None
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error_code: str
    figures_sha256: str = Field(description="SHA-256 of the canonical figures JSON (empty until done)")
    figures: dict[str, Any] | None = Field(
        default=None, description="the figures (GET of one run, once done): period, county, data cut, sections")
