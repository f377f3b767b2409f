"""Routing to the directory: which HealthcareService takes a referral on a triage route.

Pure: reads the HealthcareService resources (FHIR R4 JSON) the caller fetched, at the time the
caller's clock gives; no I/O. A service takes a route's referrals when its ``type`` holds
``TRIAGE_ROUTE|route``. It can take this referral when it is active, the person fits its
eligibility (``ELIGIBLE_AGE_EXTENSION`` ranges, ``ELIGIBLE_POSTCODE_EXTENSION`` districts) and it
is open at that moment (``availableTime`` less ``notAvailable``, in Europe/London wall-clock
time). When no service of the route can, the route's fallbacks (services carrying
``FALLBACK_EXTENSION`` for it) are tried the same way. Every service passed over is named in
the reasons, in plain words.

How the directory is read:
- age ranges are in whole years, both ends included, either end optional; several age or
  postcode extensions widen eligibility (any one will do); no postcode extension = city-wide;
- what cannot be checked does not pass: a person of unknown age (or postcode) is not eligible
  for an age- (or postcode-) restricted service, so a clinician at the fallback decides;
- ``active`` absent counts as active; no ``availableTime`` at all means always open, and an
  ``availableTime`` without ``daysOfWeek`` means every day;
- opening is from ``availableStartTime`` (included) to ``availableEndTime`` (excluded); an
  end at or before the start runs overnight into the next day; no start is midnight and no
  end is the end of the day;
- a ``notAvailable.during`` date without a time covers the whole local day; a closure that
  ends at a time is open again from that time; a ``notAvailable`` without ``during`` is
  ignored (it cannot say when).

Among several services that can take a referral the most specific wins, so the choice never
depends on the order the directory was read in: postcode-restricted before city-wide (fewer
districts first), then age-restricted before all ages, then by name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from shared.fhir.dates import LONDON
from shared.fhir.terms import (
    ELIGIBLE_AGE_EXTENSION,
    ELIGIBLE_POSTCODE_EXTENSION,
    FALLBACK_EXTENSION,
    TRIAGE_ROUTE,
    TRIAGE_ROUTES,
    has_coding,
)

Resource = dict[str, Any]
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # FHIR days-of-week, Monday first
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class Routing:
    """The service chosen for a referral, and why the others were passed over.

    ``service`` is None only when no service of the route and no fallback can take it (then
    ``fallback`` is False and the reasons say why each was passed over)."""

    service: Resource | None
    fallback: bool  # the route's own services could not take it: a fallback did
    reasons: tuple[str, ...]  # one sentence per service passed over, for a person to read


@dataclass(frozen=True, slots=True)
class _Person:
    age: int | None
    district: str | None  # postcode district, e.g. "PO4"


def choose_service(
    services: Iterable[Resource],
    *,
    route: str,
    age: int | None,
    postcode: str | None,
    at: datetime,
) -> Routing:
    """The HealthcareService that takes a referral on ``route`` for a person of ``age`` living
    at ``postcode``, at the moment ``at`` (timezone-aware), else the route's fallback."""
    if route not in TRIAGE_ROUTES:
        raise ValueError(f"{route!r} is not a triage route: use one of {', '.join(TRIAGE_ROUTES)}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the time to route at must be timezone-aware")
    directory = list(services)
    person = _Person(age, postcode_district(postcode))
    local = at.astimezone(LONDON)
    reasons: list[str] = []
    own = [s for s in directory if has_coding(s.get("type"), TRIAGE_ROUTE, route)]
    if not own:
        reasons.append(f"No service in the directory takes {_route_name(route)} referrals")
    chosen = _first_able(own, person, local, reasons)
    if chosen is not None:
        return Routing(chosen, False, tuple(reasons))
    fallbacks = [s for s in directory if _is_fallback_for(s, route)]
    if not fallbacks:
        reasons.append(f"No fallback service for {_route_name(route)} referrals")
    assessed = {id(s) for s in own}  # a route's own service may be its fallback too: judged once
    unassessed = [s for s in fallbacks if id(s) not in assessed]
    chosen = _first_able(unassessed, person, local, reasons)
    return Routing(chosen, chosen is not None, tuple(reasons))


