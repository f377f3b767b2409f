"""The discharge hub's situation reports and figures, read through the gateway and rendered as
JSON, CSV (for the returns the hub sends on) and FHIR MeasureReports of the hub's Measures
(``Measure/discharge-sitrep-daily``, ``-weekly`` and ``discharge-figures``, each answering
``$evaluate-measure``). Days are Portsmouth days.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from services.discharge.figures import (
    OWN_HOME_GOAL,
    DailySitrep,
    DischargeFigures,
    Journey,
    WeeklySitrep,
    daily_sitrep,
    figures,
    journey_of,
    weekly_sitrep,
)
from shared.fhir.dates import LONDON, stamp
from shared.fhir.measures import Figures, counted, population, quantity, ratio, stratifier
from shared.fhir.terms import (
    ACT_CODE,
    D2A_ASSESSMENT_TASK,
    D2A_DELAY_REASON,
    D2A_PATHWAY,
    DISCHARGE_TO_ASSESS,
    EPISODE_TYPE,
    TASK_CODE,
    code_system,
)
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
FIGURE_CODES = code_system("discharge-figure")
DAILY = Figures(
    id="discharge-sitrep-daily",
    version="2026.12.1",
    name="DischargeSitrepDaily",
    title="Daily discharge situation report",
    description="People no longer meeting the criteria to reside on the day, discharged and "
    "not discharged, and what held up those not discharged.",
    reporter="Hospital discharge hub",
    group_system=FIGURE_CODES,
    groups={
        "no-criteria-to-reside": "People who no longer met the criteria to reside",
        "discharged": "Of them, discharged on the day",
        "not-discharged": "Of them, not discharged, by delay reason",
    },
)
WEEKLY = Figures(
    id="discharge-sitrep-weekly",
    version="2026.12.1",
    name="DischargeSitrepWeekly",
    title="Weekly long stays situation report",
    description="Inpatients in hospital 14 or more and 21 or more days, with the reasons.",
    reporter="Hospital discharge hub",
    group_system=FIGURE_CODES,
    groups={
        "in-hospital": "Inpatients in hospital at the end of the day",
        "stays-14-plus": "In hospital 14 days or more, by reason",
        "stays-21-plus": "In hospital 21 days or more, by reason",
    },
)
PERIOD = Figures(
    id="discharge-figures",
    version="2026.12.1",
    name="DischargeFigures",
    title="Discharge to assess figures",
    description="Bed days lost between the discharge ready date and the discharge, median days "
    f"by pathway, pathway 0 and 1 people discharged to their own home (goal {OWN_HOME_GOAL:.0%}), "
    "readmissions within 30 days and assessments overdue at the end of the period.",
    reporter="Hospital discharge hub",
    group_system=FIGURE_CODES,
    groups={
        "bed-days-lost": "Bed days between the discharge ready date and the discharge",
        "median-days": "Median days from the discharge ready date to the discharge, by pathway",
        "own-home": "Pathway 0 and 1 people discharged to their own home",
        "readmissions": "Discharged people readmitted within 30 days",
        "assessments-overdue": "Assessments after discharge overdue at the end of the period",
    },
)
MEASURES = (DAILY, WEEKLY, PERIOD)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), LONDON)


async def read_journeys(
    client: FhirClient, *, since: datetime
) -> tuple[list[Journey], list[Resource]]:
    """D2A episodes open at or after ``since``, and their stays."""
    found = await client.search_all(
        "EpisodeOfCare",
        [
            ("type", f"{EPISODE_TYPE}|{DISCHARGE_TO_ASSESS}"),
            ("date", f"ge{stamp(since)}"),
            ("_revinclude", "Encounter:episode-of-care"),
            ("_count", "1000"),
        ],
    )
    episodes = [journey_of(r) for r in found if r["resourceType"] == "EpisodeOfCare"]
    return episodes, [r for r in found if r["resourceType"] == "Encounter"]


async def daily(client: FhirClient, day: date) -> DailySitrep:
    journeys, _ = await read_journeys(client, since=day_start(day))
    return daily_sitrep(journeys, day_start=day_start(day))


async def weekly(client: FhirClient, day: date) -> WeeklySitrep:
    at = day_start(day + timedelta(days=1))
    journeys, _ = await read_journeys(client, since=at)
    spells = await client.search_all(
        "Encounter",
        [
            ("class", f"{ACT_CODE}|IMP"),
            ("date", f"le{stamp(at)}"),
            ("date", f"ge{stamp(at)}"),
            ("_count", "1000"),
        ],
    )
    return weekly_sitrep(spells, journeys, at=at)


async def period_figures(client: FhirClient, first: date, last: date) -> DischargeFigures:
    start, end = day_start(first), day_start(last + timedelta(days=1))
    journeys, spells = await read_journeys(client, since=start)
    patients = sorted({j.patient for j in journeys if j.discharged is not None})
    later: list[Resource] = []
    for chunk in range(0, len(patients), 50):
        later += await client.search_all(
            "Encounter",
            [
                ("class", f"{ACT_CODE}|IMP"),
                ("patient", ",".join(patients[chunk : chunk + 50])),
                ("date", f"ge{stamp(start)}"),
                ("_count", "1000"),
            ],
        )
    assessments = await client.search_all(
        "Task", [("code", f"{TASK_CODE}|{D2A_ASSESSMENT_TASK}"), ("_count", "1000")]
    )
    return figures(journeys, _unique(spells + later), assessments, start=start, end=end)


# --- JSON, CSV and MeasureReport ----------------------------------------------------------------


def daily_json(report: DailySitrep) -> Resource:
    return {
        "day": report.day_start.date().isoformat(),
        "no_criteria_to_reside": report.no_criteria_to_reside,
        "discharged": report.discharged,
        "not_discharged": report.not_discharged,
        "not_discharged_by_delay": dict(sorted(report.delays.items())),
    }


def weekly_json(report: WeeklySitrep) -> Resource:
    return {
        "at": stamp(report.at),
        "in_hospital": report.in_hospital,
        "stays_14_plus": report.stays_14_plus,
        "stays_21_plus": report.stays_21_plus,
        "reasons_14_plus": dict(sorted(report.reasons_14_plus.items())),
        "reasons_21_plus": dict(sorted(report.reasons_21_plus.items())),
    }


def figures_json(report: DischargeFigures, first: date, last: date) -> Resource:
    share = report.own_home_share
    return {
        "period": {"start": first.isoformat(), "end": last.isoformat()},
        "discharged": report.discharged,
        "bed_days_lost": report.bed_days_lost,
        "median_days_by_pathway": report.median_days_by_pathway,
        "own_home": {
            "pathway_0_1": report.pathway_0_1,
            "own_home": report.own_home,
            "share": None if share is None else round(share, 4),
            "goal": OWN_HOME_GOAL,
        },
        "readmitted_within_30_days": report.readmitted_within_30_days,
        "assessments_overdue_at_end": report.assessments_overdue_at_end,
    }


def as_csv(found: Resource) -> str:
    """A report as CSV rows of (figure, breakdown, value), nested figures flattened."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["figure", "breakdown", "value"])
    for name, value in found.items():
        for breakdown, leaf in _leaves(value):
            writer.writerow([name, breakdown, "" if leaf is None else leaf])
    return out.getvalue()


