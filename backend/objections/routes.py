"""The route handlers this package adds to the app (``backend.app`` registers them)."""

from backend.objections.controllers import EntryObjectionController

ROUTES: list = [EntryObjectionController]
