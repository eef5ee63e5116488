"""Standing from pre-aggregated totals, for county-wide recomputes.

The database sums in-force points per subject in one pass; this applies exactly the grade rule of
:func:`points_rules.engine.standing` to those sums (a property test holds the two equal), without
the per-entry detail (entry ids, next expiry) that only a single person's view needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from points_rules.engine import Standing, apply_overrides, grade_for
from points_rules.model import CatalogueSet
from points_rules.units import format_points


def standing_from_totals(
    catalogues: CatalogueSet, as_of: date, in_force_points: int, overrides: Sequence[tuple[str, date]] = (),
    village_total: int = 0,
) -> Standing:
    """``in_force_points``: tenths of all counting entries in force on ``as_of``; ``overrides``:
    (grade, valid_until) of in-force direct grades; ``village_total``: village points in force (they
    count only as the version's ``scoring.village_points`` says)."""
    version = catalogues.version_on(as_of)
    scoring = version.scoring
    score = scoring.base + in_force_points + scoring.village_counted(village_total)
    score_grade = grade_for(version, score)
    grade, worst, until = apply_overrides(scoring, score_grade, overrides)
    return Standing(
        as_of=as_of,
        catalogue_version=version.version,
        base=scoring.base,
        score=score,
        grade=grade,
        grade_override=worst,
        override_until=until,
        in_force_entry_ids=[],
        next_expiry=None,
        next_expiry_points=0,
        explanation_zh=f"总分{format_points(score, signed=False)}分，等级{grade}（汇总计算）",
    )
