"""The working-day calendar: official Chinese holidays plus admin-entered overrides."""

from __future__ import annotations

from backend.db import fetch
from points_rules.workdays import WorkCalendar


async def work_calendar() -> WorkCalendar:
    rows = await fetch("SELECT day, kind FROM calendar_override")
    return WorkCalendar(
        extra_holidays=frozenset(r["day"] for r in rows if r["kind"] == "holiday"),
        extra_workdays=frozenset(r["day"] for r in rows if r["kind"] == "workday"),
    )
