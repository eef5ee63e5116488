"""Response models of the data-quality views (written by hand: see docs/architecture.md)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class CheckCountOut(BaseModel):
    check: str
    name_zh: str
    count: int
    link: str  # the list of this check (same query)


class QualitySummaryOut(BaseModel):
    as_of: date
    township_id: int | None
    waiting_days: int
    late_since: date
    checks: list[CheckCountOut]


class QualityEventOut(BaseModel):
    """A credit event a check names (the subject's ID number masked)."""

    event_id: int
    link: str
    subject_kind: str
    subject_id: int
    person_name: str | None = None
    id_number_masked: str | None = None
    item_code: str
    item_name_zh: str
    occurred_on: date
    recorded_on: date
    status: str
    township_id: int
    waiting_working_days: int | None = None


class QualityRowOut(BaseModel):
    """One row of a check's list. Which fields are filled depends on the check: late entries are
    one row per grid worker with their ``events``; the others one row per event, feed record,
    household or person. ``link`` is where to see or fix it."""

    link: str
    township_id: int | None = None
    # late_entries
    account_id: int | None = None
    username: str | None = None
    display_name: str | None = None
    late_count: int | None = None
    events: list[QualityEventOut] | None = None
    # reviews_waiting, missing_photos
    event: QualityEventOut | None = None
    # unmatched_feed_records
    queue_id: int | None = None
    source_code: str | None = None
    record_id: str | None = None
    record_type: str | None = None
    name: str | None = None
    identifier_masked: str | None = None
    received_at: datetime | None = None
    # households_without_head, persons_without_household
    household_id: int | None = None
    household_code: str | None = None
    member_count: int | None = None
    person_id: int | None = None
    id_number_masked: str | None = None


class QualityListOut(BaseModel):
    check: str
    name_zh: str
    as_of: date
    count: int  # the check's count (late entries: events; the others: rows)
    total: int  # rows of the list (late entries: grid workers)
    limit: int
    offset: int
    items: list[QualityRowOut]


class TrendPointOut(BaseModel):
    week_end: date
    counts: dict[str, int]


class QualityTrendOut(BaseModel):
    township_id: int | None
    waiting_days: int
    checks: list[str]
    weeks: list[TrendPointOut]
