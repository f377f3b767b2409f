"""Observation-based pre-fill: an item with ``code`` and an observationLinkPeriod takes the value
of the person's latest final (or amended) Observation with that code, if it is recent enough.

Pure: the search parameters to find it, the oldest moment that still counts, and the value to
offer. The engine runs the search.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from typing import Any

FINAL_STATUSES = "final,amended,corrected"
_FIXED_UNITS = {
    "wk": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "min": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}
_UNIT_NAMES = {
    "year": "a", "years": "a", "month": "mo", "months": "mo", "week": "wk", "weeks": "wk",
    "day": "d", "days": "d", "hour": "h", "hours": "h", "minute": "min", "minutes": "min",
}  # fmt: skip


def period_start(duration: dict[str, Any], now: datetime) -> datetime:
    """``now`` less the Duration (UCUM ``a``, ``mo``, ``wk``, ``d``, ``h``, ``min``, ``s``);
    ``ValueError`` for a Duration that says no such thing."""
    amount = duration.get("value")
    unit = duration.get("code") or _UNIT_NAMES.get(str(duration.get("unit", "")).lower())
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
        raise ValueError(f"the link period {duration} has no usable value")
    if unit in ("a", "mo"):
        if amount != int(amount):
            raise ValueError(f"the link period {duration} must be a whole number of {unit}")
        return _months_before(now, int(amount) * (12 if unit == "a" else 1))
    if unit in _FIXED_UNITS:
        return now - _FIXED_UNITS[unit] * amount
    raise ValueError(f"the link period {duration} has a unit other than a, mo, wk, d, h, min, s")


def _months_before(moment: datetime, months: int) -> datetime:
    """Calendar months back; the 31st becomes the last day of a shorter month."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def latest_search(
    patient_id: str, codings: list[dict[str, Any]], since: datetime
) -> list[tuple[str, str]]:
    """The search for the newest final Observation of the person with any of ``codings``."""
    tokens = [
        f"{c['system']}|{c['code']}" if c.get("system") else str(c["code"])
        for c in codings
        if isinstance(c, dict) and c.get("code")
    ]
    return [
        ("subject", f"Patient/{patient_id}"),
        ("code", ",".join(tokens)),
        ("status", FINAL_STATUSES),
        ("date", "ge" + since.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("_sort", "-date"),
        ("_count", "1"),
    ]


def observed_value(observation: dict[str, Any]) -> Any:
    """The Observation's ``value[x]``; None when it has none (a dataAbsentReason, say)."""
    return next((v for k, v in observation.items() if k.startswith("value")), None)
