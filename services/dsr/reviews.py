"""When the dynamic support register's reviews and Care (Education) and Treatment Reviews are
due (pure, with the clock passed in).

- **Reviews by rating** (configurable): red weekly, amber monthly, green every 3 months; blue
  people are inpatients, reviewed through their C(E)TRs. The whole register is reviewed monthly.
- **C(E)TRs:**
  - a red rating asks for a community C(E)TR (within 28 days by default);
  - an admission to a mental health inpatient unit asks for a post-admission C(E)TR within 28
    days for adults and 14 days for children and young people (under 18);
  - inpatients have regular C(E)TRs after that (adults every 6 months, children and young
    people every 3, configurable);
  - the person's consent to share the planner must be asked for at least 24 hours before.
- **Ratings around a stay:** admitted, the rating becomes blue; discharged, it is red for at
  least 2 weeks (configurable) before it may be lowered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

RATINGS = ("red", "amber", "green", "blue")
ADULT_AGE = 18


class ReviewRefused(ValueError):
    """A rating, date or setting that cannot be: the message says which and why."""


@dataclass(frozen=True, slots=True)
class Cadence:
    """How often each thing is due, in days (configurable; these are the defaults)."""

    review_days: Mapping[str, int | None] = field(
        default_factory=lambda: {"red": 7, "amber": 30, "green": 91, "blue": None}
    )
    register_review_days: int = 30
    community_cetr_days: int = 28
    post_admission_days_adult: int = 28
    post_admission_days_young: int = 14
    inpatient_cetr_days_adult: int = 182
    inpatient_cetr_days_young: int = 91
    planner_notice: timedelta = timedelta(hours=24)
    red_after_discharge_days: int = 14

    def check(self) -> None:
        for rating in RATINGS:
            if rating not in self.review_days:
                raise ReviewRefused(f"review_days has no entry for {rating!r}")
            days = self.review_days[rating]
            if days is not None and days < 1:
                raise ReviewRefused(f"review_days[{rating!r}] must be 1 day or more, or null")
        for name in (
            "register_review_days",
            "community_cetr_days",
            "post_admission_days_adult",
            "post_admission_days_young",
            "inpatient_cetr_days_adult",
            "inpatient_cetr_days_young",
            "red_after_discharge_days",
        ):
            if getattr(self, name) < 1:
                raise ReviewRefused(f"{name} must be 1 day or more")


@dataclass(frozen=True, slots=True)
class Due:
    what: str  # "review", "community-cetr", "post-admission-cetr", "inpatient-cetr"
    due: datetime
    why: str


def born_on(person: Mapping[str, Any]) -> date:
    """A person's birth date; unknown ones are treated as an adult's."""
    try:
        return date.fromisoformat(str(person.get("birthDate")))
    except ValueError:
        return date(1900, 1, 1)


def known_rating(rating: str) -> str:
    if rating not in RATINGS:
        raise ReviewRefused(f"{rating!r} is not a rating: use one of {', '.join(RATINGS)}")
    return rating


def next_review(
    rating: str, *, registered: datetime, last_review: datetime | None, cadence: Cadence
) -> Due | None:
    """The next review of a person on the register by their rating (None for blue: their
    C(E)TRs review them). A review cannot be dated before the registration."""
    known_rating(rating)
    if last_review is not None and last_review < registered:
        raise ReviewRefused("A review cannot be before the registration")
    days = cadence.review_days[rating]
    if days is None:
        return None
    since = last_review or registered
    return Due("review", since + timedelta(days=days), f"{rating} rating: every {days} days")


def cetrs_due(
    *,
    rating: str,
    rated_at: datetime,
    admitted: datetime | None,
    last_cetr: datetime | None,
    born: date,
    cadence: Cadence,
) -> list[Due]:
    """The C(E)TRs a person needs now: community for red; post-admission, then regular, for
    inpatients (children and young people sooner)."""
    known_rating(rating)
    if admitted is not None:
        return [_inpatient_cetr(admitted, last_cetr, _young(born, admitted), cadence)]
    community = community_cetr(rating, rated_at=rated_at, last_cetr=last_cetr, cadence=cadence)
    return [community] if community else []


def community_cetr(
    rating: str, *, rated_at: datetime, last_cetr: datetime | None, cadence: Cadence
) -> Due | None:
    """A red rating asks for a community C(E)TR, unless one has been held since."""
    if rating != "red" or (last_cetr is not None and last_cetr >= rated_at):
        return None
    return Due(
        "community-cetr", rated_at + timedelta(days=cadence.community_cetr_days), "Red rating"
    )


def planner_consent_by(cetr_at: datetime, cadence: Cadence) -> datetime:
    """When the consent to share the planner must be asked for, at the latest."""
    return cetr_at - cadence.planner_notice


def rating_on_admission() -> str:
    return "blue"


def rating_after_discharge(
    wanted: str, *, discharged: datetime, now: datetime, cadence: Cadence
) -> str:
    """The rating a person may have after a mental health inpatient stay: red for the first
    weeks whatever is asked, then what is asked."""
    known_rating(wanted)
    if now < discharged + timedelta(days=cadence.red_after_discharge_days):
        return "red"
    return wanted


def overdue(items: Iterable[Due], *, now: datetime) -> list[Due]:
    return sorted((d for d in items if d.due < now), key=lambda d: d.due)


def due_within(items: Iterable[Due], *, now: datetime, days: int) -> list[Due]:
    horizon = now + timedelta(days=days)
    return sorted((d for d in items if now <= d.due <= horizon), key=lambda d: d.due)


def _inpatient_cetr(
    admitted: datetime, last_cetr: datetime | None, young: bool, cadence: Cadence
) -> Due:
    if last_cetr is None or last_cetr < admitted:
        days = cadence.post_admission_days_young if young else cadence.post_admission_days_adult
        who = "a child or young person" if young else "an adult"
        return Due("post-admission-cetr", admitted + timedelta(days=days), f"Admitted: {who}")
    days = cadence.inpatient_cetr_days_young if young else cadence.inpatient_cetr_days_adult
    return Due("inpatient-cetr", last_cetr + timedelta(days=days), f"Inpatient: every {days} days")


def _young(born: date, on: datetime) -> bool:
    day = on.date()
    age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return age < ADULT_AGE
