"""The discharge hub's situation reports and figures against a hand-counted fixture."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.discharge import reporting
from services.discharge.delays import with_delay
from services.discharge.figures import daily_sitrep, figures, journey_of, weekly_sitrep
from services.discharge.journey import Move, begun, transition
from services.discharge.readiness import with_ready_date
from shared.fhir.validation import validate

Resource = dict[str, Any]
DAY = timedelta(days=1)
MONDAY = datetime(2026, 11, 2, tzinfo=UTC)  # Portsmouth is on GMT in November: days align


def at(day: int, hour: int = 12) -> datetime:
    return MONDAY + (day - 1) * DAY + timedelta(hours=hour)


def journey(number: int, ready: datetime, pathway: str, *steps: tuple[str, datetime]) -> Resource:
    episode: Resource = {
        "resourceType": "EpisodeOfCare",
        "id": f"e{number}",
        "status": "active",
        "patient": {"reference": f"Patient/p{number}"},
        "extension": begun(Move("identified", ready, "hub")),
    }
    episode["extension"] = with_ready_date(episode, ready)
    episode = transition(episode, Move("pathway-proposed", ready, "hub", pathway=pathway))
    episode = transition(episode, Move("pathway-agreed", ready, "hub"))
    for state, when in steps:
        episode = transition(episode, Move(state, when, "hub", reason="-"))
    return episode


def spell(
    number: int, start: datetime, end: datetime | None = None, home: bool = False
) -> Resource:
    found: Resource = {
        "resourceType": "Encounter",
        "id": f"s{number}",
        "subject": {"reference": f"Patient/p{number}"},
        "period": {"start": start.isoformat(), **({"end": end.isoformat()} if end else {})},
        "episodeOfCare": [{"reference": f"EpisodeOfCare/e{number}"}],
    }
    if home:
        found["hospitalization"] = {"dischargeDisposition": {"coding": [{"code": "home"}]}}
    return found


def fixture() -> tuple[list[Resource], list[Resource]]:
    """Five people; the comments say what each counts for on Wednesday (day 3)."""
    waiting = journey(1, at(1), "2", ("awaiting-capacity", at(1)))  # NCTR, not discharged
    waiting["extension"] = with_delay(waiting, "community-bed", at=at(1))
    left_wednesday = journey(2, at(2), "1", ("discharged", at(3, 15)))  # NCTR, discharged
    left_monday = journey(3, at(1, 9), "0", ("discharged", at(1, 16)))  # gone before: no
    ready_thursday = journey(4, at(4), "1")  # not yet NCTR on Wednesday
    readmitted = journey(5, at(1), "0", ("discharged", at(2)))  # gone Tuesday; back Friday
    episodes = [waiting, left_wednesday, left_monday, ready_thursday, readmitted]
    spells = [
        spell(1, at(1) - 20 * DAY),  # in hospital 22 days on Wednesday night
        spell(2, at(2) - 14 * DAY, at(3, 15), home=True),
        spell(3, at(1) - 3 * DAY, at(1, 16), home=True),
        spell(4, at(3) - 15 * DAY),  # 15 days on Wednesday night, still meets the criteria
        spell(5, at(1) - 5 * DAY, at(2)),
        {**spell(5, at(5)), "id": "s5-again", "episodeOfCare": []},  # readmitted on Friday
    ]
    return episodes, spells


def test_given_the_fixture_then_wednesdays_daily_sitrep_matches_the_hand_count() -> None:
    episodes, _ = fixture()

    report = daily_sitrep([journey_of(e) for e in episodes], day_start=at(3, 0))

    assert (report.no_criteria_to_reside, report.discharged, report.not_discharged) == (2, 1, 1)
    assert report.delays == {"community-bed": 1}


def test_given_the_fixture_then_the_weekly_sitrep_counts_long_stays_with_reasons() -> None:
    episodes, spells = fixture()

    report = weekly_sitrep(spells, [journey_of(e) for e in episodes], at=at(4, 0))

    assert report.in_hospital == 2  # persons 1 and 4
    assert (report.stays_14_plus, report.stays_21_plus) == (2, 1)
    assert report.reasons_14_plus == {"community-bed": 1, "meets-criteria-to-reside": 1}
    assert report.reasons_21_plus == {"community-bed": 1}


def test_given_the_fixture_then_the_weeks_figures_match_the_hand_count() -> None:
    episodes, spells = fixture()
    overdue = {
        "resourceType": "Task",
        "id": "t1",
        "status": "requested",
        "restriction": {"period": {"end": at(6).isoformat()}},
    }
    done_late = {
        **overdue,
        "id": "t2",
        "status": "completed",
        "executionPeriod": {"end": at(9).isoformat()},
    }
    done_in_time = {**done_late, "id": "t3", "executionPeriod": {"end": at(5).isoformat()}}

    found = figures(
        [journey_of(e) for e in episodes],
        spells,
        [overdue, done_late, done_in_time],
        start=at(1, 0),
        end=at(8, 0),
    )

    assert found.discharged == 3
    # person 2: 1 day 3 hours; person 3: 7 hours; person 5: 1 day
    assert found.bed_days_lost == pytest.approx(1.125 + 0.2917 + 1.0, abs=0.1)
    assert found.median_days_by_pathway == {"0": 0.6, "1": 1.1}
    assert (found.own_home, found.pathway_0_1) == (2, 3)  # person 5 went home? not recorded
    assert found.readmitted_within_30_days == 1
    assert found.assessments_overdue_at_end == 2


def test_given_reports_then_each_measure_report_is_valid_fhir_and_csv_is_flat() -> None:
    episodes, spells = fixture()
    journeys = [journey_of(e) for e in episodes]
    now = at(10)

    daily = reporting.daily_report(daily_sitrep(journeys, day_start=at(3, 0)), now)
    weekly = reporting.weekly_report(weekly_sitrep(spells, journeys, at=at(4, 0)), now)
    week = figures(journeys, spells, [], start=at(1, 0), end=at(8, 0))
    period = reporting.figures_report(week, date(2026, 11, 2), date(2026, 11, 8), now)

    for report in (daily, weekly, period, *(m.measure() for m in reporting.MEASURES)):
        validate(report)
    assert daily["period"] == {"start": "2026-11-04", "end": "2026-11-04"}
    assert weekly["period"] == {"start": "2026-11-04", "end": "2026-11-04"}
    rows = reporting.as_csv(reporting.figures_json(week, date(2026, 11, 2), date(2026, 11, 8)))
    assert rows.splitlines()[0] == "figure,breakdown,value"
    assert "median_days_by_pathway,0,0.6" in rows.splitlines()
