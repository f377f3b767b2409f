"""A resident's Consent decides who may see their record: a deny provision can exclude an
organisation, or resources carrying a sensitive security label, even from staff who have a
legitimate relationship. Reads of withheld resources give 403; searches drop them and say how
many in an OperationOutcome entry.

The gateway caches each person's consent for a few seconds, so every Consent here is made
before any member of staff first looks at that person.
"""

from __future__ import annotations

import httpx

from shared.auth.devissuer import DevIssuer
from tests.conftest import gateway_client
from tests.support.fhir import observation, unique
from tests.support.gateway import (
    by,
    consent,
    create,
    labelled,
    matches,
    new_person,
    new_staff,
    resident_token,
    service_request,
    wait_for_audit,
    withheld_notes,
)
from tests.support.services import RunningService


async def test_given_consent_denying_an_organisation_when_its_staff_look_then_withheld(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    code = unique("code-")
    private, open_book, changed_mind = (
        await new_person(front_door, code),
        await new_person(front_door, code),
        await new_person(front_door, code),
    )
    agency = await new_staff(front_door, issuer)  # the organisation the person refuses
    hospital = await new_staff(front_door, issuer)
    for person in (private, open_book, changed_mind):
        await create(front_door, service_request(person.id, agency.organization_reference))
    await create(front_door, service_request(private.id, hospital.organization_reference))
    await create(front_door, consent(private.id, deny_actor=agency.organization_reference))
    withdrawn = consent(changed_mind.id, deny_actor=agency.organization_reference)
    await create(front_door, {**withdrawn, "status": "inactive"})

    async with gateway_client(gateway, agency.token) as client:
        for path in (f"Patient/{private.id}", f"Observation/{private.observation['id']}"):
            refused = await client.get(path)
            assert refused.status_code == 403, refused.text
            assert "consent" in refused.json()["issue"][0]["diagnostics"]
            assert private.patient["name"][0]["family"] not in refused.text
        assert (await client.get(f"Patient/{open_book.id}")).status_code == 200
        assert (await client.get(f"Patient/{changed_mind.id}")).status_code == 200
        found = (await client.get("Observation", params={"code": code})).json()
    kept = {r["id"] for r in matches(found)}
    assert kept == {open_book.observation["id"], changed_mind.observation["id"]}
    assert withheld_notes(found) == ["1 resource(s) withheld by consent or access rules"]

    async with gateway_client(gateway, hospital.token) as client:  # not refused by the person
        assert (await client.get(f"Patient/{private.id}")).status_code == 200
    assert (await front_door.get(f"Patient/{private.id}")).status_code == 200  # a service

    refusal = await wait_for_audit(front_door, private.id, by(agency.reference, outcome="4"))
    assert "consent" in refusal["outcomeDesc"]
    await wait_for_audit(front_door, private.id, by(hospital.reference, outcome="0"))


async def test_given_consent_denying_a_sensitive_label_when_staff_look_then_only_that_withheld(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    person = await new_person(front_door)
    mental_health = await create(
        front_door,
        labelled(observation(person.id, code="72133-2", value=14, unit="{score}"), "PSY"),
    )
    await create(front_door, consent(person.id, deny_labels=("PSY",)))
    nurse = await new_staff(front_door, issuer)
    await create(front_door, service_request(person.id, nurse.organization_reference))

    async with gateway_client(gateway, nurse.token) as client:
        assert (await client.get(f"Patient/{person.id}")).status_code == 200
        assert (await client.get(f"Observation/{person.observation['id']}")).status_code == 200
        refused = await client.get(f"Observation/{mental_health['id']}")
        assert refused.status_code == 403, refused.text
        assert "72133-2" not in refused.text
        found = (await client.get("Observation", params={"subject": person.id})).json()
    assert [r["id"] for r in matches(found)] == [person.observation["id"]]
    assert withheld_notes(found) == ["1 resource(s) withheld by consent or access rules"]

    # the person themselves, and the services, still see all of it
    async with gateway_client(gateway, resident_token(issuer, person.id)) as client:
        own = (await client.get("Observation", params={"subject": person.id})).json()
    assert len(matches(own)) == 2 and not withheld_notes(own)
    everything = (await front_door.get("Observation", params={"subject": person.id})).json()
    assert len(matches(everything)) == 2

    refusal = await wait_for_audit(front_door, person.id, by(nurse.reference, outcome="4"))
    assert f"Observation/{mental_health['id']}" in str(refusal["entity"])


async def test_given_label_denied_when_staff_ask_for_a_subset_then_still_withheld(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    person = await new_person(front_door)
    code = unique("phq9-")
    sensitive = await create(
        front_door, labelled(observation(person.id, code=code, value=23, unit="{score}"), "PSY")
    )
    await create(front_door, consent(person.id, deny_labels=("PSY",)))
    nurse = await new_staff(front_door, issuer)
    await create(front_door, service_request(person.id, nurse.organization_reference))
    async with gateway_client(gateway, nurse.token) as client:
        read = await client.get(f"Observation/{sensitive['id']}?_elements=valueQuantity")
        found = (
            await client.get("Observation", params={"code": code, "_elements": "value"})
        ).json()
    assert read.status_code == 403, read.text
    assert matches(found) == []
