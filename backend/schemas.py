"""Shared response shapes: the error body and pagination."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

# Ids in request bodies, bounded like their columns (an overflow is a 400, not a database error).
IntIdField = Annotated[int, Field(ge=1, le=2**31 - 1)]
BigIdField = Annotated[int, Field(ge=1, le=2**63 - 1)]

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
