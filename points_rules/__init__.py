"""积分规则 — the pure rules engine of Cunxin: the versioned catalogue, scoring and standing.

No database, no clock, no network: dataclasses in, dataclasses out. Points are integers in tenths
(``POINT_UNIT``); the catalogue is YAML under ``catalogue/``, one file per version.
"""

from points_rules.diff import ChangeLine, diff_versions
from points_rules.engine import (
    EntryDraft, EntryView, Event, PriorEntry, ScoreResult, Standing, grade_for, score_event, standing,
)
from points_rules.history import ActiveEntry, Append, Change, Plan, Scored, canonical_key, reconcile, score_history
from points_rules.loader import DEFAULT_CATALOGUE_DIR, check_catalogue_dir, load_catalogue_dir, load_version_file
from points_rules.model import (
    CatalogueError, CatalogueProblem, CatalogueSet, CatalogueVersion, Item, RuleError, tier_points,
)
from points_rules.units import POINT_UNIT
from points_rules.model import (
    ApprovalRules, HouseholdRules, RatingRules, StarBand, TownshipRules, VillageRules,
)
from points_rules.ratings import (
    HouseholdRating, MemberInput, TownshipRating, VillageRating, family_charge, has_serious_dishonesty,
    in_force_points, member_input, publicity_end, rate_household, rate_township, rate_village,
)
from points_rules.workdays import WorkCalendar

__all__ = [
    "POINT_UNIT", "DEFAULT_CATALOGUE_DIR",
    "CatalogueSet", "CatalogueVersion", "Item", "CatalogueProblem", "CatalogueError", "RuleError",
    "load_catalogue_dir", "check_catalogue_dir", "load_version_file", "tier_points",
    "ChangeLine", "diff_versions",
    "Event", "PriorEntry", "EntryDraft", "ScoreResult", "EntryView", "Standing",
    "score_event", "standing", "grade_for",
    "Scored", "score_history", "canonical_key", "ActiveEntry", "Change", "Append", "Plan", "reconcile",
    "RatingRules", "HouseholdRules", "VillageRules", "TownshipRules", "ApprovalRules", "StarBand",
    "MemberInput", "HouseholdRating", "VillageRating", "TownshipRating",
    "rate_household", "rate_village", "rate_township",
    "family_charge", "has_serious_dishonesty", "in_force_points", "member_input", "publicity_end",
    "WorkCalendar",
]
