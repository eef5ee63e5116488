"""The route handlers this package adds to the app (``backend.app`` registers them)."""

from backend.commitments.controllers import CommitmentController, CommitmentTemplateController

ROUTES: list = [CommitmentTemplateController, CommitmentController]
