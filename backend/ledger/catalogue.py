"""The catalogue in force for this deployment (the shipped default unless CUNXIN_CATALOGUE_DIR is set)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from points_rules import CatalogueSet, load_catalogue_dir


@lru_cache(maxsize=1)
def catalogues() -> CatalogueSet:
    configured = os.environ.get("CUNXIN_CATALOGUE_DIR")
    return load_catalogue_dir(Path(configured) if configured else None)


def points_text(tenths: int, *, signed: bool = True) -> str:
    """Tenths of a point as the API shows them, always with one decimal: 25 → "+2.5", -100 → "-10.0"
    (points_rules.units.format_points is the human form that drops ".0" in explanations)."""
    sign = "-" if tenths < 0 else ("+" if signed and tenths > 0 else "")
    whole, tenth = divmod(abs(tenths), 10)
    return f"{sign}{whole}.{tenth}"
