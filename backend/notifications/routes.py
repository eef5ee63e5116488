"""The route handlers this package adds to the app (``backend.app`` registers them)."""

from backend.notifications.controllers import MyNoticeController, NoticeDeliveryController

ROUTES: list = [MyNoticeController, NoticeDeliveryController]
