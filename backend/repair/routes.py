"""The route handlers this package adds to the app (``backend.app`` registers them)."""

from backend.repair.controllers import RepairController

ROUTES: list = [RepairController]
