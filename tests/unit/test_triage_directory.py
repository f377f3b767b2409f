"""Routing to the directory: the eligible, open HealthcareService takes the referral, else the
route's fallback, and every service passed over is named with the reason why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.triage.directory import Routing, choose_service, postcode_district
from shared.fhir import terms
from shared.fhir.dates import LONDON

Resource = dict[str, Any]
UCR = "urgent-community-response"
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS = EVERY_DAY[:5]


def hours(days: tuple[str, ...], start: str | None, end: str | None) -> Resource:
    window: Resource = {"daysOfWeek": list(days)}
    if start is not None:
        window["availableStartTime"] = f"{start}:00"
    if end is not None:
        window["availableEndTime"] = f"{end}:00"
    return window


def all_day(days: tuple[str, ...] = EVERY_DAY) -> Resource:
    return {"daysOfWeek": list(days), "allDay": True}


def service(
    name: str,
    route: str = UCR,
    *,
    times: list[Resource] | None = None,
    ages: list[tuple[int | None, int | None]] | None = None,
    districts: tuple[str, ...] = (),
    fallback_for: tuple[str, ...] = (),
    closures: list[Resource] | None = None,
    active: bool | None = True,
) -> Resource:
    """A HealthcareService as the directory holds it (by default open all the time)."""
    extensions: list[Resource] = []
    for low, high in ages or []:
        value: Resource = {}
        if low is not None:
            value["low"] = {"value": low, "unit": "years"}
        if high is not None:
            value["high"] = {"value": high, "unit": "years"}
        extensions.append({"url": terms.ELIGIBLE_AGE_EXTENSION, "valueRange": value})
    extensions += [
        {"url": terms.ELIGIBLE_POSTCODE_EXTENSION, "valueString": district}
        for district in districts
    ]
    extensions += [
        {"url": terms.FALLBACK_EXTENSION, "valueCoding": terms.coding(terms.TRIAGE_ROUTE, code)}
        for code in fallback_for
    ]
    resource: Resource = {
        "resourceType": "HealthcareService",
        "id": name.lower().replace(" ", "-"),
        "name": name,
        "type": [{"coding": [terms.coding(terms.TRIAGE_ROUTE, route)]}],
        "extension": extensions,
    }
    if active is not None:
        resource["active"] = active
    if times is not None:
        resource["availableTime"] = times
    if closures is not None:
        resource["notAvailable"] = closures
    return resource


SPA = service(
    "SPA clinical triage",
    "clinical-review",
    times=[all_day()],
    fallback_for=tuple(terms.TRIAGE_ROUTES),
)


def local(text: str) -> datetime:
    """A Europe/London wall-clock time, e.g. "2026-11-02 10:00" (a Monday)."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


def route(
    services: list[Resource],
    *,
    at: datetime,
    to: str = UCR,
    age: int | None = 80,
    postcode: str | None = "PO4 8PR",
) -> Routing:
    return choose_service(services, route=to, age=age, postcode=postcode, at=at)


def chosen(routing: Routing) -> str | None:
    return None if routing.service is None else str(routing.service["name"])


MONDAY_10AM = local("2026-11-02 10:00")
SUNDAY_2310 = local("2026-11-01 23:10")


# --- Eligibility by age -----------------------------------------------------------------------


@pytest.mark.parametrize(("age", "takes"), [(64, False), (65, True), (101, True)])
def test_given_a_team_for_people_65_and_over_when_routing_then_age_decides(
    age: int, takes: bool
) -> None:
    falls = service("Falls team", ages=[(65, None)])
    routing = route([falls, SPA], at=MONDAY_10AM, age=age)
    assert chosen(routing) == ("Falls team" if takes else "SPA clinical triage")
    assert routing.fallback is not takes
    if not takes:
        assert routing.reasons == ("Falls team: takes people aged 65 and over",)


