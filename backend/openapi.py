"""The OpenAPI document, made to tell the truth.

Handlers declare what is particular to them: a summary, their docstring, and the errors their
service raises (``responses=errors(NotFound, Conflict(..., code=...))``). What holds for whole
classes of operations is added here, from the same facts the runtime uses, so it cannot drift:

* ``security`` — on every operation outside ``PUBLIC_PATHS`` (the auth middleware's own list), with
  its 401 codes;
* 403 — on every operation with a role guard;
* 400 ``REQUEST_INVALID`` — on every operation that takes parameters or a body (Litestar's own 400
  body, which the API never sends, is replaced);
* 422 ``INPUT_CONTROL_CHARACTER`` everywhere (a NUL anywhere in a URL is refused before any
  handler runs), 413 where there is a body, 409 ``DB_CONFLICT`` on authenticated writes, 503 wherever
  PostgreSQL or Redis is needed;
* headers the error answers really carry (``Retry-After`` on 429), and image media types.

Every error response has the one body the API sends: ``{code, message_zh, message_en, details}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from litestar import Litestar
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Components,
    Example,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Schema,
    SecurityScheme,
)
from litestar.routes import HTTPRoute

from backend.apidocs import LocalSwaggerRenderPlugin
from backend.errors import CunxinError, InvalidInput, NotAuthenticated, PayloadTooLarge, PermissionDenied, ServiceUnavailable
from backend.http_errors import CONTROL_CHARACTER, DB_CONFLICT, REQUEST_INVALID
from backend.schemas import ErrorBody

BEARER = "bearerToken"
SECURITY = [{BEARER: []}]
IMAGES = "openapi_images"  # handler ``opt`` key: the image media types a handler answers with
_REQUEST_PARTS = {"request", "state", "scope", "headers", "cookies", "socket", "query", "body"}
# Operations that answer without PostgreSQL or Redis (no 503): liveness and the public catalogue files.
_NO_DEPENDENCY = re.compile(r"^/(healthz|catalogue|api/v1/catalogue)")

_STATUS_TEXT = {400: "请求不合法 Bad request", 401: "未登录或凭证无效 Not authenticated",
                403: "无权执行 Permission denied", 404: "未找到 Not found", 409: "冲突 Conflict",
                413: "内容过大 Payload too large", 415: "不支持的内容类型 Unsupported media type", 422: "输入不合法 Invalid input",
                423: "已锁定 Locked", 429: "过于频繁 Too many requests", 503: "服务暂不可用 Service unavailable"}


@dataclass
class ErrorResponse(ResponseSpec):
    """A documented error status: the uniform error body, and the codes this operation can answer with it."""

    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code → (message_zh, message_en)


def _spec(status: int, codes: dict[str, tuple[str, str]]) -> ErrorResponse:
    lines = "\n".join(f"- `{code}` — {zh} · {en}" for code, (zh, en) in codes.items())
    examples = [Example(summary=code, value={"code": code, "message_zh": zh, "message_en": en, "details": {}})
                for code, (zh, en) in codes.items()]
    return ErrorResponse(data_container=ErrorBody, description=f"{_STATUS_TEXT.get(status, status)}\n\n{lines}",
                         generate_examples=False, examples=examples, codes=dict(codes))


def errors(*raised: CunxinError | type[CunxinError]) -> dict[int, ResponseSpec]:
    """The ``responses=`` of a handler, built from the errors it can raise: an error class (its
    default code) or an instance (a particular ``code`` and message), grouped by status."""
    by_status: dict[int, dict[str, tuple[str, str]]] = {}
    for error in raised:  # a class's attributes, or an instance's own
        by_status.setdefault(error.status_code, {})[error.code] = (error.message_zh, error.message_en)
    return {status: _spec(status, codes) for status, codes in sorted(by_status.items())}


def _merge(*groups: dict[int, ResponseSpec]) -> dict[int, ResponseSpec]:
    merged: dict[int, dict[str, tuple[str, str]]] = {}
    others: dict[int, ResponseSpec] = {}
    for group in groups:
        for status, spec in group.items():
            if isinstance(spec, ErrorResponse):
                merged.setdefault(status, {}).update(spec.codes)
            else:
                others[status] = spec
    # A handler's own non-error answer for a status (readyz's 503 body) wins over a common error.
    return {**{status: _spec(status, codes) for status, codes in sorted(merged.items()) if status not in others},
            **others}


def is_public(path: str, public_paths: Iterable[str]) -> bool:
    """Whether the auth middleware lets ``path`` through without a token (same regexes, same test)."""
    return any(re.search(pattern, path) for pattern in public_paths)


_UNAUTHENTICATED = [
    NotAuthenticated,
    NotAuthenticated("登录凭证无效或已过期", "Token invalid or expired", code="AUTH_TOKEN_INVALID"),
    NotAuthenticated("登录已失效，请重新登录", "Session ended; log in again", code="AUTH_SESSION_ENDED"),
]


# Errors several slices document: the ``as_of`` parameter, and what the rules engine refuses
# (``points_rules.RuleError``, answered as 422 with its own code).
AS_OF_INVALID = InvalidInput("as_of 须为 YYYY-MM-DD 格式的有效日期", "as_of must be a valid date written YYYY-MM-DD",
                             code="AS_OF_INVALID")
NO_CATALOGUE = InvalidInput("该日期没有生效的积分目录", "No catalogue version is in force on that day",
                            code="RULES_NO_CATALOGUE")
RULE_ERRORS = [
    NO_CATALOGUE,
    InvalidInput("积分目录中没有该事项", "Unknown catalogue item", code="RULES_UNKNOWN_ITEM"),
    InvalidInput("该事项不适用于此类主体", "The item does not apply to this kind of subject", code="RULES_SUBJECT_KIND"),
    InvalidInput("等级不在该事项的范围内", "Unknown level for this item", code="RULES_LEVEL"),
    InvalidInput("数量不合法", "Invalid quantity", code="RULES_QUANTITY"),
    InvalidInput("日期不合法", "Invalid date", code="RULES_DATE"),
]


def _common_errors(path: str, handler, public_paths: Iterable[str]) -> dict[int, ResponseSpec]:
    inputs = set(handler.parsed_fn_signature.parameters) - _REQUEST_PARTS - {"self"}
    raised: list[CunxinError | type[CunxinError]] = [CONTROL_CHARACTER]
    if inputs:
        raised.append(REQUEST_INVALID)
    if "data" in inputs:
        raised.append(PayloadTooLarge)
    if not is_public(path, public_paths):
        raised += _UNAUTHENTICATED
        if "POST" in handler.http_methods:
            raised.append(DB_CONFLICT)
    if handler.resolve_guards():
        raised.append(PermissionDenied)
    if not _NO_DEPENDENCY.search(path):
        raised.append(ServiceUnavailable)
    return errors(*raised)


def openapi_config(*, title: str, version: str, description: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title=title,
        version=version,
        description=description,
        path="/schema",
        use_handler_docstrings=True,
        components=Components(
            security_schemes={BEARER: SecurityScheme(
                type="http", scheme="bearer", bearer_format="JWT",
                description="POST /api/v1/auth/login (people) or /api/v1/auth/token (bank clients) → "
                            "`Authorization: Bearer <access_token>` (15 minutes)")},
        ),
        # One renderer, its files served by the platform (intranets: no CDN); Scalar and ReDoc are not
        # offered — their bundles would be vendored too, and both load web fonts by default.
        render_plugins=[LocalSwaggerRenderPlugin(schema_path="/schema", path="/swagger")],
    )


def images(*media_types: str) -> dict[str, tuple[str, ...]]:
    """A handler's ``opt=``: it answers with one of these image types (documented as binary)."""
    return {IMAGES: media_types}


