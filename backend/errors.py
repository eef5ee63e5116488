"""One exception hierarchy with stable codes and bilingual messages.

Pure Python (no web framework imports) so that pure modules can raise these too; the
HTTP mapping lives in ``backend.http_errors``.
"""

from __future__ import annotations

from typing import Any


class CunxinError(Exception):
    """Base of every error the platform reports to a caller.

    ``code`` is stable (clients switch on it); ``message_zh`` / ``message_en`` are for people.
    """

    status_code: int = 400
    code: str = "BAD_REQUEST"
    message_zh: str = "请求有误"
    message_en: str = "Bad request"

    def __init__(
        self,
        message_zh: str | None = None,
        message_en: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | list[Any] | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        if message_zh is not None:
            self.message_zh = message_zh
        if message_en is not None:
            self.message_en = message_en
        self.details = details if details is not None else {}
        super().__init__(f"{self.code}: {self.message_en}")

    def fresh(self, **details: Any) -> "CunxinError":
        """A new instance of this documented error with ``details`` (a module-level instance raised
        twice would grow its traceback, and must not carry one caller's details to the next)."""
        return type(self)(self.message_zh, self.message_en, code=self.code, details=details or None)

    def to_body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "details": self.details,
        }


class InvalidInput(CunxinError):
    """The caller sent something malformed or inconsistent (HTTP 400/422)."""

    status_code = 422
    code = "INVALID_INPUT"
    message_zh = "输入数据不合法"
    message_en = "Invalid input"


class NotAuthenticated(CunxinError):
    status_code = 401
    code = "AUTH_REQUIRED"
    message_zh = "请先登录"
    message_en = "Authentication required"


class PermissionDenied(CunxinError):
    """The caller's role may not do this at all (a *kind* of action, never a subject's existence)."""

    status_code = 403
    code = "PERMISSION_DENIED"
    message_zh = "无权执行此操作"
    message_en = "Permission denied"


class NotFound(CunxinError):
    """Absent, or outside the caller's jurisdiction — the two are deliberately indistinguishable."""

    status_code = 404
    code = "NOT_FOUND"
    message_zh = "未找到该记录"
    message_en = "Not found"


class Conflict(CunxinError):
    status_code = 409
    code = "CONFLICT"
    message_zh = "与现有数据冲突"
    message_en = "Conflicts with existing data"


class PayloadTooLarge(CunxinError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    message_zh = "上传内容过大"
    message_en = "Payload too large"


class UnsupportedMediaType(CunxinError):
    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    message_zh = "不支持的内容类型"
    message_en = "Unsupported media type"


class ServiceUnavailable(CunxinError):
    """A dependency (PostgreSQL, Redis) is down; the request had no effect and may be retried."""

    status_code = 503
    code = "SERVICE_UNAVAILABLE"
    message_zh = "服务暂时不可用，请稍后重试"
    message_en = "Service temporarily unavailable, please retry"
