"""Figures as FHIR: a service's Measure (what each group counts), kept in the record, and the
summary MeasureReport it answers ``Measure/{id}/$evaluate-measure`` with; and the period of
days a report is asked for.

A service describes its figures once (``Figures``: the Measure's id, version, title and groups)
and builds reports from groups made with ``group``, ``population``, ``stratifier`` and the
scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shared.errors import FhirError, bad_request
from shared.fhir.dates import stamp
from shared.fhir.terms import BASE, coding
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
SCORING = "http://terminology.hl7.org/CodeSystem/measure-scoring"
UCUM = "http://unitsofmeasure.org"
LONGEST_PERIOD = timedelta(days=366)


@dataclass(frozen=True, slots=True)
class Figures:
    """A service's Measure: its id (also the code system of its groups), version, title, what
    it says, who reports it, and the groups by code with what each counts."""

    id: str
    version: str
    name: str
    title: str
    description: str
    reporter: str
    group_system: str  # the code system of the groups' codes
    groups: Mapping[str, str]

    @property
    def url(self) -> str:
        return f"{BASE}/Measure/{self.id}"

    def measure(self) -> Resource:
        return {
            "resourceType": "Measure",
            "id": self.id,
            "url": self.url,
            "version": self.version,
            "name": self.name,
            "title": self.title,
            "status": "active",
            "publisher": "OneStory",
            "description": self.description,
            "scoring": {"coding": [{"system": SCORING, "code": "ratio"}]},
            "group": [
                {"code": {"coding": [coding(self.group_system, code, text)]}, "description": text}
                for code, text in self.groups.items()
            ],
        }

    def group(
        self,
        code: str,
        populations: list[Resource],
        *,
        score: Resource | None = None,
        stratifiers: list[Resource] | None = None,
    ) -> Resource:
        found: Resource = {
            "code": {"coding": [coding(self.group_system, code, self.groups[code])]},
            "population": populations,
        }
        if score is not None:
            found["measureScore"] = score
        if stratifiers:
            found["stratifier"] = stratifiers
        return found

    def report(
        self, groups: list[Resource], *, first_day: date, last_day: date, now: datetime
    ) -> Resource:
        """A summary MeasureReport of this Measure for the days given."""
        return {
            "resourceType": "MeasureReport",
            "status": "complete",
            "type": "summary",
            "measure": f"{self.url}|{self.version}",
            "date": stamp(now),
            "reporter": {"display": self.reporter},
            "period": {"start": first_day.isoformat(), "end": last_day.isoformat()},
            "group": groups,
        }

    async def ensure(self, client: FhirClient) -> None:
        """Write the Measure to the record unless this version is there already."""
        try:
            stored = await client.read(f"Measure/{self.id}")
        except FhirError as error:
            if error.status not in (404, 410):
                raise
            stored = {}
        if stored.get("version") != self.version:
            await client.update(self.measure())


def population(code: str, count: int) -> Resource:
    """A population of a group: initial-population, denominator, numerator, ..."""
    return {"code": {"coding": [{"system": POPULATION, "code": code}]}, "count": count}


def counted(count: int) -> list[Resource]:
    return [population("initial-population", count)]


def stratifier(name: str, system: str, counts: Mapping[str, int]) -> Resource:
    """The initial population split by a coded property (a channel, a pathway, ...)."""
    return {
        "code": [{"text": name}],
        "stratum": [
            {
                "value": {"coding": [{"system": system, "code": code}], "text": code},
                "population": [population("initial-population", count)],
            }
            for code, count in sorted(counts.items())
        ],
    }


def quantity(value: float | None, unit: str) -> Resource | None:
    """A measure score in UCUM units (min, d), or None when there is nothing to score."""
    if value is None:
        return None
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def ratio(share: float | None) -> Resource | None:
    return None if share is None else {"value": round(share, 4)}


def period_of(params: Mapping[str, str], *, start_name: str, end_name: str) -> tuple[date, date]:
    """The first and last days asked for; 400 when either is missing, not a date, the wrong
    way round, or the period is longer than a year."""
    days = []
    for name in (start_name, end_name):
        if not params.get(name):
            raise bad_request(f"{name} is required (a date, YYYY-MM-DD)", code="required")
        try:
            days.append(date.fromisoformat(params[name]))
        except ValueError as error:
            wrong = f"{name} must be a date (YYYY-MM-DD), not {params[name]!r}"
            raise bad_request(wrong) from error
    first, last = days
    if last < first:
        raise bad_request(f"{end_name} ({last}) is before {start_name} ({first})")
    if last - first >= LONGEST_PERIOD:
        raise bad_request("Ask for a period of at most a year")
    return first, last
