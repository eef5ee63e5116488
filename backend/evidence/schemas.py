from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class EvidenceOut(BaseModel):
    id: int
    status: str
    event_id: int | None
    width: int
    height: int
    reuse_of: int | None
    error_code: str
    error_message_zh: str
    created_at: datetime
