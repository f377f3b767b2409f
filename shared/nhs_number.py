"""NHS numbers: the UK Core patient identifier and its Modulus 11 check digit.

An NHS number has exactly 10 digits. The first nine are weighted 10, 9, ..., 2 and summed;
the check digit (the tenth) is ``11 - (sum mod 11)``, where 11 becomes 0 and 10 means no
valid number can be made from those nine digits.

Because 11 is prime and every weight (including the implicit weight 1 of the check digit)
lies in 1..10, the check detects every single-digit error and every transposition of two
adjacent, different digits.
"""

from __future__ import annotations

import random

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"

_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)

# The 999 range is used for test and demonstration patients; it never reaches real people.
_TEST_PREFIX = "999"


def check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits, or None when those digits cannot form a valid number."""
    if len(first_nine) != 9 or not _is_ascii_digits(first_nine):
        raise ValueError(f"expected exactly nine digits, got {first_nine!r}")
    total = sum(int(digit) * weight for digit, weight in zip(first_nine, _WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def is_valid(nhs_number: str) -> bool:
    """True when ``nhs_number`` is exactly ten ASCII digits with a correct check digit."""
    if len(nhs_number) != 10 or not _is_ascii_digits(nhs_number):
        return False
    return check_digit(nhs_number[:9]) == int(nhs_number[9])


def generate(rng: random.Random) -> str:
    """A valid NHS number in the 999 test range, drawn from ``rng`` (so it is reproducible)."""
    while True:
        body = _TEST_PREFIX + "".join(str(rng.randrange(10)) for _ in range(6))
        check = check_digit(body)
        if check is not None:
            return f"{body}{check}"


def _is_ascii_digits(text: str) -> bool:
    # str.isdigit() also accepts characters such as "²" and Arabic-Indic digits.
    return all("0" <= char <= "9" for char in text)
