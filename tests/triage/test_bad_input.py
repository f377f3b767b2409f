"""Bad input at every door of the single point of access: each is refused whole with an
OperationOutcome and the right 4xx, and nothing is written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.triage.reporting import MEASURE_ID
from shared.auth.devissuer import DevIssuer
from tests.conftest import gateway_client
from tests.support.fhir import refused
from tests.triage.conftest import Spa
from tests.triage.referrals import message, refer, referral_bundle, routings

Resource = dict[str, Any]
EVALUATE = f"Measure/{MEASURE_ID}/$evaluate-measure"


def triage_parameters(*parameters: Resource) -> Resource:
    return {"resourceType": "Parameters", "parameter": list(parameters)}


@pytest.fixture
async def stranger(spa: Spa) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(spa.gateway, None) as client:
        yield client


@pytest.fixture
async def reader(spa: Spa, issuer: DevIssuer) -> AsyncIterator[httpx.AsyncClient]:
    """A partner's system that may only read patients."""
    token = issuer.issue(scope="system/Patient.rs", client_id="reader")
    async with gateway_client(spa.gateway, token) as client:
        yield client


async def _referral(spa_door: httpx.AsyncClient) -> str:
    request_id = await refer(spa_door, referral_bundle())
    await routings(spa_door, request_id)
    return request_id


# --- ServiceRequest/{id}/$triage ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        (b'{"resourceType": "Parameters", "parameter": [', 400, ""),
        (b'{"resourceType": "Patient"}', 400, "Parameters"),
        (b'["decision", "confirm"]', 400, "Parameters"),
        (
            b'{"resourceType": "Parameters", "parameter": [{"name": "verdict", "valueCode": "x"}]}',
            400,
            "verdict",
        ),
        (
            b'{"resourceType": "Parameters", "parameter": [{"name": "decision", '
            b'"valueInteger": 1}]}',
            400,
            "decision",
        ),
        (b'{"resourceType": "Parameters", "parameter": []}', 400, "decision"),
        (
            b'{"resourceType": "Parameters", "parameter": [{"name": "decision", '
            b'"valueCode": "override"}]}',
            400,
            "route",
        ),
        (
            b'{"resourceType": "Parameters", "parameter": [{"name": "decision", '
            b'"valueCode": "override"}, {"name": "route", "valueCode": "teleport"}, '
            b'{"name": "reason", "valueString": "why not"}]}',
            422,
            "teleport",
        ),
    ],
)
async def test_given_bad_triage_parameters_then_refused_and_the_routing_unchanged(
    spa_door: httpx.AsyncClient,
    directory: dict[str, str],
    body: bytes,
    status: int,
    text: str,
) -> None:
    request_id = await _referral(spa_door)

    answer = await spa_door.post(f"ServiceRequest/{request_id}/$triage", content=body)

    refused(answer, status, text)
    tasks = await routings(spa_door, request_id)
    assert len(tasks) == 1 and tasks[0]["status"] == "requested"


async def test_given_an_unknown_referral_then_triage_is_404(spa_door: httpx.AsyncClient) -> None:
    override = triage_parameters(
        {"name": "decision", "valueCode": "override"},
        {"name": "route", "valueCode": "wellbeing"},
        {"name": "reason", "valueString": "Lonely, not unwell"},
    )

    answer = await spa_door.post("ServiceRequest/no-such-referral/$triage", json=override)

    refused(answer, 404)


async def test_given_a_referral_with_no_open_routing_then_confirming_is_409(
    spa_door: httpx.AsyncClient, directory: dict[str, str]
) -> None:
    request_id = await refer(spa_door, referral_bundle(red_flags=("red-flag-chest-pain",)))
    await routings(spa_door, request_id)  # advice recorded: nothing left open

    answer = await spa_door.post(
        f"ServiceRequest/{request_id}/$triage",
        json=triage_parameters({"name": "decision", "valueCode": "confirm"}),
    )

    refused(answer, 409, "no open routing")


async def test_given_triage_parameters_as_plain_text_then_415(
    spa_door: httpx.AsyncClient, directory: dict[str, str]
) -> None:
    request_id = await _referral(spa_door)

    answer = await spa_door.post(
        f"ServiceRequest/{request_id}/$triage",
        content=b"decision=confirm",
        headers={"Content-Type": "text/plain"},
    )

    assert answer.status_code == 415, answer.text


# --- $process-message ----------------------------------------------------------------------------


async def test_given_a_message_that_is_not_json_then_400(spa_door: httpx.AsyncClient) -> None:
    refused(await spa_door.post("$process-message", content=b"{not json"), 400)


