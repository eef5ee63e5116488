from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from backend.errors import InvalidInput
from backend.identity.uscc import (
    USCC_CHARSET,
    USCC_WEIGHTS,
    compute_org_code_check_char,
    compute_uscc_check_char,
    is_valid_uscc,
    normalize_uscc,
    parse_uscc,
)

AUTHORITIES = "123456789ANY"
USCC_CODES = {"USCC_FORMAT", "USCC_CHECK_CHAR", "USCC_ORG_CODE"}


def error(raw: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as exc_info:
        parse_uscc(raw)  # type: ignore[arg-type]
    return exc_info.value


def test_constants() -> None:
    assert len(USCC_CHARSET) == 31 and not set("IOZSV") & set(USCC_CHARSET)
    assert USCC_WEIGHTS == tuple(pow(3, i, 31) for i in range(17))


def test_constructed_code() -> None:
    # Organisation code body 12345678:
    #   1*3+2*7+3*9+4*10+5*5+6*8+7*4+8*2 = 201; 201 % 11 = 3; 11 - 3 = 8 -> '8'.
    assert compute_org_code_check_char("12345678") == "8"
    # 91620702 + 12345678 + 8, charset values = digits here:
    #   9*1+1*3+6*9+2*27+0*19+7*26+0*16+2*17+1*20+2*29+3*25+4*13+5*8+6*24+7*10+8*30+8*28 = 1259;
    #   1259 % 31 = 19; 31 - 19 = 12 -> USCC_CHARSET[12] = 'C'.
    assert compute_uscc_check_char("91620702123456788") == "C"
    assert parse_uscc("91620702123456788C") == "91620702123456788C"


def test_real_world_format_example() -> None:
    # Org code M000100Y (GB 11714 values M=22, Y=34): 22*3 + 1*5 + 34*2 = 139;
    #   139 % 11 = 7; 11 - 7 = 4 -> '4'.
    assert compute_org_code_check_char("M000100Y") == "4"
    # USCC charset values M=21, Y=30:
    #   9*1+1*3+3*9+5*27+0+1*26+0+0+21*20+0+0+0+1*8+0+0+30*30+4*28 = 1640;
    #   1640 % 31 = 28; 31 - 28 = 3 -> '3'.
    assert compute_uscc_check_char("91350100M000100Y4") == "3"
    assert parse_uscc("91350100M000100Y43") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("first8", "expected"),
    [
        ("00000000", "0"),  # sum 0 -> 11 - 0 = 11 -> '0'
        ("00000006", "X"),  # sum 12 ≡ 1 -> 11 - 1 = 10 -> 'X'
        ("00000001", "9"),  # sum 2 -> 11 - 2 = 9
        ("A0000000", "3"),  # A = 10: sum 30 ≡ 8 -> 11 - 8 = 3
        ("Z0000000", "5"),  # Z = 35: sum 105 ≡ 6 -> 11 - 6 = 5
    ],
)
def test_org_code_table(first8: str, expected: str) -> None:
    assert compute_org_code_check_char(first8) == expected


@pytest.mark.parametrize("bad", ["", "1234567", "123456789", "1234567a", "1234567-"])
def test_compute_org_code_rejects_bad_input(bad: str) -> None:
    with pytest.raises(InvalidInput):
        compute_org_code_check_char(bad)


@pytest.mark.parametrize("bad", ["", "9162070212345678", "916207021234567888", "9162070212345678I"])
def test_compute_uscc_check_rejects_bad_input(bad: str) -> None:
    with pytest.raises(InvalidInput) as exc_info:
        compute_uscc_check_char(bad)
    assert exc_info.value.code == "USCC_FORMAT"


def test_normalize() -> None:
    assert normalize_uscc(" ９１３５０１００ｍ０００１００ｙ４３\u3000") == "91350100M000100Y43"
    assert normalize_uscc("91350100m000100y43") == "91350100M000100Y43"
    assert parse_uscc("9135 0100 m000 100y 43") == "91350100M000100Y43"


def _with_check(first17: str) -> str:
    return first17 + compute_uscc_check_char(first17)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "USCC_FORMAT"),
        ("91350100M000100Y4", "USCC_FORMAT"),  # 17 chars
        ("91350100M000100Y433", "USCC_FORMAT"),  # 19 chars
        ("91350100O000100Y43", "USCC_FORMAT"),  # O is not in the charset
        ("91350100M000100Y4S", "USCC_FORMAT"),  # S is not in the charset
        (_with_check("B1350100M000100Y4"), "USCC_FORMAT"),  # B is no registration authority
        (_with_check("01350100M000100Y4"), "USCC_FORMAT"),  # nor is 0
        ("91350100M000100Y44", "USCC_CHECK_CHAR"),
        (_with_check("91350100M000100Y5"), "USCC_ORG_CODE"),  # right overall check, wrong org check
        (_with_check("91620702123456789"), "USCC_ORG_CODE"),
    ],
)
def test_error_codes(raw: str, code: str) -> None:
    err = error(raw)
    assert err.code == code
    assert err.details == {"field": "uscc"}


def test_all_registration_authorities_accepted() -> None:
    for authority in AUTHORITIES:
        assert is_valid_uscc(_with_check(authority + "1350100M000100Y4")), authority


def test_non_string() -> None:
    assert error(None).code == "USCC_FORMAT"
    assert not is_valid_uscc("")


# --- properties --------------------------------------------------------------------------------

@st.composite
def valid_usccs(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(AUTHORITIES)) + draw(st.text("0123456789", min_size=7, max_size=7))
    org_body = draw(st.text(USCC_CHARSET, min_size=8, max_size=8))
    first17 = head + org_body + compute_org_code_check_char(org_body)
    return first17 + compute_uscc_check_char(first17)


@given(valid_usccs())
def test_every_valid_uscc_is_accepted(code: str) -> None:
    assert parse_uscc(code) == code
    assert parse_uscc(code.lower()) == code


@given(valid_usccs(), st.integers(0, 17), st.sampled_from(USCC_CHARSET))
def test_every_single_substitution_is_rejected(code: str, pos: int, char: str) -> None:
    # Why this always holds: a valid code satisfies sum(w_i * v_i) + v_18 ≡ 0 (mod 31) with v the
    # index in USCC_CHARSET (0..30). Replacing one character changes the sum by w_i * (v' - v);
    # every w_i = 3^i mod 31 is nonzero (w_18 = 1), 0 < |v' - v| <= 30 < 31, and 31 is prime, so
    # the product is nonzero mod 31 and the check fails. (The registration-authority or the
    # embedded org-code check may reject first; any InvalidInput counts.)
    assume(code[pos] != char)
    corrupted = code[:pos] + char + code[pos + 1 :]
    assert not is_valid_uscc(corrupted)
    assert error(corrupted).code in USCC_CODES
