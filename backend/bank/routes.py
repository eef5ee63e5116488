"""The route handlers this package adds to the app (``backend.app`` registers them)."""

from backend.bank.controllers import BankController

ROUTES: list = [BankController]
