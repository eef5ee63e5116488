"""Village points in force per subject on a day — the one query the county's scoring reads when its
catalogue version lets village points count (``scoring.village_points``; see
``points_rules.model.VillagePointsRule``). The same rule as ``points_rules.village_rules.total``: an
entry counts from its event date for its validity; a reversed entry and its reversal both drop out."""

from __future__ import annotations

from datetime import date

from backend.db import fetch
from backend.ledger.catalogue import catalogues

_IN_FORCE_SQL = """
SELECT e.subject_kind, e.subject_id, sum(e.points)::bigint AS points
FROM village_points_entry e
WHERE e.occurred_on <= {} AND e.valid_until > {} AND e.reverses_entry IS NULL
  AND NOT EXISTS (SELECT 1 FROM village_points_entry r WHERE r.reverses_entry = e.id)
  AND %s
GROUP BY e.subject_kind, e.subject_id
"""


def counted_on(county_id: int | None, day: date) -> bool:
    """Whether the county's version in force on ``day`` counts village points at all."""
    return catalogues(county_id).version_on(day).scoring.village_points is not None


async def in_force_totals(county_id: int | None, day: date, subject_where: str = "true",
                          subject_args: list | tuple = ()) -> dict[tuple[str, int], int]:
    """(subject kind, id) → village points (tenths) in force on ``day``, for the subjects ``subject_where``
    selects (SQL over ``e.subject_kind`` / ``e.subject_id``, ``{}`` placeholders) — empty when the
    county's catalogue does not count them, so nothing is read."""
    if not counted_on(county_id, day):
        return {}
    return await all_totals(county_id, day, subject_where, subject_args)


async def all_totals(county_id: int | None, day: date, subject_where: str = "true",
                     subject_args: list | tuple = ()) -> dict[tuple[str, int], int]:
    """The same, whatever the catalogue says (for the impact of a version that may start counting them)."""
    county_filter = "e.county_id = {}" if county_id is not None else "true"
    args = [county_id] if county_id is not None else []
    rows = await fetch(_IN_FORCE_SQL % f"{county_filter} AND {subject_where}", day, day, *args, *subject_args)
    return {(r["subject_kind"], r["subject_id"]): r["points"] for r in rows}


async def subject_total(county_id: int | None, kind: str, subject_id: int, day: date) -> int:
    found = await in_force_totals(county_id, day, "e.subject_kind = {} AND e.subject_id = {}", [kind, subject_id])
    return found.get((kind, subject_id), 0)
