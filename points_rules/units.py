"""Points are integers in tenths (积分以0.1分为单位); dates are plain ``datetime.date`` values.

Nothing here reads a clock: every date is an argument.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

POINT_UNIT = 10
"""Tenths per point: 2.5 points are stored as ``25``. Floats never appear."""


def points_from_decimal(value: int | Decimal) -> int | None:
    """Whole or one-decimal points → tenths; ``None`` if the value has more precision or is not finite."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value * POINT_UNIT
    try:
        scaled = value * POINT_UNIT
        if not scaled.is_finite() or scaled != scaled.to_integral_value():
            return None
        return int(scaled)
    except (InvalidOperation, AttributeError, TypeError):
        return None


def format_points(tenths: int, *, signed: bool = True) -> str:
    """``25`` → ``"+2.5"``, ``-300`` → ``"-30"``, ``0`` → ``"0"`` (for people, never parsed back)."""
    whole, frac = divmod(abs(tenths), POINT_UNIT)
    text = f"{whole}" if frac == 0 else f"{whole}.{frac}"
    if tenths < 0:
        return "-" + text
    if signed and tenths > 0:
        return "+" + text
    return text


def format_quantity(value: Decimal) -> str:
    """``Decimal("12.50")`` → ``"12.5"``; integral values without a decimal point."""
    if value == value.to_integral_value():
        return str(value.to_integral_value())
    return format(value.normalize(), "f")


def date_zh(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def add_years(d: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February moves to 1 March (a full year, never less)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return date(d.year + years, 3, 1)


def add_months(d: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = d.month - 1 + months
    year, month = d.year + index // 12, index % 12 + 1
    next_first = date(year + (month == 12), month % 12 + 1, 1)
    return min(d.replace(year=year, month=month, day=1) + timedelta(days=d.day - 1),
               next_first - timedelta(days=1))


def add_days_or_months(d: date, *, days: int = 0, months: int = 0) -> date:
    return add_months(d, months) + timedelta(days=days)