def _binary(media_types: Iterable[str]) -> dict[str, OpenAPIMediaType]:
    return {media: OpenAPIMediaType(schema=Schema(type="string", format="binary")) for media in media_types}


def document(app: Litestar, public_paths: Iterable[str]) -> None:
    """Complete every operation of ``app`` (call once, after the app is built, before it serves)."""
    public_paths = list(public_paths)
    operations = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            handler.responses = _merge(_common_errors(route.path_format, handler, public_paths),
                                       handler.responses or {})
            for method in handler.http_methods:
                operations[(route.path_format, method.lower())] = handler

    schema = app.openapi_schema  # built now with the responses above, and cached for /schema
    for path, item in (schema.paths or {}).items():
        for method in ("get", "post", "put", "patch", "delete"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            handler = operations.get((path, method))
            if not is_public(path, public_paths):
                operation.security = SECURITY
            for status, response in (operation.responses or {}).items():
                if status == "429" and isinstance(response, OpenAPIResponse):
                    response.headers = {"Retry-After": OpenAPIHeader(
                        required=True, description="seconds to wait before the next attempt",
                        schema=Schema(type="integer", minimum=1))}
            if handler is None:
                continue
            success = operation.responses[str(handler.status_code)]
            if handler.opt.get(IMAGES):
                success.content = _binary(handler.opt[IMAGES])
            elif success.content and all(media.startswith("image/") for media in success.content):
                success.content = _binary(success.content)
