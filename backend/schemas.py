"""Shared response shapes: the error body and pagination."""

from __future__ import annotations

import re
from typing import Annotated, Any, Generic, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

T = TypeVar("T")

# PostgreSQL text cannot hold NUL: asyncpg raises mid-transaction. Refused at the edge, with this
# code (the error handler turns a validation error carrying it into a 422 with the same code).
CONTROL_CHARACTER_CODE = "INPUT_CONTROL_CHARACTER"
CONTROL_CHARACTER_ZH = "输入含有不允许的控制字符（如 NUL、换向符、零宽字符）"
CONTROL_CHARACTER_EN = ("Input contains a control character that is not allowed "
                        "(e.g. NUL, a bidirectional override, a zero-width character)")

# Characters no name, note or reason needs and that can hide or reorder what a reader sees:
# C0 controls but tab/newline/carriage return, DEL and C1, bidirectional embeddings, overrides and
# isolates (U+202A–U+202E, U+2066–U+2069, U+200E/F, U+061C), zero-width characters and the BOM.
# Rare characters (生僻字 outside the BMP) and combining marks are ordinary text and pass.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f"
                        "\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


def has_nul(value: Any) -> bool:
    """Whether a NUL occurs in a string anywhere inside ``value`` (lists, dicts, keys included)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(has_nul(v) for v in value)
    return False


def has_forbidden_character(value: Any) -> bool:
    """Whether a string anywhere inside ``value`` holds a character of ``_FORBIDDEN`` (NUL included)."""
    if isinstance(value, str):
        return _FORBIDDEN.search(value) is not None
    if isinstance(value, dict):
        return any(has_forbidden_character(k) or has_forbidden_character(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(has_forbidden_character(v) for v in value)
    return False


def _accepted_types(annotation: Any) -> set[Any]:
    """The plain types a field accepts (``int | None`` → {int, NoneType}; ``list[int]`` → {list})."""
    if get_origin(annotation) is Union or type(annotation).__name__ == "UnionType":
        return {t for arg in get_args(annotation) for t in _accepted_types(arg)}
    if get_origin(annotation) is Annotated:  # ``IntIdField | None``: the int inside the Annotated
        return _accepted_types(get_args(annotation)[0])
    return {get_origin(annotation) or annotation}


def _item_types(annotation: Any) -> set[Any]:
    """The plain types a list field's items accept (``list[IntIdField] | None`` → {int})."""
    origin = get_origin(annotation)
    if origin is Union or type(annotation).__name__ == "UnionType":
        return {t for arg in get_args(annotation) for t in _item_types(arg)}
    if origin is Annotated:
        return _item_types(get_args(annotation)[0])
    if origin in (list, set, frozenset, tuple):
        return {t for arg in get_args(annotation) if arg is not Ellipsis for t in _accepted_types(arg)}
    return set()


class RequestModel(BaseModel):
    """Base of every request body: no string anywhere in it may hold NUL or another character
    of ``_FORBIDDEN``; unknown fields are refused (no mass assignment); ids, numbers and flags are
    strict — ``true`` is not 1 and ``"151"`` is not 151, in a list of ids too (decimal quantities may
    come as strings)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _strict_scalars(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        types = _accepted_types(field.annotation)
        if bool in types:
            if not isinstance(value, bool) and value is not None:
                raise PydanticCustomError("strict_bool", "应为 true 或 false (expected a boolean)")
        elif int in types and (isinstance(value, (bool, str, float))):
            raise PydanticCustomError("strict_int", "应为整数，不接受字符串、小数或布尔值 (expected an integer)")
        items = _item_types(field.annotation)
        if isinstance(value, list) and int in items and not items & {str, bool} \
                and any(isinstance(v, (bool, str, float)) for v in value):
            raise PydanticCustomError("strict_int", "应为整数，不接受字符串、小数或布尔值 (expected an integer)")
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        if has_forbidden_character(value):
            raise PydanticCustomError("input_control_character",
                                      f"{CONTROL_CHARACTER_CODE}: {CONTROL_CHARACTER_EN}")
        return value

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
