"""The route handlers this package adds to the app (``backend.app`` registers them)."""

from backend.history.controllers import EventImportController

ROUTES: list = [EventImportController]
