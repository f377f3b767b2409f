"""The single point of access's figures for a period, as JSON (``GET /triage/figures``) and as
a FHIR MeasureReport (``GET /fhir/Measure/single-point-of-access/$evaluate-measure``).

The Measure that defines them lives in the record (written at start-up, ``ensure_measure``);
the report is computed on request from the referrals and triage Tasks read through the
gateway (``services.triage.figures``), never from a copy.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from services.triage.directory import LONDON
from services.triage.figures import UCR_STANDARD, SpaFigures, spa_figures
from shared.errors import FhirError, bad_request
from shared.fhir.dates import stamp
from shared.fhir.terms import (
    BASE,
    REFERRAL_CHANNEL,
    TASK_CODE,
    TRIAGE_ROUTE,
    TRIAGE_TASK,
    code_system,
    coding,
)
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
MEASURE_ID = "single-point-of-access"
MEASURE_URL = f"{BASE}/Measure/{MEASURE_ID}"
MEASURE_VERSION = "2026.12.1"
SPA_FIGURE = code_system("spa-figure")
UCUM = "http://unitsofmeasure.org"
POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
LONGEST_PERIOD = timedelta(days=366)
FIGURES = {
    "referrals": "Referrals received, by channel and by route",
    "ucr-2-hour-response": "Urgent community response referrals responded to within 2 hours",
    "minutes-to-routing": "Median minutes from receipt to the automatic routing",
    "minutes-to-clinical-triage": "Median minutes from receipt to a clinician's decision",
    "re-routes": "Referrals re-routed (sent back by a team, or overridden by a clinician)",
    "duplicates-linked": "Referrals linked to an open referral for the same need",
}


async def figures_for(
    client: FhirClient, *, first_day: date, last_day: date, now: datetime
) -> SpaFigures:
    """The figures for the days ``first_day`` to ``last_day`` (inclusive, Portsmouth time)."""
    start = datetime.combine(first_day, time(), LONDON)
    end = datetime.combine(last_day + timedelta(days=1), time(), LONDON)
    # A referral's routings follow its receipt within moments; a day's margin catches one
    # received just before the period ended.
    found = await client.search_all(
        "Task",
        [
            ("code", f"{TASK_CODE}|{TRIAGE_TASK}"),
            ("authored-on", f"ge{stamp(start)}"),
            ("authored-on", f"lt{stamp(end + timedelta(days=1))}"),
            ("_include", "Task:focus"),
            ("_count", "1000"),
        ],
    )
    tasks = [r for r in found if r["resourceType"] == "Task"]
    referrals = [r for r in found if r["resourceType"] == "ServiceRequest"]
    return spa_figures(referrals, tasks, start=start, end=end, now=now)


def period_of(params: dict[str, str], *, start_name: str, end_name: str) -> tuple[date, date]:
    """The first and last days asked for; 400 when either is missing, not a date, the wrong
    way round, or the period is longer than a year."""
    days = []
    for name in (start_name, end_name):
        if not params.get(name):
            raise bad_request(f"{name} is required (a date, YYYY-MM-DD)", code="required")
        try:
            days.append(date.fromisoformat(params[name]))
        except ValueError as error:
            raise bad_request(
                f"{name} must be a date (YYYY-MM-DD), not {params[name]!r}"
            ) from error
    first, last = days
    if last < first:
        raise bad_request(f"{end_name} ({last}) is before {start_name} ({first})")
    if last - first >= LONGEST_PERIOD:
        raise bad_request("Ask for a period of at most a year")
    return first, last


def as_json(figures: SpaFigures, *, first_day: date, last_day: date) -> Resource:
    ucr = figures.ucr
    return {
        "period": {"start": first_day.isoformat(), "end": last_day.isoformat()},
        "referrals": figures.referrals,
        "by_channel": dict(sorted(figures.by_channel.items())),
        "by_route": dict(sorted(figures.by_route.items())),
        "median_minutes_to_routing": figures.median_minutes_to_routing,
        "median_minutes_to_clinical_triage": figures.median_minutes_to_clinical_triage,
        "clinically_triaged": figures.clinically_triaged,
        "urgent_community_response": {
            "due": ucr.due,
            "responded_within_2_hours": ucr.in_time,
            "share": None if ucr.share is None else round(ucr.share, 4),
            "standard": ucr.standard,
            "met": None if ucr.share is None else ucr.share >= ucr.standard,
        },
        "re_routes": figures.re_routes,
        "duplicates_linked": figures.duplicates_linked,
    }


def measure_report(
    figures: SpaFigures, *, first_day: date, last_day: date, now: datetime
) -> Resource:
    """The figures as a summary MeasureReport of the single point of access's Measure."""
    ucr = figures.ucr
    groups = [
        _group(
            "referrals",
            [_population("initial-population", figures.referrals)],
            stratifiers=[
                _stratifier("channel", REFERRAL_CHANNEL, figures.by_channel),
                _stratifier("route", TRIAGE_ROUTE, figures.by_route),
            ],
        ),
        _group(
            "ucr-2-hour-response",
            [_population("denominator", ucr.due), _population("numerator", ucr.in_time)],
            score=None if ucr.share is None else {"value": round(ucr.share, 4)},
        ),
        _minutes_group("minutes-to-routing", figures.referrals, figures.median_minutes_to_routing),
        _minutes_group(
            "minutes-to-clinical-triage",
            figures.clinically_triaged,
            figures.median_minutes_to_clinical_triage,
        ),
        _group("re-routes", [_population("initial-population", figures.re_routes)]),
        _group("duplicates-linked", [_population("initial-population", figures.duplicates_linked)]),
    ]
    return {
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": "summary",
        "measure": f"{MEASURE_URL}|{MEASURE_VERSION}",
        "date": stamp(now),
        "reporter": {"display": "OneStory single point of access"},
        "period": {"start": first_day.isoformat(), "end": last_day.isoformat()},
        "group": groups,
    }


