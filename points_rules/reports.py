"""半年报 — the pure parts of the county's semi-annual report (no clock, no I/O).

- **Half-years.** H1 = 01-01..06-30, H2 = 07-01..12-31, written ``2026H1`` / ``2026H2``; a
  provisional report covers its half-year up to a data cut (``HalfYear.through``).
- **Shares** are exact: a ``Decimal`` percentage with one decimal place, rounded half up
  (``2/3`` → ``"66.7"``), written as a string; ``None`` where the whole is 0. Never a float.
- **Medians** are of whole seconds (the middle value, or the exact mean of the two middle ones),
  shown in hours with one decimal place, rounded half up.
- **Figures** serialise canonically (sorted keys, no whitespace, UTF-8, no floats, no timestamps),
  and their SHA-256 is the fingerprint two builds of one half-year must share.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["HalfYear", "PeriodError", "canonical_json", "figures_sha256", "hours", "median", "parse_period",
           "share_percent"]

_CODE = re.compile(r"^(\d{4})H([12])$")
_ONE_PLACE = Decimal("0.1")


class PeriodError(ValueError):
    """Not a half-year code (``YYYYH1`` / ``YYYYH2``)."""


@dataclass(frozen=True, order=True)
class HalfYear:
    """A half-year, or — ``through`` set — its first part up to a data cut: the county reports by
    06-20 and 12-20, before the half-year ends, so that report is *provisional*, its figures those
    written up to and including ``through``. A cut on the half-year's last day is no cut."""

    year: int
    half: int  # 1 or 2
    through: date | None = None

    def __post_init__(self) -> None:
        if self.half not in (1, 2) or not 2000 <= self.year <= 2999:
            raise PeriodError(f"no half-year {self.year}H{self.half}")
        if self.through is not None:
            if not self.starts_on <= self.through <= self.full_ends_on:
                raise PeriodError(f"{self.through} is not in {self.code}")
            if self.through == self.full_ends_on:
                object.__setattr__(self, "through", None)

    @property
    def code(self) -> str:
        return f"{self.year}H{self.half}"

    @property
    def starts_on(self) -> date:
        return date(self.year, 1 if self.half == 1 else 7, 1)

    @property
    def full_ends_on(self) -> date:
        """The half-year's last day (06-30 or 12-31), whatever the cut."""
        return date(self.year, 6, 30) if self.half == 1 else date(self.year, 12, 31)

    @property
    def ends_on(self) -> date:
        """The last day the figures cover: the cut of a provisional report, else the half-year's end."""
        return self.through or self.full_ends_on

    @property
    def provisional(self) -> bool:
        return self.through is not None

    @property
    def name_zh(self) -> str:
        name = f"{self.year}年{'上' if self.half == 1 else '下'}半年"
        if self.through is not None:
            name += f"（截至{self.through.month}月{self.through.day}日）"
        return name

    def previous(self) -> HalfYear:
        return HalfYear(self.year, 1) if self.half == 2 else HalfYear(self.year - 1, 2)

    def contains(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on

    def is_over(self, today: date) -> bool:
        """Ended before ``today``: only then are its figures final."""
        return today > self.full_ends_on

    def cut(self, through: date | None) -> HalfYear:
        """The same half-year with a data cut (``None``: the whole half-year)."""
        return HalfYear(self.year, self.half, through)

    @staticmethod
    def of(day: date) -> HalfYear:
        return HalfYear(day.year, 1 if day.month <= 6 else 2)


def parse_period(code: str) -> HalfYear:
    match = _CODE.match(code.strip()) if isinstance(code, str) else None
    if match is None:
        raise PeriodError(f"not a half-year code: {code!r}")
    return HalfYear(int(match.group(1)), int(match.group(2)))


def share_percent(part: int, whole: int) -> str | None:
    """``part`` of ``whole`` as a percentage, one decimal place, half up; ``None`` for an empty whole."""
    if whole < 0 or part < 0:
        raise ValueError("counts are never negative")
    if whole == 0:
        return None
    return str((Decimal(part) * 100 / Decimal(whole)).quantize(_ONE_PLACE, rounding=ROUND_HALF_UP))


def median(values: Sequence[int]) -> Decimal | None:
    """The exact median of whole numbers (a half where the two middle values differ by an odd number)."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return Decimal(ordered[mid])
    return (Decimal(ordered[mid - 1]) + Decimal(ordered[mid])) / 2


def hours(seconds: Decimal | int | None) -> str | None:
    """Seconds as hours with one decimal place, half up (``5400`` → ``"1.5"``)."""
    if seconds is None:
        return None
    return str((Decimal(seconds) / 3600).quantize(_ONE_PLACE, rounding=ROUND_HALF_UP))


def _no_floats(value: object) -> None:
    if isinstance(value, float):
        raise TypeError("figures hold no floats (use a Decimal string)")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError("figure keys are strings")
            _no_floats(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _no_floats(item)
    elif value is not None and not isinstance(value, (str, int, bool)):
        raise TypeError(f"figures hold only text, integers, booleans and null, not {type(value).__name__}")


def canonical_json(figures: dict) -> str:
    """The one serialisation of a report's figures: sorted keys, compact, UTF-8 text kept as is."""
    _no_floats(figures)
    return json.dumps(figures, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def figures_sha256(figures: dict) -> str:
    return hashlib.sha256(canonical_json(figures).encode("utf-8")).hexdigest()
