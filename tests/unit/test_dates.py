"""FHIR date precision as microsecond ranges, and the implied precision of numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.fhir.dates import (
    DAY,
    MINUTE,
    SECOND,
    date_range,
    instant_to_micros,
    micros_to_instant,
    number_range,
)

moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60)


def _micros(moment: datetime) -> int:
    return instant_to_micros(moment.replace(tzinfo=UTC))


def _precisions(moment: datetime) -> list[str]:
    """The same moment written at every precision, coarsest first."""
    day = moment.strftime("%Y-%m-%d").zfill(10)
    minute = f"{day}T{moment:%H:%M}"
    second = f"{minute}:{moment:%S}"
    return [
        day[:4],
        day[:7],
        day,
        minute,
        second,
        f"{second}.{moment.microsecond // 100_000}",
        f"{second}.{moment.microsecond:06d}",
    ]


def _tz(offset_minutes: int) -> str:
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


@given(moments)
def test_given_any_moment_at_any_precision_when_ranged_then_low_is_not_after_high(
    moment: datetime,
) -> None:
    for text in _precisions(moment):
        low, high = date_range(text)
        assert low <= high


@given(moments)
def test_given_any_moment_at_any_precision_when_ranged_then_the_moment_is_inside(
    moment: datetime,
) -> None:
    exact = _micros(moment)
    for text in _precisions(moment):
        low, high = date_range(text)
        assert low <= exact <= high


@given(moments)
def test_given_finer_precision_when_ranged_then_it_lies_inside_the_coarser_range(
    moment: datetime,
) -> None:
    ranges = [date_range(text) for text in _precisions(moment)]
    for (outer_low, outer_high), (inner_low, inner_high) in pairwise(ranges):
        assert outer_low <= inner_low <= inner_high <= outer_high


@given(st.integers(min_value=1, max_value=9999))
def test_given_a_year_when_ranged_then_it_contains_every_day_of_that_year(year: int) -> None:
    low, high = date_range(f"{year:04d}")
    first, last = date(year, 1, 1), date(year, 12, 31)
    assert low == _micros(datetime(year, 1, 1))
    assert high == _micros(datetime(year, 12, 31)) + DAY - 1
    assert (high - low + 1) // DAY == (last - first).days + 1


@given(moments, offsets)
def test_given_a_timezone_when_ranged_then_both_ends_move_by_the_offset(
    moment: datetime, offset_minutes: int
) -> None:
    text = f"{moment:%Y-%m-%dT%H:%M:%S}".zfill(19)
    low, high = date_range(text)
    shifted_low, shifted_high = date_range(text + _tz(offset_minutes))
    assert low - shifted_low == offset_minutes * MINUTE
    assert high - shifted_high == offset_minutes * MINUTE
    assert date_range(text + "Z") == (low, high)


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
def test_given_any_instant_when_round_tripped_then_it_is_unchanged(moment: datetime) -> None:
    micros = instant_to_micros(moment.replace(tzinfo=UTC))
    text = micros_to_instant(micros)
    assert text.endswith("Z")
    assert date_range(text)[0] == micros
    assert instant_to_micros(datetime.fromisoformat(text)) == micros


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("2020", "2020-01-01T00:00:00", "2020-12-31T23:59:59.999999"),
        ("2020-02", "2020-02-01T00:00:00", "2020-02-29T23:59:59.999999"),
        ("2020-03-05", "2020-03-05T00:00:00", "2020-03-05T23:59:59.999999"),
        ("2020-03-05T10:00", "2020-03-05T10:00:00", "2020-03-05T10:00:59.999999"),
        ("2020-03-05T10:00:00", "2020-03-05T10:00:00", "2020-03-05T10:00:00.999999"),
        ("2020-03-05T10:00:00.5", "2020-03-05T10:00:00.5", "2020-03-05T10:00:00.599999"),
        ("2020-03-05T10:00:00.123Z", "2020-03-05T10:00:00.123", "2020-03-05T10:00:00.123999"),
        ("2020-03-05T10:00:00+01:00", "2020-03-05T09:00:00", "2020-03-05T09:00:00.999999"),
        ("2020-03-05T00:30:00-05:30", "2020-03-05T06:00:00", "2020-03-05T06:00:00.999999"),
        (
            "2020-03-05T10:00:00.1234567Z",
            "2020-03-05T10:00:00.123456",
            "2020-03-05T10:00:00.123456",
        ),
    ],
)
def test_given_fhir_date_text_when_ranged_then_the_written_precision_is_covered(
    text: str, low: str, high: str
) -> None:
    assert date_range(text) == (
        _micros(datetime.fromisoformat(low)),
        _micros(datetime.fromisoformat(high)),
    )


@pytest.mark.parametrize(
    "text",
    [
        "2020-13",
        "2021-02-29",
        "2020-02-30",
        "2020-03-05T24:00:00",
        "2020-03-05T10:60",
        "2020-03-05T10:00:00+15:00",
        "0000",
        "20",
        "2020-3-5",
        "2020-03-05T10",
        "2020-03-05 10:00",
        "yesterday",
        "",
    ],
)
def test_given_invalid_date_text_when_ranged_then_value_error_names_it(text: str) -> None:
    with pytest.raises(ValueError, match="date"):
        date_range(text)


def test_given_micros_when_formatted_then_fraction_is_trimmed_to_milliseconds_at_least() -> None:
    base = _micros(datetime(2026, 11, 22, 4, 16, 3))
    assert micros_to_instant(base + 123_456) == "2026-11-22T04:16:03.123456Z"
    assert micros_to_instant(base + 120_000) == "2026-11-22T04:16:03.120Z"
    assert micros_to_instant(base) == "2026-11-22T04:16:03.000Z"


def test_given_naive_and_aware_datetimes_when_converted_then_naive_means_utc() -> None:
    naive = datetime(2026, 11, 22, 4, 16, 3)
    aware = datetime(2026, 11, 22, 5, 16, 3, tzinfo=UTC) - timedelta(hours=1)
    assert instant_to_micros(naive) == instant_to_micros(aware) == 1795320963 * SECOND


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("100", "99.5", "100.5"),
        ("100.00", "99.995", "100.005"),
        ("1e2", "50", "150"),
        ("1.00e2", "99.5", "100.5"),
        ("0.5", "0.45", "0.55"),
        ("-3", "-3.5", "-2.5"),
        ("72.5", "72.45", "72.55"),
    ],
)
def test_given_number_text_when_ranged_then_implied_precision_gives_the_bounds(
    text: str, low: str, high: str
) -> None:
    value, found_low, found_high = number_range(text)
    assert value == Decimal(text)
    assert (found_low, found_high) == (Decimal(low), Decimal(high))


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_given_any_decimal_when_ranged_then_the_value_lies_strictly_inside(value: Decimal) -> None:
    found, low, high = number_range(str(value))
    assert low < found < high


@pytest.mark.parametrize("text", ["", "abc", "1,5", "NaN", "Infinity", "1_000", "1e", "--1"])
def test_given_text_that_is_not_a_number_when_ranged_then_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="not a number"):
        number_range(text)
