from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AccessLogOut(BaseModel):
    at: datetime
    actor_role: str
    actor_label: str
    subject_kind: str
    subject_id: int
    fields: list[str]
    purpose: str
