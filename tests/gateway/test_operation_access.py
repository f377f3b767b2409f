"""Operations that name people in their body (``Questionnaire/$populate``, ``Patient/$merge``)
through the front door: the caller must be allowed to open each person's record, the call is
audited against them, and no pre-filled answer comes from what the person's consent
withholds from the caller."""

from __future__ import annotations

from typing import Any

import httpx

from shared.auth.devissuer import DevIssuer
from tests.conftest import gateway_client
from tests.support.fhir import condition
from tests.support.gateway import (
    by,
    consent,
    create,
    episode_of_care,
    labelled,
    new_person,
    new_staff,
    resident_token,
    wait_for_audit,
)
from tests.support.services import RunningService

Resource = dict[str, Any]
INTAKE = "https://onestory.example.nhs.uk/Questionnaire/referral-intake"


def populate(patient_id: str) -> Resource:
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "canonical", "valueCanonical": INTAKE},
            {"name": "subject", "valueReference": {"reference": f"Patient/{patient_id}"}},
        ],
    }


def answers(parameters: Resource, link_id: str) -> list[Resource]:
    response = next(p["resource"] for p in parameters["parameter"] if p["name"] == "response")
    stack = list(response.get("item", []))
    while stack:
        item = stack.pop()
        if item["linkId"] == link_id:
            return list(item.get("answer", []))
        stack += item.get("item", [])
    return []


def issues(parameters: Resource) -> list[str]:
    outcome = next((p["resource"] for p in parameters["parameter"] if p["name"] == "issues"), {})
    return [i.get("diagnostics", "") for i in outcome.get("issue", [])]


def named(display: str, code: str) -> Resource:
    return {"system": "http://snomed.info/sct", "code": code, "display": display}


async def test_given_consent_withholding_a_condition_then_staff_get_the_form_without_it(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    person = await new_person(front_door)
    diabetes, depression = named("Type 2 diabetes", "44054006"), named("Depression", "35489007")
    for code, labels in ((diabetes, ()), (depression, ("PSY",))):
        found = condition(person.id)
        found["code"] = {"coding": [code], "text": code["display"]}
        await create(front_door, labelled(found, *labels) if labels else found)
    await create(front_door, consent(person.id, deny_labels=("PSY",)))
    nurse = await new_staff(front_door, issuer)
    await create(front_door, episode_of_care(person.id, care_manager=nurse.reference))

    async with gateway_client(gateway, nurse.token) as client:
        as_nurse = await client.post("Questionnaire/$populate", json=populate(person.id))
    as_service = await front_door.post("Questionnaire/$populate", json=populate(person.id))

    assert as_nurse.status_code == 200, as_nurse.text
    offered = [a["valueCoding"]["code"] for a in answers(as_nurse.json(), "known-conditions")]
    assert offered == ["44054006"]
    assert any("withheld" in text for text in issues(as_nurse.json()))
    every = {a["valueCoding"]["code"] for a in answers(as_service.json(), "known-conditions")}
    assert every == {"44054006", "35489007"}
    assert answers(as_nurse.json(), "family-name")  # the rest of the form is still offered


async def test_given_staff_without_a_relationship_then_403_and_audited(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    person = await new_person(front_door)
    stranger = await new_staff(front_door, issuer)

    async with gateway_client(gateway, stranger.token) as client:
        refused = await client.post("Questionnaire/$populate", json=populate(person.id))

    assert refused.status_code == 403
    await wait_for_audit(front_door, person.id, by(stranger.reference, outcome="4"))


async def test_given_a_resident_then_their_own_form_only(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    me, neighbour = await new_person(front_door), await new_person(front_door)

    async with gateway_client(gateway, resident_token(issuer, me.id)) as client:
        mine = await client.post("Questionnaire/$populate", json=populate(me.id))
        theirs = await client.post("Questionnaire/$populate", json=populate(neighbour.id))

    assert mine.status_code == 200, mine.text
    family = me.patient["name"][0]["family"]
    assert [a["valueString"] for a in answers(mine.json(), "family-name")] == [family]
    assert theirs.status_code == 403


async def test_given_a_service_then_the_call_is_audited_against_the_person(
    front_door: httpx.AsyncClient,
) -> None:
    person = await new_person(front_door)

    answer = await front_door.post("Questionnaire/$populate", json=populate(person.id))

    assert answer.status_code == 200, answer.text
    await wait_for_audit(front_door, person.id, lambda event: event.get("outcome") == "0")


def merging(source_id: str, target_id: str) -> Resource:
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "source-patient", "valueReference": {"reference": f"Patient/{source_id}"}},
            {"name": "target-patient", "valueReference": {"reference": f"Patient/{target_id}"}},
            {"name": "preview", "valueBoolean": True},
        ],
    }


async def test_given_staff_related_to_one_of_two_people_when_merging_then_403_and_audited(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    mine, other = await new_person(front_door), await new_person(front_door)
    clerk = await new_staff(front_door, issuer)
    await create(front_door, episode_of_care(mine.id, care_manager=clerk.reference))

    async with gateway_client(gateway, clerk.token) as client:
        refused = await client.post("Patient/$merge", json=merging(other.id, mine.id))
        allowed_for_one = await client.post("Patient/$merge", json=merging(mine.id, mine.id))

    assert refused.status_code == 403, refused.text
    assert allowed_for_one.status_code == 422  # past the gateway: the record refuses a self-merge
    await wait_for_audit(front_door, other.id, by(clerk.reference, outcome="4"))
