"""The single point of access's figures, counted by hand on a small fixture of referrals and
their routings; the MeasureReport and Measure that carry them are valid FHIR."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.triage import reporting
from services.triage.figures import spa_figures
from services.triage.routing import RECEIVED_EXTENSION, STATUSES, TRIAGE_STATUS, stamp
from shared.errors import FhirError
from shared.fhir import terms
from shared.fhir.measures import period_of
from shared.fhir.validation import validate

Resource = dict[str, Any]
START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def referral(number: int, received: datetime, channel: str = "gp") -> Resource:
    return {
        "resourceType": "ServiceRequest",
        "id": f"r{number}",
        "extension": [
            {"url": RECEIVED_EXTENSION, "valueDateTime": stamp(received)},
            {
                "url": terms.REFERRAL_CHANNEL_EXTENSION,
                "valueCoding": terms.coding(terms.REFERRAL_CHANNEL, channel),
            },
        ],
    }


def routing(
    number: int,
    sequence: int,
    authored: datetime,
    *,
    route: str = "urgent-community-response",
    status: str = "auto-routed",
    deadline: datetime | None = None,
    **more: Any,
) -> Resource:
    task: Resource = {
        "resourceType": "Task",
        "id": f"t{number}-{sequence}",
        "status": "requested",
        "focus": {"reference": f"ServiceRequest/r{number}"},
        "authoredOn": stamp(authored),
        "businessStatus": {"coding": [terms.coding(TRIAGE_STATUS, status, STATUSES[status])]},
        "reasonCode": {"coding": [terms.coding(terms.TRIAGE_ROUTE, route)]},
        **more,
    }
    if deadline is not None:
        task["restriction"] = {"period": {"end": stamp(deadline)}}
    return task


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def fixture() -> tuple[list[Resource], list[Resource]]:
    """Seven referrals: five in November, one in October, one in December."""
    two_hours = timedelta(hours=2)
    referrals = [
        referral(1, at(3), "gp"),  # UCR, visited after 90 minutes: in time
        referral(2, at(4), "111"),  # UCR, visited after 3 hours: late
        referral(3, at(5), "111"),  # UCR, never visited, deadline long passed: late
        referral(4, at(6), "carer"),  # UCR for r1's need: linked
        referral(5, at(7), "self"),  # clinical review, confirmed after 40 minutes, then returned
        referral(6, datetime(2026, 10, 31, 23, 0, tzinfo=UTC), "gp"),  # before the period
        referral(7, datetime(2026, 12, 1, 0, 30, tzinfo=UTC), "gp"),  # after it
    ]
    tasks = [
        routing(1, 1, at(3, 9, 1), deadline=at(3) + two_hours, status="confirmed",
                lastModified=stamp(at(3, 9, 21)), executionPeriod={"start": stamp(at(3, 10, 30))}),
        routing(2, 1, at(4, 9, 1), deadline=at(4) + two_hours, status="overridden",
                executionPeriod={"start": stamp(at(4, 12, 0))}),
        routing(3, 1, at(5, 9, 3), deadline=at(5) + two_hours),
        routing(4, 1, at(6, 9, 1), status="linked", partOf=[{"reference": "Task/t1-1"}]),
        routing(5, 1, at(7, 9, 1), route="clinical-review", deadline=at(7, 13), status="confirmed",
                lastModified=stamp(at(7, 9, 40))),
        routing(5, 2, at(8, 9, 0), route="clinical-review", deadline=at(8, 13), status="returned"),
        routing(6, 1, datetime(2026, 10, 31, 23, 1, tzinfo=UTC), route="wellbeing"),
        routing(7, 1, datetime(2026, 12, 1, 0, 31, tzinfo=UTC), route="wellbeing"),
    ]  # fmt: skip
    return referrals, tasks


def test_given_a_month_then_referrals_are_counted_by_channel_and_current_route() -> None:
    figures = spa_figures(*fixture(), start=START, end=END, now=NOW)

    assert figures.referrals == 5
    assert figures.by_channel == {"gp": 1, "111": 2, "carer": 1, "self": 1}
    assert figures.by_route == {"urgent-community-response": 4, "clinical-review": 1}


def test_given_a_month_then_the_two_hour_standard_counts_only_referrals_due_or_responded() -> None:
    figures = spa_figures(*fixture(), start=START, end=END, now=NOW)

    assert (figures.ucr.due, figures.ucr.in_time) == (3, 1)  # the linked one is not counted
    assert figures.ucr.share == pytest.approx(1 / 3)


def test_given_a_ucr_referral_still_on_the_clock_then_it_is_neither_met_nor_missed() -> None:
    referrals, tasks = [referral(1, at(30, 8))], [routing(1, 1, at(30, 8), deadline=at(30, 10))]

    figures = spa_figures(referrals, tasks, start=START, end=END, now=at(30, 9))

    assert (figures.ucr.due, figures.ucr.in_time) == (0, 0) and figures.ucr.share is None


def test_given_a_month_then_medians_of_minutes_to_routing_and_to_a_clinician() -> None:
    figures = spa_figures(*fixture(), start=START, end=END, now=NOW)

    assert figures.median_minutes_to_routing == 1.0  # 1, 1, 3, 1, 1 minutes
    assert figures.clinically_triaged == 3  # r1 confirmed 21, r2 overridden 1, r5 confirmed 40
    assert figures.median_minutes_to_clinical_triage == 21.0


def test_given_a_month_then_re_routes_and_linked_duplicates_decided_in_it_are_counted() -> None:
    figures = spa_figures(*fixture(), start=START, end=END, now=NOW)

    assert figures.re_routes == 2  # r2 overridden, r5 returned
    assert figures.duplicates_linked == 1


def test_given_nothing_received_then_zeros_and_no_medians() -> None:
    figures = spa_figures([], [], start=START, end=END, now=NOW)

    assert figures.referrals == 0 and figures.median_minutes_to_routing is None
    assert figures.ucr.share is None


def test_given_figures_then_the_measure_report_is_valid_fhir_and_carries_every_figure() -> None:
    figures = spa_figures(*fixture(), start=START, end=END, now=NOW)

    report = reporting.measure_report(
        figures, first_day=date(2026, 11, 1), last_day=date(2026, 11, 30), now=NOW
    )

    validate(report)
    validate(reporting.MEASURE.measure())
    groups = {g["code"]["coding"][0]["code"]: g for g in report["group"]}
    assert set(groups) == set(reporting.FIGURES)
    ucr = groups["ucr-2-hour-response"]
    assert [p["count"] for p in ucr["population"]] == [3, 1]
    assert ucr["measureScore"]["value"] == pytest.approx(0.3333)
    channels = groups["referrals"]["stratifier"][0]["stratum"]
    assert {s["value"]["text"]: s["population"][0]["count"] for s in channels}["111"] == 2
    assert report["measure"] == f"{reporting.MEASURE.url}|{reporting.MEASURE.version}"


def test_given_figures_then_the_json_says_whether_the_standard_was_met() -> None:
    figures = spa_figures(*fixture(), start=START, end=END, now=NOW)

    answer = reporting.as_json(figures, first_day=date(2026, 11, 1), last_day=date(2026, 11, 30))

    assert answer["urgent_community_response"] == {
        "due": 3,
        "responded_within_2_hours": 1,
        "share": 0.3333,
        "standard": 0.7,
        "met": False,
    }


@pytest.mark.parametrize(
    ("params", "fault"),
    [
        ({"end": "2026-11-30"}, "start is required"),
        ({"start": "2026-11-01"}, "end is required"),
        ({"start": "1 Nov", "end": "2026-11-30"}, "must be a date"),
        ({"start": "2026-11-30", "end": "2026-11-01"}, "is before"),
        ({"start": "2025-01-01", "end": "2026-11-30"}, "at most a year"),
    ],
)
def test_given_a_bad_period_then_400_naming_the_fault(params: dict[str, str], fault: str) -> None:
    with pytest.raises(FhirError) as refused:
        period_of(params, start_name="start", end_name="end")

    assert refused.value.status == 400 and fault in refused.value.diagnostics
