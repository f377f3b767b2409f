"""Which writes a subscription's criteria can be told not to match without searching: only
those whose plain token criteria name codes the resource has none of. Everything else still
goes to the search engine, so the prefilter can never lose a notification."""

from __future__ import annotations

from typing import Any

import pytest

from services.record.subscriptions.spec import SubscriptionSpec
from shared.fhir.extract import extract

HEART_RATE: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "o1",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
    "subject": {"reference": "Patient/p1"},
}


def spec(*criteria: tuple[str, str]) -> SubscriptionSpec:
    return SubscriptionSpec("s1", 1, "active", "Observation", criteria, "http://x/hook", (), "")


@pytest.mark.parametrize(
    "criteria",
    [
        (("code", "http://loinc.org|8867-4"),),
        (("code", "8867-4"),),
        (("code", "HTTP://LOINC.ORG|8867-4"),),  # codes compared without case: never pruned
        (("code", "1234-5,8867-4"),),
        (("code", "http://loinc.org|"),),  # any code of the system: left to the search
        (("code:not", "8867-4"),),  # a modifier: left to the search
        (("subject", "Patient/other"),),  # not a token: left to the search
        (("status", "final"), ("code", "8867-4")),
    ],
)
def test_given_criteria_it_might_meet_when_checked_then_the_search_still_runs(
    criteria: tuple[tuple[str, str], ...],
) -> None:
    assert spec(*criteria).could_match(extract(HEART_RATE))


@pytest.mark.parametrize(
    "criteria",
    [
        (("code", "http://loinc.org|1234-5"),),
        (("code", "bench-abc"),),
        (("status", "final"), ("code", "1234-5")),
        (("status", "preliminary"),),
        (("category", "vital-signs"),),  # it has no category at all
    ],
)
def test_given_codes_it_has_none_of_when_checked_then_it_cannot_match(
    criteria: tuple[tuple[str, str], ...],
) -> None:
    assert not spec(*criteria).could_match(extract(HEART_RATE))
