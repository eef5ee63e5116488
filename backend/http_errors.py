"""Maps every exception to the uniform error body ``{code, message_zh, message_en, details}``."""

from __future__ import annotations

import logging

from asyncpg.exceptions import IntegrityConstraintViolationError
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, MethodNotAllowedException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from backend.errors import Conflict, CunxinError, InvalidInput, ServiceUnavailable
from backend.schemas import CONTROL_CHARACTER_CODE, CONTROL_CHARACTER_EN, CONTROL_CHARACTER_ZH
from points_rules import RuleError

logger = logging.getLogger("cunxin.errors")

# The errors this module makes from framework and database exceptions (also documented from here).
REQUEST_INVALID = CunxinError("请求参数不合法", "Request parameters are invalid", code="REQUEST_INVALID")
CONTROL_CHARACTER = InvalidInput(CONTROL_CHARACTER_ZH, CONTROL_CHARACTER_EN, code=CONTROL_CHARACTER_CODE)
DB_CONFLICT = Conflict("数据已被其他操作修改或与现有记录冲突，请刷新后重试",
                       "The change conflicts with the current data (another request may have changed it); reload and retry",
                       code="DB_CONFLICT")

_HTTP_CODES: dict[int, tuple[str, str, str]] = {
    400: ("BAD_REQUEST", "请求格式有误", "Malformed request"),
    401: ("AUTH_REQUIRED", "请先登录", "Authentication required"),
    403: ("PERMISSION_DENIED", "无权执行此操作", "Permission denied"),
    404: ("NOT_FOUND", "未找到该记录", "Not found"),
    405: ("METHOD_NOT_ALLOWED", "不支持该请求方法", "Method not allowed"),
    413: ("PAYLOAD_TOO_LARGE", "上传内容过大", "Payload too large"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "不支持的内容类型", "Unsupported media type"),
    429: ("RATE_LIMITED", "请求过于频繁，请稍后再试", "Too many requests"),
}


def _body(code: str, zh: str, en: str, details=None) -> dict:
    return {"code": code, "message_zh": zh, "message_en": en, "details": details if details is not None else {}}


def _response(status: int, body: dict, request: Request) -> Response:
    headers = {}
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        headers["X-Request-ID"] = request_id
    return Response(content=body, status_code=status, media_type=MediaType.JSON, headers=headers)


def cunxin_error_handler(request: Request, exc: CunxinError) -> Response:
    return _response(exc.status_code, exc.to_body(), request)


def rule_error_handler(request: Request, exc: RuleError) -> Response:
    """An input the catalogue cannot handle (e.g. a date before its first version): 422."""
    return _response(exc.status_code, _body(exc.code, exc.message_zh, exc.message_en, exc.details), request)


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc, ValidationException):
        details = exc.extra if isinstance(exc.extra, (list, dict)) else {}
        if isinstance(details, list) and any(CONTROL_CHARACTER_CODE in str(e.get("message", ""))
                                             for e in details if isinstance(e, dict)):
            body = _body(CONTROL_CHARACTER.code, CONTROL_CHARACTER.message_zh, CONTROL_CHARACTER.message_en, details)
            return _response(CONTROL_CHARACTER.status_code, body, request)
        body = _body(REQUEST_INVALID.code, REQUEST_INVALID.message_zh, REQUEST_INVALID.message_en, details)
        return _response(REQUEST_INVALID.status_code, body, request)
    code, zh, en = _HTTP_CODES.get(exc.status_code, ("HTTP_ERROR", "请求失败", exc.detail or "Request failed"))
    response = _response(exc.status_code, _body(code, zh, en), request)
    if isinstance(exc, MethodNotAllowedException):
        # RFC 9110 §15.5.6: a 405 lists the methods the resource does support (the router knows them).
        allow = (exc.headers or {}).get("allow") or (exc.headers or {}).get("Allow")
        if allow:
            response.headers["Allow"] = allow
    return response


def integrity_error_handler(request: Request, exc: IntegrityConstraintViolationError) -> Response:
    """A write the database's own rules refused (a unique key another request took first, a
    reference that no longer holds, a check): 409, never a 500 — typically a race the service
    did not see coming. The transaction was rolled back, so nothing is half-written."""
    logger.info("integrity conflict on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    body = _body(DB_CONFLICT.code, DB_CONFLICT.message_zh, DB_CONFLICT.message_en,
                 {"constraint": getattr(exc, "constraint_name", None) or ""})
    return _response(DB_CONFLICT.status_code, body, request)


_UNAVAILABLE_NAMES = ("ConnectionError", "ConnectionRefusedError", "TimeoutError",
                      "CannotConnectNowError", "ConnectionDoesNotExistError", "InterfaceError",
                      "TooManyConnectionsError")


def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    """Dependencies that are down become 503 (retryable); anything else is logged and reported
    without internals. Reaching this for a non-dependency error is a bug to fix."""
    if isinstance(exc, (ConnectionError, TimeoutError, OSError)) or type(exc).__name__ in _UNAVAILABLE_NAMES:
        logger.warning("dependency unavailable: %r", exc)
        return cunxin_error_handler(request, ServiceUnavailable())
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    body = _body("INTERNAL_ERROR", "服务器内部错误，已记录，请稍后重试", "Internal error; it has been logged")
    return _response(HTTP_500_INTERNAL_SERVER_ERROR, body, request)


EXCEPTION_HANDLERS = {
    CunxinError: cunxin_error_handler,
    RuleError: rule_error_handler,
    IntegrityConstraintViolationError: integrity_error_handler,
    HTTPException: http_exception_handler,
    Exception: unexpected_error_handler,
}