def postcode_district(postcode: str | None) -> str | None:
    """The outward code of a UK postcode ("PO4 8PR", "po48pr" and "PO4" all give "PO4")."""
    if postcode is None or not postcode.split():
        return None
    parts = postcode.upper().split()
    if len(parts) > 1:
        return parts[0]
    compact = parts[0]
    return compact[:-3] if len(compact) >= 5 else compact  # the inward code is 3 characters


def _first_able(
    services: Sequence[Resource], person: _Person, local: datetime, reasons: list[str]
) -> Resource | None:
    """The most specific service that can take the referral; the others' reasons noted."""
    chosen = None
    for service in sorted(services, key=_precedence):
        problems = _why_not(service, person, local)
        if problems:
            reasons.append(f"{_name(service)}: {'; '.join(problems)}")
        elif chosen is None:
            chosen = service
    return chosen


def _why_not(service: Resource, person: _Person, local: datetime) -> list[str]:
    """Why the service cannot take this referral now (nothing when it can)."""
    if service.get("active") is False:
        return ["not active (no longer takes referrals)"]
    checks = (
        _age_problem(service, person.age),
        _postcode_problem(service, person.district),
        _closure(service, local) or _closed(service, local),
    )
    return [problem for problem in checks if problem]


def _precedence(service: Resource) -> tuple[int, int, int, str, str]:
    districts = _districts(service)
    return (
        0 if districts else 1,
        len(districts),
        0 if _age_ranges(service) else 1,
        _name(service),
        json.dumps(service, sort_keys=True, default=str),  # ties broken by content, not order
    )


# --- Eligibility ------------------------------------------------------------------------------


def _age_ranges(service: Resource) -> list[tuple[float | None, float | None]]:
    found = []
    for extension in _extensions(service, ELIGIBLE_AGE_EXTENSION):
        value = extension.get("valueRange") or {}
        found.append((_quantity(value.get("low")), _quantity(value.get("high"))))
    return found


def _age_problem(service: Resource, age: int | None) -> str | None:
    ranges = _age_ranges(service)
    if not ranges:
        return None
    takes = f"takes people aged {' or '.join(_describe_ages(low, high) for low, high in ranges)}"
    if age is None:
        return f"{takes} (the person's age is not known)"
    if any((low is None or age >= low) and (high is None or age <= high) for low, high in ranges):
        return None
    return takes


