"""The discharge hub's situation reports and figures (pure), from D2A episodes (their discharge
ready dates, journey history and delays), the inpatient stays and the assessment Tasks.

- **Daily sitrep** for a day: people who no longer met the criteria to reside that day, of
  them discharged that day and not discharged, and what held the others up at the day's end.
- **Weekly sitrep** at a day's end: inpatients in hospital 14 or more and 21 or more days,
  with why (the delay reason, no criteria to reside without a reason, or still meeting the
  criteria to reside).
- **Figures** for a period: bed days lost between the discharge ready date and the discharge,
  median days by pathway, the share of pathway 0 and 1 people discharged to their own home
  (goal 95%), readmissions within 30 days, assessments overdue at the period's end.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from services.discharge import delays, journey
from shared.fhir.dates import instant

Resource = dict[str, Any]
DAY = timedelta(days=1)
HOME = "home"  # Encounter.hospitalization.dischargeDisposition: the person's own home
OWN_HOME_GOAL = 0.95
READMISSION_WINDOW = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Journey:
    """What the figures need of one D2A episode."""

    episode: str
    patient: str
    pathway: str | None
    ready: datetime | None
    discharged: datetime | None
    closed_before_discharge: datetime | None
    resource: Resource = field(repr=False)


def journey_of(episode: Resource) -> Journey:
    moves = journey.history(episode)
    discharged = next((instant(m["at"]) for m in moves if m["state"] == "discharged"), None)
    closed = next((instant(m["at"]) for m in moves if m["state"] == "closed"), None)
    return Journey(
        episode=f"EpisodeOfCare/{episode['id']}",
        patient=str(episode["patient"]["reference"]),
        pathway=journey.pathway_of(episode),
        ready=journey.ready_date(episode),
        discharged=discharged,
        closed_before_discharge=closed if discharged is None else None,
        resource=episode,
    )


@dataclass(frozen=True, slots=True)
class DailySitrep:
    day_start: datetime
    no_criteria_to_reside: int
    discharged: int
    not_discharged: int
    delays: dict[str, int]


def daily_sitrep(journeys: list[Journey], *, day_start: datetime) -> DailySitrep:
    day_end = day_start + DAY
    nctr = [j for j in journeys if _nctr_during(j, day_start, day_end)]
    left = [j for j in nctr if j.discharged is not None and day_start <= j.discharged < day_end]
    waiting = [j for j in nctr if j not in left]
    held_up = Counter(_delay_at(j, day_end) for j in waiting)
    return DailySitrep(day_start, len(nctr), len(left), len(waiting), dict(held_up))


@dataclass(frozen=True, slots=True)
class WeeklySitrep:
    at: datetime
    in_hospital: int
    stays_14_plus: int
    stays_21_plus: int
    reasons_14_plus: dict[str, int]
    reasons_21_plus: dict[str, int]


def weekly_sitrep(spells: list[Resource], journeys: list[Journey], *, at: datetime) -> WeeklySitrep:
    by_patient = {j.patient: j for j in journeys if j.discharged is None or j.discharged > at}
    staying = [s for s in spells if _in_hospital(s, at)]
    long = [(s, at - instant(str(s["period"]["start"]))) for s in staying]
    over_14 = [s for s, length in long if length >= 14 * DAY]
    over_21 = [s for s, length in long if length >= 21 * DAY]

    def why(spell: Resource) -> str:
        found = by_patient.get(str((spell.get("subject") or {}).get("reference")))
        if found is None or found.ready is None or found.ready > at:
            return "meets-criteria-to-reside"
        return _delay_at(found, at)

    return WeeklySitrep(
        at=at,
        in_hospital=len(staying),
        stays_14_plus=len(over_14),
        stays_21_plus=len(over_21),
        reasons_14_plus=dict(Counter(why(s) for s in over_14)),
        reasons_21_plus=dict(Counter(why(s) for s in over_21)),
    )


@dataclass(frozen=True, slots=True)
class DischargeFigures:
    start: datetime
    end: datetime
    discharged: int
    bed_days_lost: float
    median_days_by_pathway: dict[str, float]
    own_home: int  # pathway 0 and 1 people discharged to their own home
    pathway_0_1: int
    readmitted_within_30_days: int
    assessments_overdue_at_end: int

    @property
    def own_home_share(self) -> float | None:
        return self.own_home / self.pathway_0_1 if self.pathway_0_1 else None


def figures(
    journeys: list[Journey],
    spells: list[Resource],
    assessments: list[Resource],
    *,
    start: datetime,
    end: datetime,
) -> DischargeFigures:
    left = [j for j in journeys if j.discharged is not None and start <= j.discharged < end]
    waited = {j.episode: _days(j.ready, j.discharged) for j in left}
    by_pathway: dict[str, list[float]] = defaultdict(list)
    for j in left:
        by_pathway[j.pathway or "none"].append(waited[j.episode])
    early = [j for j in left if j.pathway in ("0", "1")]
    return DischargeFigures(
        start=start,
        end=end,
        discharged=len(left),
        bed_days_lost=round(sum(waited.values()), 1),
        median_days_by_pathway={p: round(median(d), 1) for p, d in sorted(by_pathway.items())},
        own_home=sum(_went_home(j, spells) for j in early),
        pathway_0_1=len(early),
        readmitted_within_30_days=sum(_readmitted(j, spells) for j in left),
        assessments_overdue_at_end=sum(_overdue_at(t, end) for t in assessments),
    )


def _nctr_during(j: Journey, start: datetime, end: datetime) -> bool:
    if j.ready is None or j.ready >= end:
        return False
    if j.discharged is not None and j.discharged < start:
        return False
    return j.closed_before_discharge is None or j.closed_before_discharge >= start


def _delay_at(j: Journey, at: datetime) -> str:
    for delay in delays.delays_of(j.resource):
        if delay.start <= at and (delay.end is None or delay.end > at):
            return delay.reason
    return "no-reason-recorded"


def _in_hospital(spell: Resource, at: datetime) -> bool:
    period = spell.get("period") or {}
    if not period.get("start") or instant(str(period["start"])) > at:
        return False
    return not period.get("end") or instant(str(period["end"])) > at


def _days(ready: datetime | None, discharged: datetime | None) -> float:
    if ready is None or discharged is None:
        return 0.0
    return max(0.0, (discharged - ready).total_seconds() / 86400)


def _spell_of(j: Journey, spells: list[Resource]) -> Resource | None:
    return next(
        (s for s in spells if {"reference": j.episode} in (s.get("episodeOfCare") or [])),
        None,
    )


def _went_home(j: Journey, spells: list[Resource]) -> bool:
    spell = _spell_of(j, spells) or {}
    disposition = (spell.get("hospitalization") or {}).get("dischargeDisposition") or {}
    return any(c.get("code") == HOME for c in disposition.get("coding") or [])


def _readmitted(j: Journey, spells: list[Resource]) -> bool:
    assert j.discharged is not None
    return any(
        str((s.get("subject") or {}).get("reference")) == j.patient
        and (s.get("period") or {}).get("start")
        and j.discharged < instant(str(s["period"]["start"])) <= j.discharged + READMISSION_WINDOW
        for s in spells
    )


def _overdue_at(task: Resource, end: datetime) -> bool:
    due = ((task.get("restriction") or {}).get("period") or {}).get("end")
    if not due or instant(str(due)) >= end:
        return False
    done = (task.get("executionPeriod") or {}).get("end")
    return task.get("status") != "completed" or (bool(done) and instant(str(done)) > end)
