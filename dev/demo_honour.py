"""Demo data for this slice (called by :mod:`dev.demo_extras`)."""

from __future__ import annotations

from datetime import date


async def seed(today: date) -> dict:
    return {}
