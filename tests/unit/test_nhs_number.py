"""NHS number validation and generation (Modulus 11)."""

from __future__ import annotations

import random

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shared.nhs_number import NHS_NUMBER_SYSTEM, check_digit, generate, is_valid

seeds = st.integers(min_value=0, max_value=2**64)
digit_strings = st.text(alphabet="0123456789", min_size=9, max_size=9)


def test_system_is_the_uk_core_one() -> None:
    assert NHS_NUMBER_SYSTEM == "https://fhir.nhs.uk/Id/nhs-number"


@pytest.mark.parametrize("number", ["9000000009", "9434765919", "4010232137", "9999999999"])
def test_known_valid_numbers(number: str) -> None:
    assert is_valid(number)


@pytest.mark.parametrize(
    "number",
    [
        "9000000001",  # wrong check digit
        "9434765918",  # wrong check digit
        "943476591",  # nine digits
        "94347659190",  # eleven digits
        "943 476 5919",  # spaces are a display format, not the identifier
        "94347659I9",  # a letter
        "٩٤٣٤٧٦٥٩١٩",  # Arabic-Indic digits satisfy str.isdigit() but are not NHS numbers
        "",
    ],
)
def test_known_invalid_numbers(number: str) -> None:
    assert not is_valid(number)


def test_check_digit_arithmetic() -> None:
    # Only the last two weights (3 and 2) are in play: 1*3 + 1*2 = 5, and 11 - 5 = 6.
    assert check_digit("000000011") == 6


def test_check_digit_eleven_means_zero() -> None:
    # A sum of 0 gives 11 - 0 = 11, which is written as 0.
    assert check_digit("000000000") == 0
    assert is_valid("0000000000")


def test_check_digit_ten_means_no_valid_number() -> None:
    # 6*2 = 12, 12 mod 11 = 1, 11 - 1 = 10: no tenth digit makes these nine digits valid.
    assert check_digit("000000006") is None
    assert not any(is_valid("000000006" + str(last)) for last in range(10))


@pytest.mark.parametrize("bad", ["12345678", "1234567890", "12345678x", ""])
def test_check_digit_rejects_malformed_input(bad: str) -> None:
    with pytest.raises(ValueError):
        check_digit(bad)


@given(digit_strings)
def test_exactly_one_or_no_completion_is_valid(first_nine: str) -> None:
    valid = [last for last in range(10) if is_valid(f"{first_nine}{last}")]
    expected = check_digit(first_nine)
    assert valid == ([] if expected is None else [expected])


@given(seeds)
def test_generated_numbers_are_valid_test_numbers(seed: int) -> None:
    number = generate(random.Random(seed))
    assert is_valid(number)
    assert number.startswith("999")


@given(seeds)
def test_generation_is_reproducible(seed: int) -> None:
    assert generate(random.Random(seed)) == generate(random.Random(seed))


@given(seeds, st.integers(min_value=0, max_value=9), st.integers(min_value=1, max_value=9))
def test_any_single_digit_error_is_detected(seed: int, position: int, shift: int) -> None:
    number = generate(random.Random(seed))
    wrong_digit = (int(number[position]) + shift) % 10
    corrupted = number[:position] + str(wrong_digit) + number[position + 1 :]
    assert corrupted != number
    assert not is_valid(corrupted)


@given(seeds, st.integers(min_value=0, max_value=8))
def test_any_adjacent_transposition_of_different_digits_is_detected(
    seed: int, position: int
) -> None:
    number = generate(random.Random(seed))
    assume(number[position] != number[position + 1])
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    assert not is_valid(swapped)