def _describe_ages(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{_number(low)} to {_number(high)}"
    if low is not None:
        return f"{_number(low)} and over"
    if high is not None:
        return f"{_number(high)} and under"
    return "any age"


def _districts(service: Resource) -> list[str]:
    return sorted(
        {
            district
            for extension in _extensions(service, ELIGIBLE_POSTCODE_EXTENSION)
            if (district := postcode_district(extension.get("valueString")))
        }
    )


def _postcode_problem(service: Resource, district: str | None) -> str | None:
    districts = _districts(service)
    if not districts or district in districts:
        return None
    covers = f"covers {', '.join(districts)} only"
    if district is None:
        return f"{covers} (the person's postcode is not known)"
    return f"{covers}, not {district}"


# --- Opening times ----------------------------------------------------------------------------


def _closed(service: Resource, local: datetime) -> str | None:
    """Why the service is shut at ``local`` by its opening hours (None when open)."""
    times = service.get("availableTime") or []
    if not times or any(_covers(window, local) for window in times):
        return None
    hours = "; ".join(_describe_window(window) for window in times)
    return f"closed on {_DAY_NAMES[local.weekday()]} at {local:%H:%M} (open {hours})"


def _covers(window: Resource, local: datetime) -> bool:
    """Is ``local`` inside one availableTime, overnight windows running into the next day?"""
    days = _days(window)
    today, yesterday = local.weekday(), (local.weekday() - 1) % 7
    if window.get("allDay"):
        return today in days
    now = local.time()
    start = _time(window.get("availableStartTime")) or time.min
    end = _time(window.get("availableEndTime"))
    if end is None:
        return today in days and now >= start
    if start < end:
        return today in days and start <= now < end
    return (today in days and now >= start) or (yesterday in days and now < end)


def _days(window: Resource) -> set[int]:
    codes = window.get("daysOfWeek") or _DAYS
    return {_DAYS.index(code) for code in codes if code in _DAYS}


def _describe_window(window: Resource) -> str:
    days = sorted(_days(window))
    if len(days) == 7:
        named = "every day"
    elif days == [0, 1, 2, 3, 4]:
        named = "Monday to Friday"
    elif days == [5, 6]:
        named = "Saturday and Sunday"
    else:
        named = ", ".join(_DAY_NAMES[day] for day in days)
    if window.get("allDay"):
        return f"{named} all day"
    start = _time(window.get("availableStartTime")) or time.min
    end = _time(window.get("availableEndTime"))
    return f"{named} {start:%H:%M}-{'midnight' if end is None else format(end, '%H:%M')}"


def _closure(service: Resource, local: datetime) -> str | None:
    """The notAvailable period ``local`` falls in, in words (None when there is none)."""
    for closure in service.get("notAvailable") or []:
        during = closure.get("during")
        if not isinstance(during, dict):
            continue
        start = _moment(during["start"], end=False) if during.get("start") else None
        end = _moment(during["end"], end=True) if during.get("end") else None
        if (start is None or start <= local) and (end is None or local < end):
            until = "" if end is None else f" {_until(end.astimezone(LONDON))}"
            return f"not available{until}: {closure.get('description') or 'closed'}"
    return None


def _until(end: datetime) -> str:
    if end.time() == time.min:
        last = end - timedelta(days=1)
        return f"to the end of {last:%A} {last.day} {last:%B %Y}"
    return f"until {end:%H:%M} on {end:%A} {end.day} {end:%B %Y}"


def _moment(text: str, *, end: bool) -> datetime:
    """A Period boundary as an aware time; a date alone is its local day (its end: the next
    local midnight)."""
    if "T" in text:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=LONDON)
    first, after = _calendar_span(text)
    return datetime.combine(after if end else first, time.min, LONDON)


def _calendar_span(text: str) -> tuple[date, date]:
    """The first day a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD) covers, and the day after."""
    parts = [int(part) for part in text.split("-")]
    if len(parts) == 3:
        day = date(*parts)
        return day, day + timedelta(days=1)
    if len(parts) == 2:
        first = date(parts[0], parts[1], 1)
        return first, (first + timedelta(days=32)).replace(day=1)
    return date(parts[0], 1, 1), date(parts[0] + 1, 1, 1)


# --- Reading the resource ---------------------------------------------------------------------


def _is_fallback_for(service: Resource, route: str) -> bool:
    return any(
        (extension.get("valueCoding") or {}).get("system") == TRIAGE_ROUTE
        and (extension.get("valueCoding") or {}).get("code") == route
        for extension in _extensions(service, FALLBACK_EXTENSION)
    )


def _extensions(service: Resource, url: str) -> list[Resource]:
    return [
        e for e in service.get("extension") or [] if isinstance(e, dict) and e.get("url") == url
    ]


def _name(service: Resource) -> str:
    if service.get("name"):
        return str(service["name"])
    if service.get("id"):
        return f"HealthcareService/{service['id']}"
    return "An unnamed service"


def _route_name(route: str) -> str:
    return TRIAGE_ROUTES[route].split(":")[0].split(" (")[0].lower()


def _quantity(quantity: Any) -> float | None:
    if isinstance(quantity, dict) and isinstance(quantity.get("value"), int | float):
        return float(quantity["value"])
    return None


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _time(text: Any) -> time | None:
    return time.fromisoformat(text) if isinstance(text, str) and text else None
