"""Bad input at every door of the caseload service: refused whole with an OperationOutcome and
the right 4xx, nothing written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shared.auth.devissuer import DevIssuer
from tests.caseload.conftest import Neighbourhood, make_team, older_person
from tests.conftest import gateway_client
from tests.support.fhir import refused

Resource = dict[str, Any]
OPERATIONS = [
    "EpisodeOfCare/$enrol",
    "EpisodeOfCare/any/$leave",
    "CareTeam/any/$rebalance",
    "CareTeam/any/$case-finding",
]


@pytest.fixture
async def stranger(neighbourhood: Neighbourhood) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(neighbourhood.gateway, None) as client:
        yield client


@pytest.fixture
async def resident(
    neighbourhood: Neighbourhood, issuer: DevIssuer
) -> AsyncIterator[httpx.AsyncClient]:
    token = issuer.issue(scope="patient/*.cruds", patient="someone", client_id="resident-app")
    async with gateway_client(neighbourhood.gateway, token) as client:
        yield client


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b'{"resourceType": "Parameters", "parameter": [', "not valid JSON"),
        (b'{"resourceType": "Patient"}', "Parameters resource"),
        (b'{"resourceType": "Parameters", "parameter": [{"name": "colour"}]}', "colour"),
        (
            b'{"resourceType": "Parameters", "parameter": [{"name": "patient", '
            b'"valueString": "x"}]}',
            "valueReference",
        ),
        (
            b'{"resourceType": "Parameters", "parameter": [{"name": "patient", '
            b'"valueReference": {"reference": "nobody"}}]}',
            "reference",
        ),
    ],
)
async def test_given_malformed_enrolment_parameters_then_400(
    door: httpx.AsyncClient, body: bytes, text: str
) -> None:
    refused(await door.post("EpisodeOfCare/$enrol", content=body), 400, text)


async def test_given_no_patient_then_422_naming_it(door: httpx.AsyncClient) -> None:
    body = {"resourceType": "Parameters", "parameter": [{"name": "decision", "valueString": "x"}]}

    refused(await door.post("EpisodeOfCare/$enrol", json=body), 422, "patient")


async def test_given_a_body_over_the_limit_then_413(door: httpx.AsyncClient) -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [{"name": "decision", "valueString": "x" * 3_000_000}],
    }

    answer = await door.post("EpisodeOfCare/$enrol", json=body)

    assert answer.status_code == 413, answer.text


async def test_given_plain_text_then_415(door: httpx.AsyncClient) -> None:
    answer = await door.post(
        "EpisodeOfCare/$enrol", content=b"patient=1", headers={"Content-Type": "text/plain"}
    )

    assert answer.status_code == 415, answer.text


async def test_given_an_unknown_episode_then_leaving_is_404(door: httpx.AsyncClient) -> None:
    body = {"resourceType": "Parameters", "parameter": [{"name": "reason", "valueCode": "died"}]}

    refused(await door.post("EpisodeOfCare/no-such-episode/$leave", json=body), 404)


async def test_given_someone_not_in_the_team_then_rebalancing_is_422(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door)
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "caseManager", "valueReference": {"reference": "Practitioner/stranger"}},
            {"name": "reason", "valueString": "Leaving"},
        ],
    }

    refused(await door.post(f"{team.reference}/$rebalance", json=body), 422, "not a case manager")


@pytest.mark.parametrize("path", OPERATIONS)
async def test_given_no_token_then_401_and_a_residents_token_then_403(
    stranger: httpx.AsyncClient, resident: httpx.AsyncClient, path: str
) -> None:
    body = {"resourceType": "Parameters", "parameter": []}

    anonymous = await stranger.post(path, json=body)
    theirs = await resident.post(path, json=body)

    assert anonymous.status_code == 401, anonymous.text
    assert theirs.status_code == 403, theirs.text


@pytest.mark.parametrize("view", ["teams/any", "case-managers/any"])
async def test_given_the_views_then_a_token_is_needed_residents_are_refused_and_unknown_params_400(
    neighbourhood: Neighbourhood,
    door: httpx.AsyncClient,
    stranger: httpx.AsyncClient,
    resident: httpx.AsyncClient,
    view: str,
) -> None:
    team = await make_team(door)
    await older_person(door, team)
    real = view.replace("teams/any", f"teams/{team.id}").replace(
        "case-managers/any", f"case-managers/{team.managers[0].split('/')[1]}"
    )

    assert (await stranger.get(neighbourhood.view(real))).status_code == 401
    assert (await resident.get(neighbourhood.view(real))).status_code == 403
    refused(await door.get(neighbourhood.view(real), params={"ward": "7"}), 400, "ward")
    assert (await door.get(neighbourhood.view(view))).status_code == 404


async def test_given_the_front_door_then_its_capability_statement_lists_the_caseload_operations(
    stranger: httpx.AsyncClient,
) -> None:
    statement = (await stranger.get("metadata")).json()

    by_type = {r["type"]: r for r in statement["rest"][0]["resource"]}
    names = {o["name"] for o in by_type["EpisodeOfCare"]["operation"]}
    assert {"enrol", "leave", "care-plan"} <= names
    assert {"case-finding", "rebalance", "mdt-review"} <= {
        o["name"] for o in by_type["CareTeam"]["operation"]
    }
