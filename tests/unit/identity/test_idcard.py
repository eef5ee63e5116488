from __future__ import annotations

import datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from backend.errors import InvalidInput
from backend import clock
from backend.identity.idcard import (
    ID_WEIGHTS,
    ResidentId,
    compute_check_digit,
    is_valid_id_number,
    normalize_id_number,
    parse_id_number,
)

TODAY = clock.today()
PROVINCES = [
    *map(str, range(11, 16)), *map(str, range(21, 24)), *map(str, range(31, 38)),
    *map(str, range(41, 47)), *map(str, range(50, 55)), *map(str, range(61, 66)), "71", "81", "82",
]
ID_CODES = {"ID_NUMBER_FORMAT", "ID_NUMBER_REGION", "ID_NUMBER_BIRTH_DATE", "ID_NUMBER_CHECK_DIGIT"}


def error(raw: object, today: datetime.date = TODAY) -> InvalidInput:
    with pytest.raises(InvalidInput) as exc_info:
        parse_id_number(raw, today=today)  # type: ignore[arg-type]
    return exc_info.value


# --- known values ------------------------------------------------------------------------------

def test_weights_constant() -> None:
    assert ID_WEIGHTS == (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def test_textbook_example() -> None:
    # 1*7+1*9+0*10+1*5+0*8+5*4+1*2+9*1+4*6+9*3+1*7+2*9+3*10+1*5+0*8+0*4+2*2 = 167;
    # 167 % 11 = 2 -> "10X98765432"[2] = 'X'.
    assert compute_check_digit("11010519491231002") == "X"
    rid = parse_id_number("11010519491231002X")
    assert rid == ResidentId(
        number="11010519491231002X",
        region_code="110105",
        birth_date=datetime.date(1949, 12, 31),
        sex="F",  # 17th digit 2 is even
    )
    assert "11010519491231002X" not in repr(rid)


def test_hand_computed_male() -> None:
    # 6*7+2*9+0*10+7*5+0*8+2*4+1*2+9*1+9*6+0*3+0*7+1*9+0*10+1*5+1*8+2*4+3*2 = 204;
    # 204 % 11 = 6 -> "10X98765432"[6] = '6'.
    assert compute_check_digit("62070219900101123") == "6"
    rid = parse_id_number("620702199001011236")
    assert (rid.region_code, rid.birth_date, rid.sex) == ("620702", datetime.date(1990, 1, 1), "M")


@pytest.mark.parametrize(
    ("first17", "expected"),
    [
        ("00000000000000000", "1"),  # sum 0
        ("00000000000000006", "0"),  # sum 12 ≡ 1
        ("00000000000000001", "X"),  # sum 2
        ("10000000000000000", "5"),  # sum 7 -> index 7 = '5'
    ],
)
def test_check_digit_table(first17: str, expected: str) -> None:
    assert compute_check_digit(first17) == expected


@pytest.mark.parametrize("bad", ["", "1234567890123456", "123456789012345678", "1101051949123100X", "１" * 17])
def test_compute_check_digit_rejects_non_17_ascii_digits(bad: str) -> None:
    with pytest.raises(InvalidInput) as exc_info:
        compute_check_digit(bad)
    assert exc_info.value.code == "ID_NUMBER_FORMAT"


# --- normalisation -----------------------------------------------------------------------------

def test_normalize_full_width_and_spaces() -> None:
    assert normalize_id_number("　１１０１０５ 19491231\t002ｘ ") == "11010519491231002X"
    assert normalize_id_number("11010519491231002x") == "11010519491231002X"
    assert normalize_id_number("11010519491231002Ｘ") == "11010519491231002X"
    assert parse_id_number("１１０１０５１９４９１２３１００２ｘ").number == "11010519491231002X"


# --- each failure has its own code -------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "ID_NUMBER_FORMAT"),
        ("110105491231002", "ID_NUMBER_FORMAT"),  # old 15-digit format
        ("11010519491231002X1", "ID_NUMBER_FORMAT"),
        ("1101051949123100XX", "ID_NUMBER_FORMAT"),
        ("11010519491231002Y", "ID_NUMBER_FORMAT"),
        ("1101051949123100٢X", "ID_NUMBER_FORMAT"),  # Arabic-Indic digit: not ASCII
        ("01010519491231002X", "ID_NUMBER_REGION"),
        ("16010519491231002X", "ID_NUMBER_REGION"),
        ("90010519491231002X", "ID_NUMBER_REGION"),
        ("110105" + "19490230" + "0021", "ID_NUMBER_BIRTH_DATE"),  # 30 Feb
        ("110105" + "19491301" + "0021", "ID_NUMBER_BIRTH_DATE"),  # month 13
        ("440524188001010014", "ID_NUMBER_BIRTH_DATE"),  # valid check digit, but 1880 < 1900
        ("110105194912310021", "ID_NUMBER_CHECK_DIGIT"),
    ],
)
def test_error_codes(raw: str, code: str) -> None:
    err = error(raw)
    assert err.code == code
    assert err.details["field"] == "id_number"


