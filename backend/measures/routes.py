"""The route handlers this package adds to the app (``backend.app`` registers them)."""

from backend.measures.controllers import EligibilityListController, MeasureController

ROUTES: list = [MeasureController, EligibilityListController]
