"""The app factory: wires routes, auth, error handling, the admin and the database pool."""

from __future__ import annotations

import logging

from litestar import Litestar, asgi
from litestar.config.cors import CORSConfig
from litestar.middleware.base import DefineMiddleware
from litestar.types import Receive, Scope, Send
from piccolo.engine import engine_finder
from redis.asyncio import Redis

from backend.audit.controllers import AccessLogController
from backend.bank.routes import ROUTES as BANK_ROUTES
from backend.feeds.routes import ROUTES as FEED_ROUTES
from backend.honour.routes import ROUTES as HONOUR_ROUTES
from backend.measures.routes import ROUTES as MEASURE_ROUTES
from backend.objections.routes import ROUTES as OBJECTION_ROUTES
from backend.repair.routes import ROUTES as REPAIR_ROUTES
from backend.commitments.routes import ROUTES as COMMITMENTS_ROUTES
from backend.history.routes import ROUTES as HISTORY_ROUTES
from backend.reports.routes import ROUTES as REPORT_ROUTES
from backend.fieldwork.routes import ROUTES as FIELDWORK_ROUTES
from backend.catalogue.routes import ROUTES as CATALOGUE_ROUTES
from backend.quality.routes import ROUTES as QUALITY_ROUTES
from backend.catalogue.middleware import CatalogueRefreshMiddleware
from backend.village_rules.routes import ROUTES as VILLAGE_RULES_ROUTES
from backend.webhooks.routes import ROUTES as WEBHOOK_ROUTES
from backend.notifications.routes import ROUTES as NOTIFICATION_ROUTES
from backend.auth.controllers import AuthController
from backend.catalogue.controllers import CatalogueController, catalogue_page
from backend.consent.controllers import ConsentController, jwks
from backend.auth.middleware import PUBLIC_PATHS, BearerAuthMiddleware
from backend.evidence.controllers import EvidenceController
from backend.health import healthz, readyz
from backend.http_errors import EXCEPTION_HANDLERS
from backend.openapi import document, openapi_config
from backend.ledger.controllers import EventController, PointsController, ReviewController
from backend.ratings.controllers import ObjectionController, RatingPeriodController, StandingController
from backend.registry.controllers import PeopleController, RegistryChangeController, StructureController
from backend.body_limits import JSON_BODY
from backend.db import release_as_is
from backend.params import before_request
from backend import mobile_app
from backend.security_headers import add_security_headers
from backend.settings import get_settings

def _admin_mount():
    from admin import build_admin

    admin_app = build_admin()

    @asgi("/admin", is_mount=True, copy_scope=True, include_in_schema=False)
    async def admin(scope: Scope, receive: Receive, send: Send) -> None:
        await admin_app(scope, receive, send)

    return admin


async def _start(app: Litestar) -> None:
    await engine_finder().start_connection_pool(min_size=1, max_size=10, reset=release_as_is)
    app.state.redis = Redis.from_url(get_settings().redis_url, socket_timeout=2, socket_connect_timeout=2)


async def _stop(app: Litestar) -> None:
    from backend import jobs

    await jobs.close()
    await app.state.redis.aclose()
    await engine_finder().close_connection_pool()


def create_app(*, with_admin: bool = True) -> Litestar:
    get_settings()  # fail fast on missing configuration, before anything is wired
    logging.basicConfig(level=logging.INFO)
    handlers = [
        healthz,
        readyz,
        AuthController,
        StructureController,
        PeopleController,
        RegistryChangeController,
        AccessLogController,
        EventController,
        ReviewController,
        PointsController,
        EvidenceController,
        CatalogueController,
        catalogue_page,
        RatingPeriodController,
        ObjectionController,
        StandingController,
        ConsentController, jwks,
        *BANK_ROUTES,
        *MEASURE_ROUTES,
        *HONOUR_ROUTES,
        *WEBHOOK_ROUTES,
        *FEED_ROUTES,
        *OBJECTION_ROUTES,
        *REPAIR_ROUTES,
        *COMMITMENTS_ROUTES,
        *HISTORY_ROUTES,
        *REPORT_ROUTES,
        *FIELDWORK_ROUTES,
        *CATALOGUE_ROUTES,
        *QUALITY_ROUTES,
        *VILLAGE_RULES_ROUTES,
        *NOTIFICATION_ROUTES,
        *mobile_app.routes(),
    ]
    if with_admin:
        handlers.append(_admin_mount())
    app = Litestar(
        route_handlers=handlers,
        on_startup=[_start],
        on_shutdown=[_stop],
        before_request=before_request,
        before_send=[add_security_headers],
        middleware=[DefineMiddleware(CatalogueRefreshMiddleware),
                    DefineMiddleware(BearerAuthMiddleware, exclude=PUBLIC_PATHS)],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=JSON_BODY,  # bulk routes and photo upload set their own
        cors_config=CORSConfig(allow_origins=[]),
        openapi_config=openapi_config(
            title="村信 Cunxin API",
            version="1.0.0",
            description="信用户、信用村、信用乡镇 — credit points, ratings and consent. "
            "Errors: {code, message_zh, message_en, details}.",
        ),
        debug=False,
    )
    document(app, PUBLIC_PATHS)
    return app
