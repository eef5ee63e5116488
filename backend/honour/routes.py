"""The route handlers this package adds to the app (``backend.app`` registers them)."""

from backend.honour.controllers import honour_roll, honour_roll_page

ROUTES: list = [honour_roll, honour_roll_page]
