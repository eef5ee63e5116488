"""RequestModel's strictness reaches every way an id can be declared: plain, bounded
(``IntIdField``), optional, and optional-bounded — the last used to take ``"5"`` for 5."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backend.schemas import IntIdField, RequestModel


class _Ids(RequestModel):
    plain: int = 1
    bounded: IntIdField = 1
    optional: int | None = None
    optional_bounded: IntIdField | None = None
    flag: bool | None = None


@pytest.mark.parametrize("field", ["plain", "bounded", "optional", "optional_bounded"])
@pytest.mark.parametrize("value", ["5", True, 5.0])
def test_ids_are_never_coerced(field, value):
    with pytest.raises(ValidationError):
        _Ids(**{field: value})


@pytest.mark.parametrize("field", ["plain", "bounded", "optional", "optional_bounded"])
def test_real_ints_pass(field):
    assert getattr(_Ids(**{field: 5}), field) == 5


@pytest.mark.parametrize("value", [1, "true", "1"])
def test_optional_flags_take_only_booleans(value):
    with pytest.raises(ValidationError):
        _Ids(flag=value)
