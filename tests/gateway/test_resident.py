"""A resident's own token (patient/ scopes): their whole record and nobody else's, their own
story and choices, and who has looked at their record."""

from __future__ import annotations

import httpx

from shared.auth.devissuer import DevIssuer
from tests.conftest import gateway_client
from tests.support.fhir import observation, unique
from tests.support.gateway import (
    about_me,
    by,
    carer,
    consent,
    create,
    episode_of_care,
    matches,
    new_person,
    new_staff,
    organization,
    patients_in,
    ref,
    resident_token,
    wait_for_audit,
)
from tests.support.services import RunningService


async def test_given_resident_token_when_reading_then_own_record_only(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    code = unique("code-")
    me, neighbour = await new_person(front_door, code), await new_person(front_door, code)
    async with gateway_client(gateway, resident_token(issuer, me.id)) as client:
        assert (await client.get(f"Patient/{me.id}")).status_code == 200
        mine = await client.get(f"Observation/{me.observation['id']}")
        assert mine.status_code == 200 and mine.json()["valueQuantity"]["value"] == 72
        for path in (f"Patient/{neighbour.id}", f"Observation/{neighbour.observation['id']}"):
            refused = await client.get(path)
            assert refused.status_code == 403, path
            assert neighbour.id not in refused.text
    await wait_for_audit(front_door, neighbour.id, by(f"Patient/{me.id}", outcome="4"))


async def test_given_resident_token_when_searching_then_only_own_resources_even_when_others_match(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    code = unique("code-")
    me, neighbour = await new_person(front_door, code), await new_person(front_door, code)
    async with gateway_client(gateway, resident_token(issuer, me.id)) as client:
        by_code = (await client.get("Observation", params={"code": code})).json()
        assert [r["id"] for r in matches(by_code)] == [me.observation["id"]]
        theirs = await client.get("Observation", params={"subject": f"Patient/{neighbour.id}"})
        assert theirs.status_code == 200 and matches(theirs.json()) == []
        everyone = (await client.get("Patient", params={"_count": 50})).json()
        assert [r["id"] for r in matches(everyone)] == [me.id]
    # the service sees both: the resident's view was narrowed by the gateway
    both = (await front_door.get("Observation", params={"code": code})).json()
    assert len(matches(both)) == 2


async def test_given_resident_when_looking_at_audit_then_sees_who_looked_about_them_only(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    code = unique("code-")
    me, neighbour = await new_person(front_door, code), await new_person(front_door, code)
    nurse = await new_staff(front_door, issuer)
    for person in (me, neighbour):
        await create(front_door, episode_of_care(person.id, care_manager=nurse.reference))
    async with gateway_client(gateway, nurse.token) as client:
        assert (await client.get(f"Patient/{me.id}")).status_code == 200
        both = (await client.get("Observation", params={"code": code})).json()  # both of them
        assert len(matches(both)) == 2
    await wait_for_audit(front_door, me.id, by(nurse.reference, interaction="read"))
    await wait_for_audit(front_door, me.id, by(nurse.reference, interaction="search-type"))
    async with gateway_client(gateway, resident_token(issuer, me.id)) as client:
        seen = (await client.get("AuditEvent", params={"patient": me.id, "_count": 200})).json()
        events = matches(seen)
        assert any(by(nurse.reference, interaction="read")(e) for e in events)
        assert all(patients_in(e) == {me.id} for e in events), "entries about others shown"
        # the nurse's search touched both records; whatever the resident is shown of it, and of
        # entries about the neighbour, names nobody but them
        about_them = await client.get("AuditEvent", params={"patient": neighbour.id})
    assert about_them.status_code == 200, about_them.text
    assert all(patients_in(e) == {me.id} for e in matches(about_them.json()))


async def test_given_resident_when_adding_own_story_then_stored_with_provenance(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    me = await new_person(front_door)
    token = resident_token(issuer, me.id, scope="patient/*.cruds")
    async with gateway_client(gateway, token) as client:
        story = await client.post("QuestionnaireResponse", json=about_me(me.id))
        assert story.status_code == 201, story.text
        carer_added = await client.post("RelatedPerson", json=carer(me.id))
        assert carer_added.status_code == 201, carer_added.text
        mine = (await client.get("QuestionnaireResponse", params={"subject": me.id})).json()
        assert [r["id"] for r in matches(mine)] == [story.json()["id"]]
    provenance = (
        await front_door.get(
            "Provenance", params={"target": f"QuestionnaireResponse/{story.json()['id']}"}
        )
    ).json()
    assert f"Patient/{me.id}" in str(matches(provenance)[0]["agent"])
    await wait_for_audit(front_door, me.id, by(f"Patient/{me.id}", interaction="create"))


async def test_given_resident_when_recording_and_withdrawing_consent_then_both_allowed(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    me = await new_person(front_door)
    agency = await create(front_door, organization())
    token = resident_token(issuer, me.id, scope="patient/*.cruds")
    async with gateway_client(gateway, token) as client:
        choice = consent(me.id, deny_actor=ref(agency))
        recorded = await client.post("Consent", json=choice)
        assert recorded.status_code == 201, recorded.text
        stored = recorded.json()
        withdrawn = await client.put(
            f"Consent/{stored['id']}", json={**stored, "status": "inactive"}
        )
        assert withdrawn.status_code == 200, withdrawn.text
        assert withdrawn.json()["status"] == "inactive"
        active = (await client.get("Consent", params={"status": "active"})).json()
        assert matches(active) == []


async def test_given_resident_when_writing_into_another_record_then_403_and_nothing_stored(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    me, neighbour = await new_person(front_door), await new_person(front_door)
    their_consent = await create(front_door, consent(neighbour.id))
    token = resident_token(issuer, me.id, scope="patient/*.cruds")
    async with gateway_client(gateway, token) as client:
        attempts = [
            await client.post("QuestionnaireResponse", json=about_me(neighbour.id, "Not me")),
            await client.post("RelatedPerson", json=carer(neighbour.id)),
            await client.post("Observation", json=observation(neighbour.id)),
            await client.put(
                f"Consent/{their_consent['id']}", json={**their_consent, "status": "inactive"}
            ),
            await client.put(
                f"Observation/{neighbour.observation['id']}",
                json={**neighbour.observation, "subject": {"reference": f"Patient/{me.id}"}},
            ),
            await client.delete(f"Observation/{neighbour.observation['id']}"),
            await client.post("Practitioner", json={"resourceType": "Practitioner"}),
        ]
    assert [a.status_code for a in attempts] == [403] * len(attempts), [a.text for a in attempts]
    kept = (await front_door.get(f"Observation/{neighbour.observation['id']}")).json()
    assert kept["subject"]["reference"] == f"Patient/{neighbour.id}"
    assert (await front_door.get(f"Consent/{their_consent['id']}")).json()["status"] == "active"
    written = await front_door.get("QuestionnaireResponse", params={"subject": neighbour.id})
    assert matches(written.json()) == []


async def test_given_resident_token_when_posting_a_transaction_or_lacking_patient_claim_then_403(
    gateway: RunningService, issuer: DevIssuer
) -> None:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": []}
    async with gateway_client(gateway, resident_token(issuer, "someone")) as client:
        assert (await client.post("", json=bundle)).status_code == 403
    no_claim = issuer.issue(scope="patient/*.rs", subject=unique("resident-"))
    async with gateway_client(gateway, no_claim) as client:
        refused = await client.get("Observation", params={"code": unique()})
    assert refused.status_code == 403
    assert "patient claim" in refused.json()["issue"][0]["diagnostics"]