def test_non_string_is_format_error() -> None:
    assert error(None).code == "ID_NUMBER_FORMAT"


def test_trailing_whitespace_is_stripped_not_rejected() -> None:
    assert is_valid_id_number("11010519491231002X\n")


def test_birth_date_after_today() -> None:
    first17 = "11010520300101002"
    raw = first17 + compute_check_digit(first17)
    assert error(raw, today=datetime.date(2029, 12, 31)).code == "ID_NUMBER_BIRTH_DATE"
    assert parse_id_number(raw, today=datetime.date(2030, 1, 1)).birth_date == datetime.date(2030, 1, 1)


def test_leap_day_and_lower_bound() -> None:
    for ymd in ("20000229", "19000101"):
        first17 = "110105" + ymd + "001"
        assert is_valid_id_number(first17 + compute_check_digit(first17))
    first17 = "110105" + "19000229" + "001"  # 1900 is not a leap year
    assert error(first17 + compute_check_digit(first17)).code == "ID_NUMBER_BIRTH_DATE"


def test_check_digit_error_does_not_echo_number() -> None:
    raw = "110105194912310021"
    err = error(raw)
    assert err.details == {"field": "id_number", "masked": "110105********0021"}
    assert raw not in str(err) and raw not in err.message_zh and raw not in err.message_en
    assert err.message_zh == "身份证号校验位错误"
    assert err.message_en == "ID number check digit is wrong"


def test_format_message_mentions_18() -> None:
    assert "18位" in error("123").message_zh


# --- properties --------------------------------------------------------------------------------

@st.composite
def valid_ids(draw: st.DrawFn) -> tuple[str, datetime.date, str]:
    region = draw(st.sampled_from(PROVINCES)) + draw(st.text("0123456789", min_size=4, max_size=4))
    birth = draw(st.dates(min_value=datetime.date(1900, 1, 1), max_value=TODAY))
    seq = draw(st.text("0123456789", min_size=3, max_size=3))
    first17 = region + birth.strftime("%Y%m%d") + seq
    return first17 + compute_check_digit(first17), birth, "M" if int(seq[2]) % 2 else "F"


@given(valid_ids())
def test_every_valid_id_is_accepted(case: tuple[str, datetime.date, str]) -> None:
    number, birth, sex = case
    rid = parse_id_number(number, today=TODAY)
    assert rid.number == number
    assert rid.region_code == number[:6]
    assert rid.birth_date == birth
    assert rid.sex == sex


@given(valid_ids(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_every_single_substitution_is_rejected(
    case: tuple[str, datetime.date, str], pos: int, char: str
) -> None:
    # Why this always holds: with values v_i (X = 10 at position 18), a valid number satisfies
    # sum(w_i * v_i) + v_18 ≡ 1 (mod 11) — the "10X98765432" table is exactly that rule. Replacing
    # one character changes the sum by w_i * (v' - v). Every weight is nonzero mod 11 (w_18 = 1),
    # and 0 < |v' - v| <= 10 < 11, so, 11 being prime, the product is nonzero mod 11 and the check
    # fails. (An X in positions 1-17 is already a format error; region/date checks may fire first.)
    number = case[0]
    assume(number[pos] != char)
    corrupted = number[:pos] + char + number[pos + 1 :]
    assert corrupted != number
    assert not is_valid_id_number(corrupted, today=TODAY)
    assert error(corrupted).code in ID_CODES
