"""Bearer-token authentication: verifies the JWT and loads the live Actor for every request."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from backend.auth import services, tokens
from backend.errors import NotAuthenticated
from backend.settings import get_settings

PUBLIC_PATHS = [
    "^/healthz$",
    "^/readyz$",
    "^/schema",
    "^/admin",
    "^/api/v1/auth/login$",
    "^/api/v1/auth/refresh$",
    "^/api/v1/auth/token$",
    "^/favicon.ico$",
    "^/api/v1/catalogue",  # the rules are public information (art. 32)
    "^/catalogue$",
    "^/\\.well-known/jwks\\.json$",  # public keys: banks verify receipts and attestations offline
    "^/api/v1/public/",  # the honour roll (红榜): positive information only, persons only under consent
    "^/honour-roll$",
    "^/m(/|$)",  # the H5 app's page and bundles (it logs in through the API)
    "^/api/v1/feeds/inbound/",  # neighbouring systems: authenticated by their HMAC signature (backend.feeds)
]


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated()
        claims = tokens.decode_access_token(token.strip(), settings=get_settings())
        actor = await services.load_actor(claims)
        return AuthenticationResult(user=actor, auth=claims)
