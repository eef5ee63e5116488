"""Before every HTTP request: bring the in-memory county catalogue sets up to date (one cheap
query when nothing was published; see ``backend.ledger.catalogue``) — before every write, and
before a read unless the last check is younger than ``READ_MAX_AGE``. If the database cannot be
reached the request goes on with the set already loaded (it will fail or succeed on its own)."""

from __future__ import annotations

import logging

from litestar.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger("cunxin.catalogue")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CatalogueRefreshMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            from backend.ledger.catalogue import READ_MAX_AGE, refresh_catalogues

            read = scope.get("method", "GET") in SAFE_METHODS
            try:
                await refresh_catalogues(max_age=READ_MAX_AGE if read else 0.0)
            except Exception as exc:  # noqa: BLE001 - never turn a request into a 500 for this
                logger.warning("catalogue refresh failed: %r", exc)
        await self.app(scope, receive, send)
