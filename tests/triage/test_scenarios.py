"""The scenario table end to end: one referral per route and one per channel, each ending at the
expected service with the expected deadline; and a closed service falling back."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from services.triage.routing import RECEIVED_EXTENSION, deadline_of, instant
from shared.fhir import terms
from tests.triage.referrals import inputs, owner_route, refer, referral_bundle, routings

Resource = dict[str, Any]


def frailty_scale(score: int) -> Resource:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": terms.SNOMED, "code": terms.CLINICAL_FRAILTY_SCALE}]},
        "effectiveDateTime": "2026-11-20T10:00:00Z",
        "valueInteger": score,
    }


ON_REGISTER: Resource = {
    "resourceType": "EpisodeOfCare",
    "meta": {"security": [terms.DSR_LABEL]},
    "status": "active",
    "type": [{"coding": [terms.coding(terms.EPISODE_TYPE, terms.DYNAMIC_SUPPORT_REGISTER)]}],
}

# (why, channel, problems, red flags, records of the person, route, minutes to respond)
ROUTES = [
    ("red flag", "111", ("fall",), ("red-flag-chest-pain",), (), "emergency", None),
    ("fall", "gp", ("fall",), (), (), "urgent-community-response", 120),
    ("from hospital", "hospital", ("other",), (), (), "discharge-hub", 240),
    ("nothing matched", "gp", ("other",), (), (), "clinical-review", 240),
    ("on the register", "carer", ("other",), (), (ON_REGISTER,), "dynamic-support-register", 1440),
    ("frail", "social-care", ("other",), (), (frailty_scale(6),), "proactive-case-management",
     10080),
    ("fit, low needs", "self", ("other",), (), (frailty_scale(2),), "wellbeing", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("channel", "problems", "red_flags", "records", "route", "minutes"),
    [case[1:] for case in ROUTES],
    ids=[case[0] for case in ROUTES],
)
async def test_given_a_referral_per_route_then_it_ends_at_that_service_on_that_clock(
    spa_door: httpx.AsyncClient,
    directory: dict[str, str],
    channel: str,
    problems: tuple[str, ...],
    red_flags: tuple[str, ...],
    records: tuple[Resource, ...],
    route: str,
    minutes: int | None,
) -> None:
    bundle = referral_bundle(
        channel=channel, problems=problems, red_flags=red_flags, records=records
    )

    (task,) = await routings(spa_door, await refer(spa_door, bundle))

    assert task["reasonCode"]["coding"][0]["code"] == route
    if route != "emergency":
        assert await owner_route(spa_door, task) == route
    await _assert_deadline(spa_door, task, minutes)


@pytest.mark.parametrize("channel", list(terms.REFERRAL_CHANNELS))
async def test_given_a_fall_by_any_door_then_the_2_hour_response_and_the_door_is_kept(
    spa_door: httpx.AsyncClient, directory: dict[str, str], channel: str
) -> None:
    request_id = await refer(spa_door, referral_bundle(channel=channel, problems=("fall",)))

    (task,) = await routings(spa_door, request_id)

    assert await owner_route(spa_door, task) == "urgent-community-response"
    await _assert_deadline(spa_door, task, 120)
    referral = (await spa_door.get(f"ServiceRequest/{request_id}")).json()
    doors = [e for e in referral["extension"] if e["url"] == terms.REFERRAL_CHANNEL_EXTENSION]
    assert doors[0]["valueCoding"]["code"] == channel


async def test_given_every_service_of_a_route_is_closed_then_the_fallback_takes_it_and_why(
    spa_door: httpx.AsyncClient, directory: dict[str, str]
) -> None:
    services = await _open_services(spa_door, "wellbeing")
    assert directory["wellbeing"] in {f"HealthcareService/{s['id']}" for s in services}
    training = {
        "description": "Closed for staff training",
        "during": {"start": "2026-01-01T00:00:00Z", "end": "2030-01-01T00:00:00Z"},
    }
    for service in services:
        closed = {k: v for k, v in service.items() if k != "meta"} | {"notAvailable": [training]}
        assert (await spa_door.put(f"HealthcareService/{service['id']}", json=closed)).is_success
    try:
        bundle = referral_bundle(channel="self", problems=("other",), records=(frailty_scale(2),))
        (task,) = await routings(spa_door, await refer(spa_door, bundle))
    finally:
        for service in services:
            reopened = {k: v for k, v in service.items() if k != "meta"}
            assert (
                await spa_door.put(f"HealthcareService/{service['id']}", json=reopened)
            ).is_success

    assert task["reasonCode"]["coding"][0]["code"] == "wellbeing"
    fallback = (await spa_door.get(task["owner"]["reference"])).json()
    assert terms.FALLBACK_EXTENSION in {e["url"] for e in fallback.get("extension", [])}
    (why,) = inputs(task, "fallback")
    assert "not available" in why and "Closed for staff training" in why


async def _assert_deadline(client: httpx.AsyncClient, task: Resource, minutes: int | None) -> None:
    deadline = deadline_of(task)
    if minutes is None:
        assert deadline is None
        return
    referral = (await client.get(task["focus"]["reference"])).json()
    (stamp,) = [e["valueDateTime"] for e in referral["extension"] if e["url"] == RECEIVED_EXTENSION]
    assert deadline is not None
    assert deadline - instant(stamp) == timedelta(minutes=minutes)
    assert deadline > datetime.now().astimezone()


async def _open_services(client: httpx.AsyncClient, route: str) -> list[Resource]:
    found = await client.get(
        "HealthcareService",
        params={"service-type": f"{terms.TRIAGE_ROUTE}|{route}", "active": "true"},
    )
    return [e["resource"] for e in found.json().get("entry", [])]
