"""Before every HTTP request: bring the in-memory county catalogue sets up to date (one cheap
query when nothing was published; see ``backend.ledger.catalogue``). If the database cannot be
reached the request goes on with the set already loaded (it will fail or succeed on its own)."""

from __future__ import annotations

import logging

from litestar.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger("cunxin.catalogue")


class CatalogueRefreshMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            from backend.ledger.catalogue import refresh_catalogues

            try:
                await refresh_catalogues()
            except Exception as exc:  # noqa: BLE001 - never turn a request into a 500 for this
                logger.warning("catalogue refresh failed: %r", exc)
        await self.app(scope, receive, send)
