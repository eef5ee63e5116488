"""The route handlers this package adds to the app (``backend.app`` registers them)."""

from backend.quality.controllers import QualityController

ROUTES: list = [QualityController]
