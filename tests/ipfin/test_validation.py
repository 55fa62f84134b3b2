"""Identifier, money and rate validation (GB 32100-2015, CNIPA application numbers, fen)."""

from decimal import Decimal

import pytest

from ipfin.validation import (
    check_credit_code,
    check_money_cny,
    check_patent_number,
    check_rate,
    check_region_code,
    is_valid_credit_code,
    patent_check_digit,
    patent_kind,
    province_of,
)


def test_published_example_credit_code_is_valid() -> None:
    """91350100M000100Y43 is the example code printed in GB 32100-2015 guidance material."""
    assert check_credit_code("91350100M000100Y43") == "91350100M000100Y43"


def test_credit_code_is_normalised_to_upper_case() -> None:
    assert check_credit_code(" 91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("91350100M000100Y44", "position 18"),
        ("91350100M000100Y5" + "3", "position 17"),
        ("91350100M000100Y4", "18 characters"),
        ("91350100I000100Y43", "not allowed"),
        ("91AB0100M000100Y43", "region code"),
    ],
)
def test_bad_credit_codes_say_what_is_wrong(code: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        check_credit_code(code)
    assert not is_valid_credit_code(code)


def test_patent_check_digit_by_hand() -> None:
    """2023 1 0123456: 2·2+0·3+2·4+3·5+1·6+0·7+1·8+2·9+3·2+4·3+5·4+6·5 = 127; 127 mod 11 = 6."""
    assert patent_check_digit("202310123456") == "6"
    assert check_patent_number("CN 202310123456.6") == "CN202310123456.6"
    assert check_patent_number("ZL202310123456.6") == "CN202310123456.6"
    with pytest.raises(ValueError, match="check digit is wrong"):
        check_patent_number("CN202310123456.7")


def test_pre_2003_eight_digit_numbers_and_x_check() -> None:
    """02 1 12345: 0·2+2·3+1·4+1·5+2·6+3·7+4·8+5·9 = 125; 125 mod 11 = 4."""
    assert check_patent_number("02112345.4") == "CN02112345.4"
    # find a body whose remainder is 10 and check it is written X
    body = next(f"2020100{n:05d}" for n in range(100000) if patent_check_digit(f"2020100{n:05d}") == "X")
    assert check_patent_number(f"CN{body}.X").endswith(".X")


def test_patent_kind_from_type_digit() -> None:
    assert patent_kind("CN202310123456.6") == "invention"
    body = "202220123456"
    assert patent_kind(f"CN{body}.{patent_check_digit(body)}") == "utility_model"
    with pytest.raises(ValueError, match="type digit"):
        body = "202340123456"
        check_patent_number(f"CN{body}.{patent_check_digit(body)}")


def test_money_is_exact_to_the_fen() -> None:
    assert check_money_cny("8000000.03") == Decimal("8000000.03")
    assert check_money_cny(0.1) == Decimal("0.10")  # JSON float → shortest decimal text
    for bad, msg in [("1.001", "2 decimal"), ("-1", "negative"), ("NaN", "finite"), (float("inf"), "finite"),
                     ("abc", "not a number"), (True, "boolean")]:
        with pytest.raises(ValueError, match=msg):
            check_money_cny(bad)


def test_rates_are_fractions_below_one() -> None:
    assert check_rate("0.015") == 0.015
    for bad in (1, 1.5, -0.01, float("nan"), "x"):
        with pytest.raises(ValueError):
            check_rate(bad)


def test_region_codes() -> None:
    assert check_region_code("500100") == "500100"
    assert province_of("440300") == "440000"
    with pytest.raises(ValueError, match="unknown region"):
        check_region_code("999999")
    with pytest.raises(ValueError, match="6 digits"):
        check_region_code("5001")
