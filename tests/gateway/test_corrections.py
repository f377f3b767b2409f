"""A resident who finds something wrong in their record raises a correction request: a Task
the gateway addresses to whoever owns the fact, never a change to the fact itself."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.corrections import TASK_CODE
from shared.auth.devissuer import DevIssuer
from tests.conftest import gateway_client
from tests.support.fhir import condition, patient
from tests.support.gateway import (
    create,
    matches,
    new_person,
    new_staff,
    organization,
    ref,
    resident_token,
)
from tests.support.services import RunningService

Resource = dict[str, Any]
RESIDENT_SCOPE = "patient/*.rs patient/Task.c"


def correction(focus: str, **extra: Any) -> Resource:
    return {
        "resourceType": "Task",
        "code": {"coding": [{"system": TASK_CODE, "code": "change"}]},
        "focus": {"reference": focus},
        "description": "I have never had heart failure: it was my late husband",
        **extra,
    }


async def test_given_a_fact_recorded_by_a_team_then_the_request_goes_to_that_team(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    me = await new_person(front_door)
    nurse = await new_staff(front_door, issuer)
    await create(
        front_door,
        {
            "resourceType": "EpisodeOfCare",
            "status": "active",
            "patient": {"reference": f"Patient/{me.id}"},
            "careManager": {"reference": nurse.reference},
        },
    )
    async with gateway_client(gateway, nurse.token) as client:
        wrong = await create(client, condition(me.id))
    token = resident_token(issuer, me.id, scope=RESIDENT_SCOPE)

    async with gateway_client(gateway, token) as client:
        raised = await client.post("Task", json=correction(ref(wrong)))

    assert raised.status_code == 201, raised.text
    task = raised.json()
    assert task["owner"] == {"reference": nurse.organization_reference}
    assert task["for"] == task["requester"] == {"reference": f"Patient/{me.id}"}
    assert (task["status"], task["intent"]) == ("requested", "proposal")
    unchanged = (await front_door.get(ref(wrong))).json()
    assert unchanged["meta"]["versionId"] == "1"
    async with gateway_client(gateway, nurse.token) as client:
        queue = (await client.get("Task", params={"owner": nurse.organization_reference})).json()
    assert [t["id"] for t in matches(queue)] == [task["id"]]


async def test_given_a_fact_nobody_claims_then_the_persons_gp_practice_owns_the_request(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    practice = await create(front_door, organization())
    me = await create(front_door, patient(generalPractitioner=[{"reference": ref(practice)}]))
    wrong = await create(front_door, condition(me["id"]))

    async with gateway_client(gateway, resident_token(issuer, me["id"], RESIDENT_SCOPE)) as client:
        raised = await client.post("Task", json=correction(ref(wrong)))

    assert raised.status_code == 201, raised.text
    assert raised.json()["owner"] == {"reference": ref(practice)}


async def test_given_a_request_about_someone_elses_record_then_403_and_nothing_stored(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    me, neighbour = await new_person(front_door), await new_person(front_door)

    async with gateway_client(gateway, resident_token(issuer, me.id, RESIDENT_SCOPE)) as client:
        attempts = [
            await client.post("Task", json=correction(ref(neighbour.observation))),
            await client.post("Task", json=correction(f"Patient/{neighbour.id}")),
        ]

    assert [a.status_code for a in attempts] == [403, 403]
    left = (await front_door.get("Task", params={"patient": me.id})).json()
    assert matches(left) == []


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"code": {"coding": [{"system": TASK_CODE, "code": "fulfill"}]}}, 403),
        ({"description": None}, 422),
        ({"focus": None}, 422),
        ({"focus": {"reference": "Observation/does-not-exist"}}, 422),
        ({"focus": {"reference": "not a reference"}}, 422),
    ],
)
async def test_given_a_task_that_is_not_a_proper_correction_request_then_refused(
    front_door: httpx.AsyncClient,
    gateway: RunningService,
    issuer: DevIssuer,
    change: Resource,
    status: int,
) -> None:
    me = await new_person(front_door)
    body = {k: v for k, v in {**correction(ref(me.observation)), **change}.items() if v is not None}

    async with gateway_client(gateway, resident_token(issuer, me.id, RESIDENT_SCOPE)) as client:
        response = await client.post("Task", json=body)

    assert response.status_code == status, response.text
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_given_malformed_json_or_no_task_scope_then_400_or_403(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    me = await new_person(front_door)
    async with gateway_client(gateway, resident_token(issuer, me.id, RESIDENT_SCOPE)) as client:
        malformed = await client.post("Task", content=b"{not json")
    async with gateway_client(gateway, resident_token(issuer, me.id)) as client:
        unscoped = await client.post("Task", json=correction(ref(me.observation)))

    assert malformed.status_code == 400
    assert unscoped.status_code == 403