@pytest.mark.parametrize(("age", "takes"), [(17, False), (18, True), (64, True), (65, False)])
def test_given_an_age_range_when_routing_then_both_ends_are_included(age: int, takes: bool) -> None:
    adults = service("Adult team", ages=[(18, 64)])
    routing = route([adults, SPA], at=MONDAY_10AM, age=age)
    assert (chosen(routing) == "Adult team") is takes
    if not takes:
        assert routing.reasons == ("Adult team: takes people aged 18 to 64",)


def test_given_an_upper_age_only_when_too_old_then_the_reason_says_and_under() -> None:
    children = service("Children's team", ages=[(None, 17)])
    assert route([children, SPA], at=MONDAY_10AM, age=18).reasons == (
        "Children's team: takes people aged 17 and under",
    )
    assert chosen(route([children, SPA], at=MONDAY_10AM, age=17)) == "Children's team"


def test_given_two_age_ranges_when_routing_then_either_will_do() -> None:
    ends_of_life = service("Young and old", ages=[(None, 17), (65, None)])
    assert chosen(route([ends_of_life], at=MONDAY_10AM, age=10)) == "Young and old"
    assert chosen(route([ends_of_life], at=MONDAY_10AM, age=70)) == "Young and old"
    assert route([ends_of_life], at=MONDAY_10AM, age=40).reasons == (
        "Young and old: takes people aged 17 and under or 65 and over",
        "No fallback service for urgent community response referrals",
    )


def test_given_an_unknown_age_when_a_service_is_age_restricted_then_it_is_not_eligible() -> None:
    falls = service("Falls team", ages=[(65, None)])
    anyone = service("Anyone team")
    routing = route([falls, SPA], at=MONDAY_10AM, age=None)
    assert chosen(routing) == "SPA clinical triage"
    assert routing.reasons == (
        "Falls team: takes people aged 65 and over (the person's age is not known)",
    )
    assert chosen(route([anyone], at=MONDAY_10AM, age=None)) == "Anyone team"


