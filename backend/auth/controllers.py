"""Auth endpoints: password login, refresh, logout, bank client credentials, who-am-I."""

from __future__ import annotations

from collections.abc import Awaitable

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from backend.auth import services, throttle
from backend.auth.roles import Actor
from backend.auth.schemas import ClientCredentialsIn, LoginIn, MeOut, RefreshIn, TokenOut
from backend.auth.throttle import Throttled
from backend.errors import NotAuthenticated
from backend.openapi import errors
from backend.requests import client_ip
from backend.settings import get_settings

# Documented answers; the services raise these codes (a locked account answers like a wrong password).
BAD_CREDENTIALS = NotAuthenticated("用户名或密码错误", "Wrong username or password", code="AUTH_BAD_CREDENTIALS")
BAD_CLIENT = NotAuthenticated("客户端凭证错误", "Wrong client credentials", code="AUTH_BAD_CLIENT")
REFRESH_INVALID = NotAuthenticated("刷新凭证无效", "Refresh token invalid", code="AUTH_REFRESH_INVALID")
ACCOUNT_DISABLED = NotAuthenticated("账户不可用", "Account disabled", code="AUTH_ACCOUNT_DISABLED")


def _token_out(pair: services.TokenPair) -> TokenOut:
    return TokenOut(access_token=pair.access_token, refresh_token=pair.refresh_token,
                    expires_in=pair.expires_in, role=pair.role)


async def _throttled(request: Request, call: Awaitable[services.TokenPair]) -> Response[TokenOut]:
    """A token, or 429 ``AUTH_THROTTLED`` in the uniform error body with ``Retry-After``."""
    try:
        return Response(_token_out(await call))
    except throttle.Throttled as exc:
        headers = {"Retry-After": str(exc.retry_after)}
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            headers["X-Request-ID"] = request_id
        return Response(content=exc.to_body(), status_code=exc.status_code, media_type=MediaType.JSON,
                        headers=headers)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth 认证"]

    @post("/login", operation_id="login",
          summary="账号密码登录 · Log in with username and password", status_code=HTTP_200_OK,
          responses=errors(BAD_CREDENTIALS, Throttled))
    async def login(self, request: Request, data: JSONBody[LoginIn]) -> Response[TokenOut]:
        """Log in with username and password; returns a short-lived access token and a refresh token.

        Repeated failures are throttled per account and address (429 with ``Retry-After``)."""
        return await _throttled(request, services.login(get_settings(), data.username, data.password,
                                                        ip=client_ip(request)))

    @post("/refresh", operation_id="refreshToken", summary="刷新令牌 · Exchange a refresh token", status_code=HTTP_200_OK,
          responses=errors(REFRESH_INVALID, ACCOUNT_DISABLED))
    async def refresh(self, request: Request, data: JSONBody[RefreshIn]) -> TokenOut:
        """Exchange a refresh token for a new pair; the old refresh token stops working."""
        return _token_out(await services.refresh(get_settings(), data.refresh_token, ip=client_ip(request)))

    @post("/token", operation_id="clientCredentialsToken",
          summary="银行客户端凭证换取令牌 · Bank client-credentials token", status_code=HTTP_200_OK,
          responses=errors(BAD_CLIENT, Throttled))
    async def token(self, request: Request, data: JSONBody[ClientCredentialsIn]) -> Response[TokenOut]:
        """Bank clients: OAuth2-style client-credentials grant (server to server), throttled like login."""
        return await _throttled(request, services.client_credentials(
            get_settings(), data.client_id, data.client_secret, ip=client_ip(request)))

    @post("/logout", operation_id="logout",
          summary="退出登录 · Log out (end this session)", status_code=HTTP_204_NO_CONTENT)
    async def logout(self, request: Request[Actor, object, object]) -> None:
        """End this session: its access and refresh tokens stop working at once."""
        await services.revoke_session(request.user.sid)

    @get("/me", operation_id="whoAmI", summary="当前账户与管辖范围 · Who am I (role and jurisdiction)")
    async def me(self, request: Request[Actor, object, object]) -> MeOut:
        """The caller's role and jurisdiction."""
        a = request.user
        return MeOut(kind=a.kind, id=a.id, role=a.role.value, username=a.label, county_id=a.county_id,
                     township_id=a.township_id, person_id=a.person_id, household_id=a.household_id,
                     grid_ids=sorted(a.grid_ids))
