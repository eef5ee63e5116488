"""RequestModel's strictness reaches every way an id can be declared: plain, bounded
(``IntIdField``), optional, optional-bounded and in lists — the last two used to take ``"5"`` for 5."""

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
    ids: list[IntIdField] = []
    optional_ids: list[int] | None = None
    words: list[str] = []


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


@pytest.mark.parametrize("field", ["ids", "optional_ids"])
@pytest.mark.parametrize("value", [["5"], [True], [5.0], [1, "2"]])
def test_ids_in_lists_are_never_coerced(field, value):
    with pytest.raises(ValidationError):
        _Ids(**{field: value})


def test_lists_of_real_ids_and_of_words_pass():
    model = _Ids(ids=[1, 2], optional_ids=[3], words=["5", "甲"])
    assert (model.ids, model.optional_ids, model.words) == ([1, 2], [3], ["5", "甲"])
