"""What triage decides from: the facts read off the record, and when a referral was received."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from services.triage.gathering import facts_from
from services.triage.linking import open_routing_for_same_need
from services.triage.routing import RECEIVED_EXTENSION, received_at
from shared.fhir import terms

Resource = dict[str, Any]
TODAY = date(2026, 12, 4)


def efi(band: str, when: str) -> Resource:
    return {
        "resourceType": "RiskAssessment",
        "status": "final",
        "occurrenceDateTime": when,
        "code": {"coding": [{"system": terms.SNOMED, "code": terms.EFI_SCORE}]},
        "prediction": [{"qualitativeRisk": {"coding": [terms.coding(terms.FRAILTY_BAND, band)]}}],
    }


def facts(**found: Any) -> Any:
    request = {"resourceType": "ServiceRequest", "id": "r1"}
    person = {"resourceType": "Patient", "birthDate": "1940-12-05"}
    lists: dict[str, Any] = {
        "answers": [],
        "conditions": [],
        "episodes": [],
        "observations": [],
        "stays": [],
    }
    return facts_from(request, person, **(lists | found), today=TODAY)


def test_given_an_efi_in_the_record_then_its_band_is_the_frailty_fact() -> None:
    latest_first = [efi("severe", "2026-11-30"), efi("mild", "2025-11-30")]

    assert facts(frailty=latest_first).frailty == "severe"


def test_given_no_efi_or_an_unknown_band_then_frailty_is_unknown() -> None:
    assert facts().frailty is None
    assert facts(frailty=[efi("wobbly", "2026-11-30")]).frailty is None


def test_given_a_birthday_tomorrow_then_the_age_is_still_the_younger() -> None:
    assert facts().age == 85


def test_given_a_stamped_referral_then_it_was_received_at_its_stamp() -> None:
    request = {
        "extension": [{"url": RECEIVED_EXTENSION, "valueDateTime": "2026-12-04T09:00:00Z"}],
        "authoredOn": "2026-12-03T17:00:00Z",
        "meta": {"versionId": "1", "lastUpdated": "2026-12-04T09:00:05Z"},
    }

    assert received_at(request) == datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def test_given_an_unstamped_first_version_then_received_when_the_record_stored_it() -> None:
    """A referral written yesterday and sent this morning is on the clock from this morning."""
    request = {
        "authoredOn": "2026-12-03T17:00:00Z",
        "meta": {"versionId": "1", "lastUpdated": "2026-12-04T09:00:05Z"},
    }

    assert received_at(request) == datetime(2026, 12, 4, 9, 0, 5, tzinfo=UTC)


def test_given_an_unstamped_later_version_then_received_when_authored() -> None:
    request = {
        "authoredOn": "2026-12-03T17:00:00Z",
        "meta": {"versionId": "3", "lastUpdated": "2026-12-04T09:00:05Z"},
    }

    assert received_at(request) == datetime(2026, 12, 3, 17, 0, tzinfo=UTC)


def routing(task_id: str, referral: str, route: str, status: str, authored: str) -> Resource:
    return {
        "id": task_id,
        "status": status,
        "authoredOn": authored,
        "focus": {"reference": f"ServiceRequest/{referral}"},
        "reasonCode": {"coding": [terms.coding(terms.TRIAGE_ROUTE, route)]},
    }


def test_given_the_persons_routings_then_the_oldest_open_one_on_the_route_is_the_same_need() -> (
    None
):
    ucr = "urgent-community-response"
    tasks = [
        routing("t-new", "r2", ucr, "requested", "2026-12-04T10:00:00Z"),
        routing("t-done", "r0", ucr, "completed", "2026-12-01T10:00:00Z"),
        routing("t-other", "r3", "wellbeing", "requested", "2026-12-02T10:00:00Z"),
        routing("t-old", "r1", ucr, "in-progress", "2026-12-03T10:00:00Z"),
        routing("t-self", "r9", ucr, "requested", "2026-11-01T10:00:00Z"),
    ]

    found = open_routing_for_same_need(tasks, request_id="r9", route=ucr)

    assert found is not None and found["id"] == "t-old"
    assert open_routing_for_same_need(tasks, request_id="r9", route="discharge-hub") is None
