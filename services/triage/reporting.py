"""The single point of access's figures for a period, as JSON (``GET /triage/figures``) and as
a FHIR MeasureReport (``GET /fhir/Measure/single-point-of-access/$evaluate-measure``).

The Measure that defines them lives in the record (written at start-up, ``MEASURE.ensure``);
the report is computed on request from the referrals and triage Tasks read through the
gateway (``services.triage.figures``), never from a copy.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from services.triage.figures import UCR_STANDARD, SpaFigures, spa_figures
from shared.fhir.dates import LONDON, stamp
from shared.fhir.measures import (
    Figures,
    counted,
    population,
    quantity,
    ratio,
    stratifier,
)
from shared.fhir.terms import (
    REFERRAL_CHANNEL,
    TASK_CODE,
    TRIAGE_ROUTE,
    TRIAGE_TASK,
    code_system,
)
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
FIGURES = {
    "referrals": "Referrals received, by channel and by route",
    "ucr-2-hour-response": "Urgent community response referrals responded to within 2 hours",
    "minutes-to-routing": "Median minutes from receipt to the automatic routing",
    "minutes-to-clinical-triage": "Median minutes from receipt to a clinician's decision",
    "re-routes": "Referrals re-routed (sent back by a team, or overridden by a clinician)",
    "duplicates-linked": "Referrals linked to an open referral for the same need",
}
MEASURE = Figures(
    id="single-point-of-access",
    version="2026.12.1",
    name="SinglePointOfAccess",
    title="Single point of access: referrals, triage and the 2-hour response",
    description=(
        "Referrals received by the single point of access in the period, how fast they were "
        "triaged and routed, and the share of urgent community response referrals responded "
        f"to within 2 hours (national standard: at least {UCR_STANDARD:.0%})."
    ),
    reporter="OneStory single point of access",
    group_system=code_system("spa-figure"),
    groups=FIGURES,
)
MEASURE_ID = MEASURE.id


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
        MEASURE.group(
            "referrals",
            counted(figures.referrals),
            stratifiers=[
                stratifier("channel", REFERRAL_CHANNEL, figures.by_channel),
                stratifier("route", TRIAGE_ROUTE, figures.by_route),
            ],
        ),
        MEASURE.group(
            "ucr-2-hour-response",
            [population("denominator", ucr.due), population("numerator", ucr.in_time)],
            score=ratio(ucr.share),
        ),
        MEASURE.group(
            "minutes-to-routing",
            counted(figures.referrals),
            score=quantity(figures.median_minutes_to_routing, "min"),
        ),
        MEASURE.group(
            "minutes-to-clinical-triage",
            counted(figures.clinically_triaged),
            score=quantity(figures.median_minutes_to_clinical_triage, "min"),
        ),
        MEASURE.group("re-routes", counted(figures.re_routes)),
        MEASURE.group("duplicates-linked", counted(figures.duplicates_linked)),
    ]
    return MEASURE.report(groups, first_day=first_day, last_day=last_day, now=now)
