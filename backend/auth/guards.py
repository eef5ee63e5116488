"""Role guards: which *kinds* of caller may use an endpoint (403). Jurisdiction is scope's job (404)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from backend.auth.roles import Actor, Role
from backend.errors import NotAuthenticated, PermissionDenied


def require_roles(*roles: Role) -> Callable[[ASGIConnection, BaseRouteHandler], Awaitable[None]]:
    allowed = frozenset(roles)

    # async although it awaits nothing: Litestar runs a plain function guard in a worker thread
    # (a thread hop on every request).
    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        # Read the scope directly: the auth middleware skips OPTIONS/HEAD, leaving no user at all.
        actor = connection.scope.get("user")
        if not isinstance(actor, Actor):
            raise NotAuthenticated()
        if actor.role not in allowed:
            raise PermissionDenied()

    guard.__name__ = "require_" + "_or_".join(sorted(r.value for r in allowed))
    return guard


PEOPLE_READERS = require_roles(Role.GRID_WORKER, Role.VILLAGER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
STRUCTURE_READERS = require_roles(Role.GRID_WORKER, Role.VILLAGER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN, Role.AUDITOR)
REGISTRY_WRITERS = require_roles(Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)
AUDIT_READERS = require_roles(Role.AUDITOR, Role.COUNTY_ADMIN)
