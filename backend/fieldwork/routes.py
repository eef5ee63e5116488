"""The route handlers this package adds to the app (``backend.app`` registers them)."""

from backend.fieldwork.controllers import GridWorkerWorkController, PartyActivityController, PatrolReportController

ROUTES: list = [PartyActivityController, PatrolReportController, GridWorkerWorkController]