async def test_given_a_message_without_its_patient_then_refused_and_nothing_kept(
    spa_door: httpx.AsyncClient,
) -> None:
    sent = message()
    sent["entry"].pop(1)  # the Patient the referral's subject points to

    answer = await spa_door.post("$process-message", json=sent)

    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"
    header_id = sent["entry"][0]["resource"]["id"]
    kept = await spa_door.get(
        "ServiceRequest",
        params={"identifier": f"https://onestory.example.nhs.uk/Id/referral-message|{header_id}"},
    )
    assert kept.json().get("total", len(kept.json().get("entry", []))) == 0


async def test_given_a_message_whose_referral_has_malformed_fields_then_refused(
    spa_door: httpx.AsyncClient,
) -> None:
    sent = message()
    sent["entry"][2]["resource"]["reasonCode"] = "a fall"  # a CodeableConcept list, not text

    answer = await spa_door.post("$process-message", json=sent)

    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"


async def test_given_a_message_larger_than_allowed_then_413(spa_door: httpx.AsyncClient) -> None:
    sent = message()
    sent["entry"][2]["resource"]["note"] = [{"text": "x" * (3 * 1024 * 1024)}]

    answer = await spa_door.post("$process-message", json=sent)

    assert answer.status_code == 413, answer.text


# --- $evaluate-measure ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"periodEnd": "2026-11-30"}, "periodStart is required"),
        ({"periodStart": "2026-11-01", "periodEnd": "30/11/2026"}, "must be a date"),
        ({"periodStart": "2026-11-30", "periodEnd": "2026-11-01"}, "is before"),
        ({"periodStart": "2026-11-01", "periodEnd": "2026-11-30", "colour": "red"}, "colour"),
        (
            {"periodStart": "2026-11-01", "periodEnd": "2026-11-30", "reportType": "subject"},
            "population",
        ),
    ],
)
async def test_given_a_bad_evaluate_measure_request_then_400(
    spa_door: httpx.AsyncClient, params: dict[str, str], text: str
) -> None:
    refused(await spa_door.get(EVALUATE, params=params), 400, text)


# --- The triage service's own views --------------------------------------------------------------


@pytest.mark.parametrize("view", ["queue", "breaches", "figures"])
async def test_given_an_unknown_parameter_on_a_view_then_400(
    spa: Spa, spa_door: httpx.AsyncClient, view: str
) -> None:
    params = {"start": "2026-11-01", "end": "2026-11-30"} if view == "figures" else {}

    answer = await spa_door.get(spa.view(view), params={**params, "ward": "7"})

    refused(answer, 400, "ward")


# --- Who may call ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "$process-message"),
        ("POST", "ServiceRequest/any/$triage"),
        ("GET", f"{EVALUATE}?periodStart=2026-11-01&periodEnd=2026-11-30"),
    ],
)
async def test_given_no_token_then_401_and_a_token_without_the_scope_then_403(
    stranger: httpx.AsyncClient, reader: httpx.AsyncClient, method: str, path: str
) -> None:
    body = triage_parameters({"name": "decision", "valueCode": "confirm"})
    content = None if method == "GET" else httpx.Request("POST", "/", json=body).content

    anonymous = await stranger.request(method, path, content=content)
    unscoped = await reader.request(method, path, content=content)

    assert anonymous.status_code == 401, anonymous.text
    assert unscoped.status_code == 403, unscoped.text


@pytest.mark.parametrize("view", ["queue", "breaches", "figures?start=2026-11-01&end=2026-11-02"])
async def test_given_no_token_then_the_views_are_401_at_the_gateway_and_the_service(
    spa: Spa, view: str
) -> None:
    async with httpx.AsyncClient() as client:
        at_the_gateway = await client.get(spa.view(view))
        at_the_service = await client.get(f"{spa.triage.base.removesuffix('/fhir')}/triage/{view}")

    assert at_the_gateway.status_code == 401, at_the_gateway.text
    assert at_the_service.status_code == 401, at_the_service.text


async def test_given_a_residents_token_then_the_views_are_403(spa: Spa, issuer: DevIssuer) -> None:
    token = issuer.issue(scope="patient/*.rs", patient="someone", client_id="resident-app")
    async with gateway_client(spa.gateway, token) as client:
        answer = await client.get(spa.view("queue"))

    refused(answer, 403, "staff and services")


async def test_given_a_view_nobody_serves_then_404(spa_door: httpx.AsyncClient, spa: Spa) -> None:
    refused(await spa_door.get(spa.view("crystal-ball")), 404, "No service answers")
