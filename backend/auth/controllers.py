"""Auth endpoints: password login, refresh, logout, bank client credentials, who-am-I."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable
from dataclasses import dataclass
from urllib.parse import unquote_plus

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.exceptions import SerializationException, ValidationException
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT
from pydantic import ValidationError

from backend.auth import services, throttle
from backend.auth.roles import Actor
from backend.auth.schemas import ClientCredentialsIn, LoginIn, MeOut, RefreshIn, TokenOut
from backend.auth.throttle import Throttled
from backend.errors import InvalidInput, NotAuthenticated, PayloadTooLarge, UnsupportedMediaType
from backend.http_errors import REQUEST_INVALID
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


FORM = "application/x-www-form-urlencoded"
TWO_CLIENT_AUTHS = InvalidInput("客户端凭证只能用一种方式提交", "Send client credentials either by HTTP Basic or in the body, not both",
                                code="AUTH_CLIENT_AUTH_TWICE")
_CREDENTIALS_SCHEMA = Schema(
    type="object", required=["grant_type", "client_id", "client_secret"],
    properties={"grant_type": Schema(type="string", enum=["client_credentials"]),
                "client_id": Schema(type="string", min_length=1, max_length=64),
                "client_secret": Schema(type="string", min_length=1, max_length=256)},
    description="client_id/client_secret may instead come by HTTP Basic (RFC 6749 §2.3.1); then leave them out",
)


@dataclass
class _TokenOperation(Operation):
    """The token request as OAuth2 clients send it (a form) and as JSON; parsed by hand below, so
    Litestar cannot derive the request body itself."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(required=True, content={
            FORM: OpenAPIMediaType(schema=_CREDENTIALS_SCHEMA),
            MediaType.JSON.value: OpenAPIMediaType(schema=_CREDENTIALS_SCHEMA)})


def _basic_credentials(request: Request) -> dict[str, str]:
    """client_id/client_secret from ``Authorization: Basic`` (each form-url-encoded, RFC 6749 §2.3.1)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return {}
    try:
        client_id, sep, secret = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        client_id, sep, secret = "", "", ""
    if not sep:
        raise NotAuthenticated("客户端凭证错误", "Wrong client credentials", code="AUTH_BAD_CLIENT")
    return {"client_id": unquote_plus(client_id), "client_secret": unquote_plus(secret)}


async def _token_request(request: Request) -> ClientCredentialsIn:
    """The body as a form (what OAuth2 clients send) or JSON, validated by the one request model."""
    media = request.content_type[0]
    if media == FORM:
        form = await request.form()
        if any(len(form.getall(key)) > 1 for key in form):
            raise ValidationException(extra=[{"key": "body", "message": "参数重复 (repeated parameter)"}])
        raw: object = dict(form.items())
    elif media == MediaType.JSON.value:
        try:
            raw = await request.json()
        except SerializationException as exc:  # malformed JSON: the client's error, not a 500
            raise ValidationException(extra=[{"key": "body", "message": str(exc)}]) from exc
    else:
        raise UnsupportedMediaType()
    basic = _basic_credentials(request)
    if basic and isinstance(raw, dict):
        if {"client_id", "client_secret"} & raw.keys():
            raise TWO_CLIENT_AUTHS
        raw = {**raw, **basic}
    try:
        return ClientCredentialsIn.model_validate(raw)
    except ValidationError as exc:
        raise ValidationException(extra=[{"key": ".".join(map(str, e["loc"])) or "body", "message": e["msg"]}
                                         for e in exc.errors()]) from exc


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
          operation_class=_TokenOperation,
          # The body is parsed by hand (no ``data`` parameter), so the 400 and 413 every body has are named here.
          responses=errors(BAD_CLIENT, Throttled, TWO_CLIENT_AUTHS, UnsupportedMediaType, REQUEST_INVALID,
                           PayloadTooLarge))
    async def token(self, request: Request) -> Response[TokenOut]:
        """Bank clients: the OAuth2 client-credentials grant (RFC 6749 §4.4), server to server.

        The body is a form (``application/x-www-form-urlencoded``, what OAuth2 libraries send) or
        JSON; the client authenticates in the body or by HTTP Basic. Throttled like login."""
        data = await _token_request(request)
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
