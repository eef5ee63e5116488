from __future__ import annotations

import pytest

from backend.errors import InvalidInput
from backend.identity.masking import mask_id_number, mask_name, mask_phone, mask_uscc
from backend.identity.phone import normalize_mobile


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "138 0013 8000",
        "+86 13800138000",
        "+86-138-0013-8000",
        "86-138-0013-8000",
        "8613800138000",
        "0086 138 0013 8000",
        "(+86) 138-0013-8000",
        "１３８００１３８０００",
        "　138　0013　8000　",
    ],
)
def test_normalize_mobile_accepts(raw: str) -> None:
    assert normalize_mobile(raw) == "13800138000"


@pytest.mark.parametrize("prefix", "3456789")
def test_all_valid_second_digits(prefix: str) -> None:
    assert normalize_mobile(f"1{prefix}912345678") == f"1{prefix}912345678"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12800138000",  # second digit 2
        "10800138000",
        "23800138000",
        "1380013800",  # 10 digits
        "138001380001",  # 12 digits
        "+1 13800138000",  # foreign country code
        "+8613800138000 ext 1",
        "0931-8123456",  # landline
        "1380013800O",  # letter O
        "1380013800٠",  # Arabic-Indic zero
        "86 1380013800",  # 86 + only 10 digits
    ],
)
def test_normalize_mobile_rejects(raw: str) -> None:
    with pytest.raises(InvalidInput) as exc_info:
        normalize_mobile(raw)
    assert exc_info.value.code == "PHONE_FORMAT"
    assert exc_info.value.details == {"field": "phone"}


def test_mask_id_number() -> None:
    assert mask_id_number("620702199001011234") == "620702********1234"
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_id_number("110105491231002") == "******"
    assert mask_id_number("") == "******"


def test_mask_phone() -> None:
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("1234") == "****"


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张", "*"), ("张三", "张*"), ("张小三", "张*三"), ("欧阳娜娜", "欧**娜"), ("阿卜杜拉·买买提", "阿******提"), ("", "")],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_mask_uscc() -> None:
    assert mask_uscc("91350100M000100Y43") == "91350100******0Y43"
    assert mask_uscc("short") == "******"
