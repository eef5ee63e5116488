"""The route handlers this package adds to the app (``backend.app`` registers them)."""

ROUTES: list = []
