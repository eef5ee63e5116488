"""The route handlers this package adds to the app (``backend.app`` registers them)."""

from backend.village_rules.controllers import (VillagePointsController, VillageRuleLimitsController,
                                               VillageRuleVersionController)

ROUTES: list = [VillageRuleLimitsController, VillageRuleVersionController, VillagePointsController]
