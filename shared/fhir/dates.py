"""FHIR dates and numbers as the ranges their written precision implies.

Owns reading a FHIR date, dateTime or instant (or a search value, which may stop at minutes)
into the inclusive range of whole microseconds since the Unix epoch (UTC) that it covers,
converting instants to and from those microseconds, and the implied-precision range of a
decimal number (``100`` covers 99.5 to 100.5). Invalid text raises ``ValueError``.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation, localcontext
from functools import lru_cache
from zoneinfo import ZoneInfo

SECOND = 1_000_000
MINUTE = 60 * SECOND
DAY = 86_400 * SECOND
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
ONE_MICROSECOND = timedelta(microseconds=1)

_DATE = re.compile(
    r"(?P<y>[0-9]{4})(?:-(?P<m>[0-9]{2})(?:-(?P<d>[0-9]{2})"
    r"(?:T(?P<hh>[0-9]{2}):(?P<mm>[0-9]{2})(?::(?P<ss>[0-9]{2})(?:\.(?P<frac>[0-9]+))?)?"
    r"(?P<tz>Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?"
)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _field(text: str | None, low: int, high: int, what: str, source: str) -> int:
    value = int(text) if text is not None else low
    if not low <= value <= high:
        raise ValueError(f"invalid {what} {text!r} in FHIR date {source!r}")
    return value


def _offset(tz: str | None, source: str) -> int:
    """The timezone offset in microseconds east of UTC (no timezone means UTC)."""
    if tz is None or tz == "Z":
        return 0
    hours = _field(tz[1:3], 0, 14, "timezone hour", source)
    minutes = _field(tz[4:6], 0, 59, "timezone minute", source)
    sign = -1 if tz[0] == "-" else 1
    return sign * (hours * 60 + minutes) * MINUTE


def _day_start(year: int, month: int, day: int) -> int:
    return (date(year, month, day).toordinal() - _EPOCH_ORDINAL) * DAY


def _date_part(match: re.Match[str], text: str) -> tuple[int, int]:
    """The start of the date part and its width, when no time is given."""
    year = _field(match["y"], 1, 9999, "year", text)
    month = _field(match["m"], 1, 12, "month", text)
    day = _field(match["d"], 1, calendar.monthrange(year, month)[1], "day", text)
    start = _day_start(year, month, day)
    if match["m"] is None:
        return start, (366 if calendar.isleap(year) else 365) * DAY
    if match["d"] is None:
        return start, calendar.monthrange(year, month)[1] * DAY
    return start, DAY


def _time_part(match: re.Match[str], text: str) -> tuple[int, int]:
    """Microseconds into the day and the width of the time as written."""
    hours = _field(match["hh"], 0, 23, "hour", text)
    minutes = _field(match["mm"], 0, 59, "minute", text)
    start = (hours * 60 + minutes) * MINUTE
    if match["ss"] is None:
        return start, MINUTE
    seconds = min(_field(match["ss"], 0, 60, "second", text), 59)  # a leap second ends at :59
    start += seconds * SECOND
    fraction = match["frac"]
    if fraction is None:
        return start, SECOND
    digits = fraction[:6]
    width = 10 ** (6 - len(digits))
    return start + int(digits) * width, width


@lru_cache(maxsize=16_384)
def date_range(text: str) -> tuple[int, int]:
    """The inclusive microsecond range (UTC) a FHIR date/dateTime/instant covers.

    "2020" covers the whole year, "2020-03-05T10:00" a minute, "10:00:00.5" a tenth of a
    second; a timezone moves both ends to UTC, and a time without one is taken as UTC.
    """
    match = _DATE.fullmatch(text)
    if match is None:
        raise ValueError(f"not a FHIR date, dateTime or instant: {text!r}")
    start, width = _date_part(match, text)
    if match["hh"] is not None:
        offset, width = _time_part(match, text)
        start += offset - _offset(match["tz"], text)
    return start, start + width - 1


def instant_to_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // ONE_MICROSECOND


def micros_to_instant(micros: int) -> str:
    """A FHIR instant in UTC: "2026-11-22T04:16:03.123456Z", "...03.120Z", "...03.000Z".

    Trailing zeros of the fraction are dropped down to milliseconds, so the text read back by
    ``date_range`` always covers the exact microsecond.
    """
    moment = EPOCH + timedelta(microseconds=micros)
    fraction = f"{moment.microsecond:06d}".rstrip("0").ljust(3, "0")
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{fraction}Z"
    )


@lru_cache(maxsize=16_384)
def number_range(text: str) -> tuple[Decimal, Decimal, Decimal]:
    """(value, low, high): the value and the range its written precision implies.

    Half a unit of the last digit given either side: "100" -> 99.5..100.5, "100.00" ->
    99.995..100.005, "1e2" -> 50..150 (one significant figure), "1.00e2" -> 99.5..100.5.
    """
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"not a number: {text!r}")
    try:
        value = Decimal(text)
    except InvalidOperation as error:  # pragma: no cover - the pattern admits only numbers
        raise ValueError(f"not a number: {text!r}") from error
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    half = Decimal((0, (5,), exponent - 1))
    with localcontext() as context:
        context.prec = max(28, value.adjusted() - exponent + 4)
        return value, value - half, value + half


def instant(text: str) -> datetime:
    """A FHIR dateTime or instant with a time as an aware datetime (UTC when it names no zone)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def stamp(moment: datetime) -> str:
    """An instant as the services write it: to the second, UTC as Z."""
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


# Portsmouth's wall clock: the days reports are counted in and the hours services keep.
LONDON = ZoneInfo("Europe/London")
