"""Shared response shapes: the error body and pagination."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. NOT_FOUND")
    message_zh: str
    message_en: str
    details: dict[str, Any] | list[Any] = Field(default_factory=dict)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
