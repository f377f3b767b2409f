"""The use of urgent care, case finding's second signal: the 12-month window, what counts as an
emergency admission or an ED attendance, and high use."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.caseload.deficits import (
    load_deficits,
)
from services.caseload.urgent_care import (
    HighUse,
    months_before,
    urgent_care_use,
)
from shared.fhir.terms import (
    ACT_CODE,
    ACT_PRIORITY,
    ADMIT_SOURCE,
)

TABLE = load_deficits()
TODAY = date(2026, 11, 15)
NOW = datetime(2026, 11, 15, 9, 30, tzinfo=UTC)


# --- Use of urgent care --------------------------------------------------------------------------


def encounter(
    name: str,
    kind: str,
    start: str | None,
    *,
    priority: str | None = None,
    admit_source: str | None = None,
    status: str = "finished",
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": name,
        "status": status,
        "class": {"system": ACT_CODE, "code": kind},
    }
    if start is not None:
        resource["period"] = {"start": start}
    if priority:
        resource["priority"] = {"coding": [{"system": ACT_PRIORITY, "code": priority}]}
    if admit_source:
        source = {"coding": [{"system": ADMIT_SOURCE, "code": admit_source}]}
        resource["hospitalization"] = {"admitSource": source}
    return resource


def admission(name: str, start: str, **more: Any) -> dict[str, Any]:
    return encounter(name, "IMP", start, priority="EM", **more)


def attendance(name: str, start: str | None, **more: Any) -> dict[str, Any]:
    return encounter(name, "EMER", start, **more)


@pytest.mark.parametrize(
    ("start", "counted"),
    [
        ("2025-11-14", False),  # 12 months and a day ago
        ("2025-11-15", True),  # exactly 12 months ago
        ("2025-11-15T00:00:00+00:00", True),
        ("2026-11-15T23:59:00+00:00", True),  # today
        ("2026-11-16", False),  # tomorrow (a booked visit)
    ],
)
def test_given_an_ed_attendance_when_counted_then_the_window_is_12_months_to_the_day(
    start: str, counted: bool
) -> None:
    use = urgent_care_use([attendance("e1", start)], today=TODAY)
    assert (use.since, use.until) == (date(2025, 11, 15), TODAY)
    assert use.ed_attendances == (("Encounter/e1",) if counted else ())


@pytest.mark.parametrize(
    ("today", "since"),
    [
        (date(2026, 11, 15), date(2025, 11, 15)),
        (date(2024, 2, 29), date(2023, 2, 28)),  # no 29 February a year before
        (date(2025, 2, 28), date(2024, 2, 28)),
        (date(2026, 3, 31), date(2025, 3, 31)),
    ],
)
def test_given_a_day_then_12_months_before_is_the_same_day_or_the_month_end(
    today: date, since: date
) -> None:
    assert months_before(today, 12) == since


def test_given_a_six_month_window_then_a_shorter_month_ends_it() -> None:
    assert months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)


@pytest.mark.parametrize(
    ("resource", "kind"),
    [
        (attendance("x", "2026-06-01"), "ed"),
        (admission("x", "2026-06-01"), "admission"),
        (encounter("x", "IMP", "2026-06-01", admit_source="emd"), "admission"),
        (encounter("x", "ACUTE", "2026-06-01", priority="EM"), "admission"),
        (encounter("x", "NONAC", "2026-06-01", admit_source="emd"), "admission"),
        (encounter("x", "IMP", "2026-06-01"), None),  # not known to be an emergency
        (encounter("x", "IMP", "2026-06-01", priority="EL"), None),  # elective
        (encounter("x", "IMP", "2026-06-01", admit_source="gp"), None),
        (encounter("x", "AMB", "2026-06-01", priority="EM"), None),
        (encounter("x", "HH", "2026-06-01"), None),
        (attendance("x", "2026-06-01", status="cancelled"), None),
        (attendance("x", "2026-06-01", status="entered-in-error"), None),
        (admission("x", "2026-06-01", status="planned"), None),
        (attendance("x", "2026-06-01", status="in-progress"), "ed"),
        (attendance("x", None), None),  # no start: cannot be placed in the window
        (attendance("x", "2026-06"), None),  # a month only
        ({**attendance("x", "2026-06-01"), "class": {"code": "EMER"}}, None),  # no system
    ],
)
def test_given_an_encounter_then_it_counts_as_what_fhir_says_it_is(
    resource: dict[str, Any], kind: str | None
) -> None:
    use = urgent_care_use([resource], today=TODAY)
    assert use.ed_attendances == (("Encounter/x",) if kind == "ed" else ())
    assert use.emergency_admissions == (("Encounter/x",) if kind == "admission" else ())


@pytest.mark.parametrize(
    ("admissions", "attendances", "high"),
    [(1, 2, False), (2, 0, True), (0, 3, True), (1, 0, False), (0, 0, False)],
)
def test_given_urgent_care_then_high_use_from_2_admissions_or_3_attendances(
    admissions: int, attendances: int, high: bool
) -> None:
    encounters = [admission(f"a{n}", f"2026-0{n + 1}-10") for n in range(admissions)]
    encounters += [attendance(f"e{n}", f"2026-0{n + 1}-12") for n in range(attendances)]
    assert urgent_care_use(encounters, today=TODAY).high_use is high


def test_given_configured_thresholds_then_high_use_follows_them() -> None:
    limits = HighUse(emergency_admissions=1, ed_attendances=1, months=6)
    use = urgent_care_use([admission("a", "2026-06-01")], today=TODAY, high_use=limits)
    assert use.high_use and use.since == date(2026, 5, 15)
    assert not urgent_care_use(
        [admission("a", "2026-05-14")], today=TODAY, high_use=limits
    ).high_use


def test_given_encounters_in_any_order_then_they_are_listed_earliest_first() -> None:
    encounters = [attendance("late", "2026-10-01"), attendance("early", "2026-01-01")]
    use = urgent_care_use(encounters, today=TODAY)
    assert use.ed_attendances == ("Encounter/early", "Encounter/late")


any_encounter = st.builds(
    lambda name, kind, day, emergency: encounter(
        name, kind, day.isoformat(), priority="EM" if emergency else None
    ),
    st.text("abcdef", min_size=1, max_size=3),
    st.sampled_from(["EMER", "IMP", "AMB", "HH"]),
    st.dates(date(2025, 1, 1), date(2027, 1, 1)),
    st.booleans(),
)


@given(st.lists(any_encounter, max_size=12))
def test_given_any_encounters_then_only_urgent_care_in_the_window_is_counted(
    encounters: list[dict[str, Any]],
) -> None:
    use = urgent_care_use(encounters, today=TODAY)
    in_window = [e for e in encounters if "2025-11-15" <= e["period"]["start"] <= "2026-11-15"]
    ed = [e for e in in_window if e["class"]["code"] == "EMER"]
    admitted = [e for e in in_window if e["class"]["code"] == "IMP" and "priority" in e]
    assert len(use.ed_attendances) == len(ed)
    assert len(use.emergency_admissions) == len(admitted)
    assert use.high_use == (len(admitted) >= 2 or len(ed) >= 3)
