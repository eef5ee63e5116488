"""Answers of the history import (hand-written pydantic models)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class RowErrorOut(BaseModel):
    """One problem of one row: the row as the user sees it in Excel, the column, a stable code, why."""

    row: int
    field: str = Field(description="id_number, household_code, item_code, level, quantity, occurred_on, "
                                   "source_document, note, or row")
    column: str = Field(description="the column's Chinese header (整行 for the whole row)")
    code: str
    message_zh: str
    message_en: str


class RunOut(BaseModel):
    """历史事件导入 — one import run: queued → running → done | rejected (bad rows, nothing written) | failed."""

    id: int
    county_id: int
    channel: str = Field(description="api (an admin's upload) or cli (cunxin import-events)")
    file_name: str
    file_kind: str
    file_sha256: str
    mode: str = Field(description="all_or_nothing (default) or valid_rows")
    dry_run: bool
    status: str
    progress_done: int = Field(description="rows written so far (of progress_total new rows)")
    progress_total: int | None
    rows_read: int | None
    rows_invalid: int | None = Field(description="rows with at least one error")
    rows_imported: int | None = Field(description="events written by this run")
    rows_already: int | None = Field(description="rows whose event an earlier import wrote (skipped)")
    errors: list[RowErrorOut]
    already_rows: list[int] = Field(description="row numbers already imported before")
    error_code: str
    error_zh: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
