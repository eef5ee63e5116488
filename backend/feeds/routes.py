"""The route handlers this package adds to the app (``backend.app`` registers them)."""

from backend.feeds.controllers import FeedInboundController, FeedQueueController, FeedSourceController, FeedUploadController

ROUTES: list = [FeedSourceController, FeedUploadController, FeedInboundController, FeedQueueController]
