"""The route handlers this package adds to the app (``backend.app`` registers them)."""

from backend.reports.controllers import SemiAnnualReportController

ROUTES: list = [SemiAnnualReportController]