def daily_report(report: DailySitrep, now: datetime) -> Resource:
    day = report.day_start.date()
    groups = [
        DAILY.group("no-criteria-to-reside", counted(report.no_criteria_to_reside)),
        DAILY.group("discharged", counted(report.discharged)),
        DAILY.group(
            "not-discharged",
            counted(report.not_discharged),
            stratifiers=[stratifier("delay", D2A_DELAY_REASON, report.delays)],
        ),
    ]
    return DAILY.report(groups, first_day=day, last_day=day, now=now)


def weekly_report(report: WeeklySitrep, now: datetime) -> Resource:
    day = (report.at - timedelta(days=1)).astimezone(LONDON).date()
    groups = [
        WEEKLY.group("in-hospital", counted(report.in_hospital)),
        WEEKLY.group(
            "stays-14-plus",
            counted(report.stays_14_plus),
            stratifiers=[stratifier("reason", D2A_DELAY_REASON, report.reasons_14_plus)],
        ),
        WEEKLY.group(
            "stays-21-plus",
            counted(report.stays_21_plus),
            stratifiers=[stratifier("reason", D2A_DELAY_REASON, report.reasons_21_plus)],
        ),
    ]
    return WEEKLY.report(groups, first_day=day, last_day=day, now=now)


def figures_report(report: DischargeFigures, first: date, last: date, now: datetime) -> Resource:
    groups = [
        PERIOD.group(
            "bed-days-lost", counted(report.discharged), score=quantity(report.bed_days_lost, "d")
        ),
        PERIOD.group(
            "median-days",
            counted(report.discharged),
            stratifiers=[_median_days(report.median_days_by_pathway)],
        ),
        PERIOD.group(
            "own-home",
            [
                population("denominator", report.pathway_0_1),
                population("numerator", report.own_home),
            ],
            score=ratio(report.own_home_share),
        ),
        PERIOD.group("readmissions", counted(report.readmitted_within_30_days)),
        PERIOD.group("assessments-overdue", counted(report.assessments_overdue_at_end)),
    ]
    return PERIOD.report(groups, first_day=first, last_day=last, now=now)


def _median_days(by_pathway: dict[str, float]) -> Resource:
    """The median days as a stratifier by pathway, each stratum scored in days."""
    return {
        "code": [{"text": "pathway"}],
        "stratum": [
            {
                "value": {"coding": [{"system": D2A_PATHWAY, "code": pathway}], "text": pathway},
                "measureScore": quantity(days, "d"),
            }
            for pathway, days in by_pathway.items()
        ],
    }


def _leaves(value: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def _unique(resources: list[Resource]) -> list[Resource]:
    return list({r["id"]: r for r in resources}.values())