def measure() -> Resource:
    """The Measure the report answers to: what each group counts and how."""
    return {
        "resourceType": "Measure",
        "id": MEASURE_ID,
        "url": MEASURE_URL,
        "version": MEASURE_VERSION,
        "name": "SinglePointOfAccess",
        "title": "Single point of access: referrals, triage and the 2-hour response",
        "status": "active",
        "publisher": "OneStory",
        "description": (
            "Referrals received by the single point of access in the period, how fast they "
            "were triaged and routed, and the share of urgent community response referrals "
            f"responded to within 2 hours (national standard: at least {UCR_STANDARD:.0%})."
        ),
        "scoring": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/measure-scoring", "code": "ratio"}
            ]
        },
        "group": [
            {"code": {"coding": [coding(SPA_FIGURE, code, text)]}, "description": text}
            for code, text in FIGURES.items()
        ],
    }


async def ensure_measure(client: FhirClient) -> None:
    """Write the Measure to the record unless this version is there already."""
    try:
        stored = await client.read(f"Measure/{MEASURE_ID}")
    except FhirError as error:
        if error.status not in (404, 410):
            raise
        stored = {}
    if stored.get("version") != MEASURE_VERSION:
        await client.update(measure())


def _group(
    code: str,
    populations: list[Resource],
    *,
    score: Resource | None = None,
    stratifiers: list[Resource] | None = None,
) -> Resource:
    group: Resource = {
        "code": {"coding": [coding(SPA_FIGURE, code, FIGURES[code])]},
        "population": populations,
    }
    if score is not None:
        group["measureScore"] = score
    if stratifiers:
        group["stratifier"] = stratifiers
    return group


def _minutes_group(code: str, count: int, minutes: float | None) -> Resource:
    score = None
    if minutes is not None:
        score = {
            "value": minutes,
            "unit": "min",
            "system": "http://unitsofmeasure.org",
            "code": "min",
        }
    return _group(code, [_population("initial-population", count)], score=score)


def _population(code: str, count: int) -> Resource:
    return {"code": {"coding": [{"system": POPULATION, "code": code}]}, "count": count}


def _stratifier(name: str, system: str, counts: dict[str, int]) -> Resource:
    return {
        "code": [{"text": name}],
        "stratum": [
            {
                "value": {"coding": [{"system": system, "code": code}], "text": code},
                "population": [_population("initial-population", count)],
            }
            for code, count in sorted(counts.items())
        ],
    }
