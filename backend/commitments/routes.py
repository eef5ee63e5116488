"""The route handlers this package adds to the app (``backend.app`` registers them)."""

from backend.webhooks.controllers import WebhookController

ROUTES: list = [WebhookController]