# --- Eligibility by postcode ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("postcode", "district"),
    [
        ("PO4 8PR", "PO4"),
        ("po4 8pr", "PO4"),
        ("PO48PR", "PO4"),
        (" PO4  8PR ", "PO4"),
        ("PO4", "PO4"),
        ("PO12 1AA", "PO12"),
        ("PO121AA", "PO12"),
        ("SW1A 1AA", "SW1A"),
        ("W1 1AA", "W1"),
        ("W11AA", "W1"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_postcode_district_is_the_outward_code(postcode: str | None, district: str | None) -> None:
    assert postcode_district(postcode) == district


@pytest.mark.parametrize(
    ("postcode", "takes"),
    [("PO1 2AL", True), ("po4 8pr", True), ("PO48PR", True), ("PO5 1JG", False)],
)
def test_given_a_team_for_some_districts_when_routing_then_the_postcode_decides(
    postcode: str, takes: bool
) -> None:
    south = service("South team", districts=("PO1", "po4"))
    routing = route([south, SPA], at=MONDAY_10AM, postcode=postcode)
    assert (chosen(routing) == "South team") is takes
    if not takes:
        assert routing.reasons == ("South team: covers PO1, PO4 only, not PO5",)


def test_given_district_po1_when_the_person_lives_in_po12_then_not_eligible() -> None:
    po1 = service("PO1 team", districts=("PO1",))
    assert route([po1, SPA], at=MONDAY_10AM, postcode="PO12 1AA").reasons == (
        "PO1 team: covers PO1 only, not PO12",
    )


def test_given_an_unknown_postcode_when_a_service_covers_districts_then_not_eligible() -> None:
    south = service("South team", districts=("PO4",))
    city = service("City team")
    routing = route([south, SPA], at=MONDAY_10AM, postcode=None)
    assert chosen(routing) == "SPA clinical triage"
    assert routing.reasons == ("South team: covers PO4 only (the person's postcode is not known)",)
    assert chosen(route([south, city], at=MONDAY_10AM, postcode=None)) == "City team"


# --- Days and hours ---------------------------------------------------------------------------

EIGHT_TO_EIGHT = [hours(EVERY_DAY, "08:00", "20:00")]


@pytest.mark.parametrize(
    ("when", "open_"),
    [
        ("2026-11-02 07:59:59", False),
        ("2026-11-02 08:00", True),
        ("2026-11-02 19:59:59", True),
        ("2026-11-02 20:00", False),
        ("2026-11-01 00:00", False),
    ],
)
def test_given_8_to_8_when_at_the_edges_then_start_is_open_and_end_is_closed(
    when: str, open_: bool
) -> None:
    ucr = service("Portsmouth UCR", times=EIGHT_TO_EIGHT)
    assert (chosen(route([ucr, SPA], at=local(when))) == "Portsmouth UCR") is open_


def test_given_a_closed_service_when_routing_then_the_reason_says_the_day_time_and_hours() -> None:
    ucr = service("Portsmouth UCR", times=EIGHT_TO_EIGHT)
    routing = route([ucr, SPA], at=SUNDAY_2310)
    assert chosen(routing) == "SPA clinical triage" and routing.fallback
    assert routing.reasons == (
        "Portsmouth UCR: closed on Sunday at 23:10 (open every day 08:00-20:00)",
    )


def test_given_weekday_and_weekend_hours_when_routing_then_each_day_has_its_own() -> None:
    hub = service(
        "Discharge hub",
        times=[hours(WEEKDAYS, "08:00", "20:00"), hours(("sat", "sun"), "09:00", "17:00")],
    )
    assert chosen(route([hub], at=local("2026-11-06 19:00"))) == "Discharge hub"  # Friday
    assert chosen(route([hub], at=local("2026-11-07 16:59"))) == "Discharge hub"  # Saturday
    saturday_evening = route([hub, SPA], at=local("2026-11-07 19:00"))
    assert saturday_evening.reasons == (
        "Discharge hub: closed on Saturday at 19:00 "
        "(open Monday to Friday 08:00-20:00; Saturday and Sunday 09:00-17:00)",
    )


@pytest.mark.parametrize(
    ("when", "open_"),
    [
        ("2026-11-02 19:59", False),  # Monday, before the night starts
        ("2026-11-02 20:00", True),
        ("2026-11-02 23:59", True),
        ("2026-11-03 00:00", True),  # Tuesday morning: Monday's night runs on
        ("2026-11-03 07:59", True),
        ("2026-11-03 08:00", False),
        ("2026-11-03 21:00", False),  # Tuesday night is not listed
        ("2026-11-02 02:00", False),  # Monday morning: Sunday's night is not listed
    ],
)
def test_given_an_overnight_window_when_routing_then_it_runs_into_the_next_day(
    when: str, open_: bool
) -> None:
    night = service("Night nursing", times=[hours(("mon",), "20:00", "08:00")])
    assert (chosen(route([night, SPA], at=local(when))) == "Night nursing") is open_


def test_given_an_overnight_window_when_closed_then_the_hours_read_plainly() -> None:
    night = service("Night nursing", times=[hours(("mon", "wed"), "20:00", "08:00")])
    assert route([night, SPA], at=local("2026-11-03 12:00")).reasons == (
        "Night nursing: closed on Tuesday at 12:00 (open Monday, Wednesday 20:00-08:00)",
    )


@pytest.mark.parametrize(
    ("when", "open_"),
    [
        ("2026-11-06 23:59:59", False),  # Friday
        ("2026-11-07 00:00", True),  # Saturday
        ("2026-11-08 23:59:59", True),  # Sunday
        ("2026-11-09 00:00", False),  # Monday
    ],
)
def test_given_all_day_at_weekends_when_routing_then_the_whole_day_is_open(
    when: str, open_: bool
) -> None:
    weekend = service("Weekend team", times=[all_day(("sat", "sun"))])
    assert (chosen(route([weekend, SPA], at=local(when))) == "Weekend team") is open_


def test_given_no_opening_hours_when_routing_then_the_service_is_always_open() -> None:
    anytime = service("Anytime team", times=None)
    for when in ("2026-11-01 03:00", "2026-11-02 23:59", "2026-11-07 12:00"):
        assert chosen(route([anytime], at=local(when))) == "Anytime team"


def test_given_hours_without_days_when_routing_then_every_day_is_meant() -> None:
    daily = service("Daily team", times=[{"availableStartTime": "09:00:00"}])
    assert chosen(route([daily], at=local("2026-11-01 09:00"))) == "Daily team"
    assert chosen(route([daily], at=local("2026-11-01 23:59"))) == "Daily team", "no end: midnight"
    assert route([daily, SPA], at=local("2026-11-01 08:59")).reasons == (
        "Daily team: closed on Sunday at 08:59 (open every day 09:00-midnight)",
    )


# --- Closures (notAvailable) ------------------------------------------------------------------

CHRISTMAS = {
    "description": "Closed for Christmas Day and Boxing Day",
    "during": {"start": "2026-12-25", "end": "2026-12-26"},
}


@pytest.mark.parametrize(
    ("when", "open_"),
    [
        ("2026-12-24 23:59:59", True),
        ("2026-12-25 00:00", False),
        ("2026-12-26 23:59:59", False),
        ("2026-12-27 00:00", True),
    ],
)
def test_given_a_closure_by_dates_when_routing_then_whole_local_days_are_closed(
    when: str, open_: bool
) -> None:
    wellbeing = service("Wellbeing", closures=[CHRISTMAS])
    assert (chosen(route([wellbeing, SPA], at=local(when))) == "Wellbeing") is open_


def test_given_a_closure_when_routing_then_the_reason_quotes_it() -> None:
    wellbeing = service("Wellbeing", closures=[CHRISTMAS])
    assert route([wellbeing, SPA], at=local("2026-12-25 10:00")).reasons == (
        "Wellbeing: not available to the end of Saturday 26 December 2026: "
        "Closed for Christmas Day and Boxing Day",
    )


def test_given_a_closure_in_summer_by_dates_when_routing_then_the_day_is_londons() -> None:
    training = service(
        "Training day team",
        closures=[
            {"description": "Training", "during": {"start": "2026-07-01", "end": "2026-07-01"}}
        ],
    )
    # 23:30 UTC on 30 June is already 00:30 on 1 July in London (BST)
    assert chosen(route([training, SPA], at=datetime(2026, 6, 30, 23, 30, tzinfo=UTC))) == (
        "SPA clinical triage"
    )
    assert chosen(route([training], at=datetime(2026, 6, 30, 22, 59, tzinfo=UTC))) == (
        "Training day team"
    )


def test_given_a_closure_ending_at_a_time_when_that_time_comes_then_it_is_open_again() -> None:
    outage = {
        "description": "Telephone system upgrade",
        "during": {"start": "2026-11-02T08:00:00+00:00", "end": "2026-11-02T12:30:00Z"},
    }
    ucr = service("Portsmouth UCR", times=EIGHT_TO_EIGHT, closures=[outage])
    assert route([ucr, SPA], at=local("2026-11-02 12:29")).reasons == (
        "Portsmouth UCR: not available until 12:30 on Monday 2 November 2026: "
        "Telephone system upgrade",
    )
    assert chosen(route([ucr, SPA], at=local("2026-11-02 12:30"))) == "Portsmouth UCR"
    assert chosen(route([ucr, SPA], at=local("2026-11-02 07:59"))) == "SPA clinical triage"


def test_given_open_ended_or_undated_closures_when_routing_then_only_dated_ones_count() -> None:
    closed_for_good = service(
        "Old team", closures=[{"description": "Merged", "during": {"start": "2026-01"}}]
    )
    someday = service("Vague team", closures=[{"description": "Closed at times"}])
    assert route([closed_for_good, SPA], at=MONDAY_10AM).reasons == (
        "Old team: not available: Merged",
    )
    assert chosen(route([closed_for_good], at=local("2025-12-31 23:59"))) == "Old team"
    assert chosen(route([someday], at=MONDAY_10AM)) == "Vague team"


# --- Daylight saving: the hours are London's wall clock ----------------------------------------


@pytest.mark.parametrize(
    ("utc", "open_"),
    [
        ("2026-03-28 07:30", False),  # Saturday, GMT: 07:30 in London
        ("2026-03-29 07:30", True),  # the clocks went forward at 01:00: 08:30 BST
        ("2026-03-29 06:59", False),  # 07:59 BST
        ("2026-03-29 19:00", False),  # 20:00 BST
        ("2026-10-24 07:30", True),  # Saturday, BST: 08:30 in London
        ("2026-10-25 07:30", False),  # the clocks went back at 02:00: 07:30 GMT
        ("2026-10-25 19:59", True),  # 19:59 GMT
    ],
)
def test_given_a_clock_change_day_when_routing_then_london_wall_clock_hours_apply(
    utc: str, open_: bool
) -> None:
    ucr = service("Portsmouth UCR", times=EIGHT_TO_EIGHT)
    at = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert (chosen(route([ucr, SPA], at=at)) == "Portsmouth UCR") is open_


def test_given_the_night_the_clocks_go_forward_when_routing_then_the_night_ends_at_8_bst() -> None:
    night = service("Night nursing", times=[hours(("sat",), "20:00", "08:00")])
    assert chosen(route([night], at=datetime(2026, 3, 29, 0, 59, tzinfo=UTC))) == "Night nursing"
    assert chosen(route([night], at=datetime(2026, 3, 29, 1, 0, tzinfo=UTC))) == "Night nursing"
    assert chosen(route([night], at=datetime(2026, 3, 29, 6, 59, tzinfo=UTC))) == "Night nursing"
    assert chosen(route([night, SPA], at=datetime(2026, 3, 29, 7, 0, tzinfo=UTC))) == (
        "SPA clinical triage"
    )


def test_given_the_same_instant_in_any_offset_when_routing_then_the_same_answer() -> None:
    ucr = service("Portsmouth UCR", times=EIGHT_TO_EIGHT)
    instant = datetime(2026, 7, 1, 6, 30, tzinfo=UTC)  # 07:30 BST: closed
    for offset in (0, 5, -8):
        at = instant.astimezone(timezone(timedelta(hours=offset)))
        assert route([ucr, SPA], at=at).reasons == (
            "Portsmouth UCR: closed on Wednesday at 07:30 (open every day 08:00-20:00)",
        )


def test_given_a_naive_time_or_an_unknown_route_when_routing_then_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        route([SPA], at=datetime(2026, 11, 2, 10, 0))
    with pytest.raises(ValueError, match="not a triage route"):
        route([SPA], at=MONDAY_10AM, to="podiatry")


# --- Inactive services and fallbacks ----------------------------------------------------------


def test_given_an_inactive_service_when_routing_then_it_is_skipped() -> None:
    old = service("Old UCR", active=False)
    routing = route([old, SPA], at=MONDAY_10AM)
    assert chosen(routing) == "SPA clinical triage" and routing.fallback
    assert routing.reasons == ("Old UCR: not active (no longer takes referrals)",)


def test_given_active_absent_when_routing_then_the_service_counts_as_active() -> None:
    assert chosen(route([service("Plain UCR", active=None)], at=MONDAY_10AM)) == "Plain UCR"


def test_given_no_service_for_the_route_when_routing_then_the_fallback_says_so() -> None:
    routing = route([SPA], at=MONDAY_10AM, to="wellbeing")
    assert (chosen(routing), routing.fallback) == ("SPA clinical triage", True)
    assert routing.reasons == ("No service in the directory takes wellbeing and voluntary "
                               "services referrals",)  # fmt: skip


def test_given_nothing_eligible_when_routing_then_every_reason_is_given_before_the_fallback() -> (
    None
):
    falls = service("Falls team", ages=[(65, None)])
    ucr = service("Portsmouth UCR", times=EIGHT_TO_EIGHT)
    south = service("South team", districts=("PO5",), ages=[(65, None)], times=EIGHT_TO_EIGHT)
    routing = route([ucr, falls, south, SPA], at=SUNDAY_2310, age=40, postcode="PO4 8PR")
    assert chosen(routing) == "SPA clinical triage" and routing.fallback
    assert routing.reasons == (
        "South team: takes people aged 65 and over; covers PO5 only, not PO4; "
        "closed on Sunday at 23:10 (open every day 08:00-20:00)",
        "Falls team: takes people aged 65 and over",
        "Portsmouth UCR: closed on Sunday at 23:10 (open every day 08:00-20:00)",
    )


def test_given_several_fallbacks_when_routing_then_the_open_eligible_one_takes_it() -> None:
    out_of_hours = service(
        "Out of hours", "clinical-review", times=[hours(EVERY_DAY, "20:00", "08:00")],
        fallback_for=(UCR,), districts=("PO4",),
    )  # fmt: skip
    ucr = service("Portsmouth UCR", times=[hours(WEEKDAYS, "08:00", "20:00")])
    directory = [ucr, out_of_hours, SPA]
    assert chosen(route(directory, at=SUNDAY_2310)) == "Out of hours", "the more specific"
    assert chosen(route(directory, at=local("2026-11-02 07:00"))) == "Out of hours"
    saturday_noon = route(directory, at=local("2026-11-07 12:00"))
    assert (chosen(saturday_noon), saturday_noon.fallback) == ("SPA clinical triage", True)
    assert saturday_noon.reasons == (
        "Portsmouth UCR: closed on Saturday at 12:00 (open Monday to Friday 08:00-20:00)",
        "Out of hours: closed on Saturday at 12:00 (open every day 20:00-08:00)",
    )
    elsewhere = route(directory, at=SUNDAY_2310, postcode="PO5 1JG")
    assert chosen(elsewhere) == "SPA clinical triage"
    wellbeing = route(directory, at=SUNDAY_2310, to="wellbeing")
    assert chosen(wellbeing) == "SPA clinical triage", "out of hours is a fallback for UCR only"


def test_given_no_fallback_at_all_when_nothing_can_take_it_then_no_service_and_why() -> None:
    ucr = service("Portsmouth UCR", times=EIGHT_TO_EIGHT)
    closed_spa = service(
        "SPA clinical triage", "clinical-review", times=[hours(WEEKDAYS, "09:00", "17:00")],
        fallback_for=(UCR,),
    )  # fmt: skip
    routing = route([ucr, closed_spa], at=SUNDAY_2310)
    assert routing == Routing(
        None,
        False,
        (
            "Portsmouth UCR: closed on Sunday at 23:10 (open every day 08:00-20:00)",
            "SPA clinical triage: closed on Sunday at 23:10 (open Monday to Friday 09:00-17:00)",
        ),
    )
    assert route([], at=MONDAY_10AM).reasons == (
        "No service in the directory takes urgent community response referrals",
        "No fallback service for urgent community response referrals",
    )


def test_given_the_fallback_is_also_the_routes_own_service_then_it_is_judged_once() -> None:
    closed = service(
        "SPA clinical triage", "clinical-review", times=[hours(WEEKDAYS, "09:00", "17:00")],
        fallback_for=("clinical-review",),
    )  # fmt: skip
    routing = route([closed], at=SUNDAY_2310, to="clinical-review")
    assert routing.service is None
    assert len(routing.reasons) == 1


# --- A deterministic choice -------------------------------------------------------------------


def test_given_several_eligible_when_routing_then_the_most_specific_wins() -> None:
    city = service("A city-wide team")
    two = service("B two districts", districts=("PO4", "PO5"))
    one = service("C one district", districts=("PO4",))
    older = service("D older people", ages=[(65, None)])
    assert chosen(route([city, two, one, older], at=MONDAY_10AM)) == "C one district"
    assert chosen(route([city, two, older], at=MONDAY_10AM)) == "B two districts"
    assert chosen(route([city, older], at=MONDAY_10AM)) == "D older people"
    assert chosen(route([service("Zed team"), city], at=MONDAY_10AM)) == "A city-wide team"


DIRECTORY = [
    service("A city-wide team", times=EIGHT_TO_EIGHT),
    service("B south", districts=("PO4", "PO5"), times=[hours(WEEKDAYS, "09:00", "17:00")]),
    service("C older", ages=[(65, None)], times=[hours(("sat", "sun"), "10:00", "16:00")]),
    service("C older", ages=[(65, None)], times=[hours(("sat", "sun"), "10:00", "16:00")],
            closures=[CHRISTMAS]),
    service("D night", times=[hours(EVERY_DAY, "20:00", "08:00")], active=False),
    SPA,
]  # fmt: skip
INSTANTS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@given(order=st.permutations(DIRECTORY), at=INSTANTS, age=st.integers(0, 110))
def test_the_choice_and_its_reasons_never_depend_on_the_directorys_order(
    order: list[Resource], at: datetime, age: int
) -> None:
    assert route(order, at=at, age=age) == route(DIRECTORY, at=at, age=age)


# --- Any time of the week ---------------------------------------------------------------------


@given(at=INSTANTS)
def test_8_to_8_every_day_is_open_exactly_when_londons_clock_says_so(at: datetime) -> None:
    ucr = service("Portsmouth UCR", times=EIGHT_TO_EIGHT)
    wall = at.astimezone(LONDON)
    routing = route([ucr, SPA], at=at)
    assert (chosen(routing) == "Portsmouth UCR") is (8 <= wall.hour < 20)
    if routing.fallback:
        assert routing.reasons == (
            f"Portsmouth UCR: closed on {wall:%A} at {wall:%H:%M} (open every day 08:00-20:00)",
        )


@given(at=INSTANTS)
def test_weekdays_9_to_5_is_open_only_in_office_hours(at: datetime) -> None:
    team = service("DSR team", times=[hours(WEEKDAYS, "09:00", "17:00")])
    wall = at.astimezone(LONDON)
    open_ = wall.weekday() < 5 and 9 <= wall.hour < 17
    assert (chosen(route([team, SPA], at=at)) == "DSR team") is open_


@given(
    at=INSTANTS,
    days=st.lists(st.sampled_from(EVERY_DAY), min_size=1, max_size=7, unique=True),
    start=st.integers(0, 23),
    end=st.integers(0, 23),
)
def test_any_window_agrees_with_minutes_of_the_week(
    at: datetime, days: list[str], start: int, end: int
) -> None:
    window = hours(tuple(days), f"{start:02d}:00", f"{end:02d}:00")
    team = service("Team", times=[window])
    wall = at.astimezone(LONDON)
    assert (chosen(route([team, SPA], at=at)) == "Team") is _open_by_minutes(days, start, end, wall)


def _open_by_minutes(days: list[str], start: int, end: int, wall: datetime) -> bool:
    """A second reading of a window: the minutes of the week it covers, counted from Monday
    00:00; an end at or before the start runs into the next day (Sunday into Monday)."""
    week = 7 * 24 * 60
    now = wall.weekday() * 24 * 60 + wall.hour * 60 + wall.minute
    length = (end - start) * 60 if end > start else (24 - start + end) * 60
    for day in days:
        opens = EVERY_DAY.index(day) * 24 * 60 + start * 60
        if (now - opens) % week < length:
            return True
    return False


@given(
    at=INSTANTS,
    to=st.sampled_from(sorted(terms.TRIAGE_ROUTES)),
    age=st.none() | st.integers(0, 110),
    postcode=st.none() | st.sampled_from(["PO1 2AL", "PO4 8PR", "SO14 7DU", ""]),
)
def test_with_a_round_the_clock_fallback_every_referral_finds_a_service(
    at: datetime, to: str, age: int | None, postcode: str | None
) -> None:
    routing = choose_service(DIRECTORY, route=to, age=age, postcode=postcode, at=at)
    assert routing.service is not None
    assert routing.fallback is (routing.service is SPA and to != "clinical-review")
    assert all(reason.strip() for reason in routing.reasons)
