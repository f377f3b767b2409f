"""Staff (user/ tokens) open a person's record only with a legitimate relationship, or by
breaking the glass with a stated reason, which is allowed, flagged and audited.

Relationship answers are cached per (member of staff, person), so every test makes its own
practitioner and builds the relationship before the first look.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from gateway.audit import AUDIT_FLAG_SYSTEM
from shared.auth.devissuer import DevIssuer
from tests.conftest import gateway_client
from tests.support.fhir import observation, unique
from tests.support.gateway import (
    BREAK_GLASS_TAG,
    Person,
    Staff,
    by,
    care_team,
    create,
    encounter,
    episode_of_care,
    matches,
    new_person,
    new_staff,
    practitioner_role,
    purposes,
    ref,
    service_request,
    tags,
    task,
    wait_for_audit,
    withheld_notes,
)
from tests.support.services import RunningService

Relate = Callable[[httpx.AsyncClient, Staff, Person], Awaitable[None]]


async def _care_manager(system: httpx.AsyncClient, staff: Staff, person: Person) -> None:
    await create(system, episode_of_care(person.id, care_manager=staff.reference))


async def _team_caseload(system: httpx.AsyncClient, staff: Staff, person: Person) -> None:
    team = await create(system, care_team(staff.reference))
    await create(system, episode_of_care(person.id, team=ref(team)))


async def _referral_to_role_organisation(
    system: httpx.AsyncClient, staff: Staff, person: Person
) -> None:
    """The practitioner works for a second organisation (a PractitionerRole, not the token)."""
    hospice = await create(system, {"resourceType": "Organization", "name": unique("Hospice ")})
    await create(system, practitioner_role(staff.reference, ref(hospice)))
    await create(system, service_request(person.id, ref(hospice)))


async def _referral_to_token_organisation(
    system: httpx.AsyncClient, staff: Staff, person: Person
) -> None:
    await create(system, service_request(person.id, staff.organization_reference))


async def _task_for_team(system: httpx.AsyncClient, staff: Staff, person: Person) -> None:
    team = await create(system, care_team(staff.reference))
    await create(system, task(person.id, ref(team)))


async def _inpatient_stay(system: httpx.AsyncClient, staff: Staff, person: Person) -> None:
    await create(system, encounter(person.id, staff.organization_reference))


async def _on_the_persons_care_team(
    system: httpx.AsyncClient, staff: Staff, person: Person
) -> None:
    await create(system, care_team(staff.reference, patient_id=person.id))


RELATIONSHIPS: dict[str, Relate] = {
    "care manager of an active episode": _care_manager,
    "on the caseload of their care team": _team_caseload,
    "referral to their PractitionerRole's organisation": _referral_to_role_organisation,
    "referral to the token's organisation": _referral_to_token_organisation,
    "task owned by their care team": _task_for_team,
    "inpatient under their organisation": _inpatient_stay,
    "member of the person's care team": _on_the_persons_care_team,
}


async def _finished_episode(system: httpx.AsyncClient, staff: Staff, person: Person) -> None:
    await create(
        system, episode_of_care(person.id, care_manager=staff.reference, status="finished")
    )


async def _completed_task(system: httpx.AsyncClient, staff: Staff, person: Person) -> None:
    team = await create(system, care_team(staff.reference))
    await create(system, task(person.id, ref(team), status="completed"))


async def _finished_stay(system: httpx.AsyncClient, staff: Staff, person: Person) -> None:
    await create(system, encounter(person.id, staff.organization_reference, status="finished"))


async def _someone_elses_referral(system: httpx.AsyncClient, staff: Staff, person: Person) -> None:
    other = await create(system, {"resourceType": "Organization", "name": unique("Other ")})
    await create(system, service_request(person.id, ref(other)))


async def _nothing(system: httpx.AsyncClient, staff: Staff, person: Person) -> None:
    return None


NOT_RELATIONSHIPS: dict[str, Relate] = {
    "no relationship at all": _nothing,
    "a finished episode": _finished_episode,
    "a completed task": _completed_task,
    "a finished stay": _finished_stay,
    "another organisation's referral": _someone_elses_referral,
}


@pytest.mark.parametrize("relationship", list(RELATIONSHIPS))
async def test_given_legitimate_relationship_when_staff_read_then_allowed_and_audited(
    relationship: str,
    front_door: httpx.AsyncClient,
    gateway: RunningService,
    issuer: DevIssuer,
) -> None:
    person = await new_person(front_door)
    staff = await new_staff(front_door, issuer)
    await RELATIONSHIPS[relationship](front_door, staff, person)
    async with gateway_client(gateway, staff.token) as client:
        assert (await client.get(f"Patient/{person.id}")).status_code == 200
        seen = await client.get(f"Observation/{person.observation['id']}")
        assert seen.status_code == 200, seen.text
        found = (await client.get("Observation", params={"subject": person.id})).json()
        assert [r["id"] for r in matches(found)] == [person.observation["id"]]
    event = await wait_for_audit(front_door, person.id, by(staff.reference, outcome="0"))
    assert "TREAT" in set(purposes(event))
    assert BREAK_GLASS_TAG not in tags(event)


@pytest.mark.parametrize("situation", list(NOT_RELATIONSHIPS))
async def test_given_no_legitimate_relationship_when_staff_read_then_403_and_refusal_audited(
    situation: str,
    front_door: httpx.AsyncClient,
    gateway: RunningService,
    issuer: DevIssuer,
) -> None:
    person = await new_person(front_door)
    staff = await new_staff(front_door, issuer)
    await NOT_RELATIONSHIPS[situation](front_door, staff, person)
    async with gateway_client(gateway, staff.token) as client:
        for path in (f"Patient/{person.id}", f"Observation/{person.observation['id']}"):
            refused = await client.get(path)
            assert refused.status_code == 403, refused.text
            assert "X-Break-Glass-Reason" in refused.json()["issue"][0]["diagnostics"]
            assert person.patient["name"][0]["family"] not in refused.text
    event = await wait_for_audit(front_door, person.id, by(staff.reference, outcome="4"))
    assert event["outcomeDesc"].startswith("No legitimate relationship")


async def test_given_staff_search_when_some_people_unrelated_then_theirs_withheld_and_counted(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    code = unique("code-")
    mine, stranger = await new_person(front_door, code), await new_person(front_door, code)
    staff = await new_staff(front_door, issuer)
    await _care_manager(front_door, staff, mine)
    async with gateway_client(gateway, staff.token) as client:
        found = (await client.get("Observation", params={"code": code})).json()
    assert [r["id"] for r in matches(found)] == [mine.observation["id"]]
    assert withheld_notes(found) == ["1 resource(s) withheld by consent or access rules"]
    assert stranger.id not in str(found.get("entry"))


async def test_given_staff_without_relationship_when_writing_then_403_and_nothing_stored(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    person = await new_person(front_door)
    staff = await new_staff(front_door, issuer)
    note = {
        "resourceType": "Flag",
        "status": "active",
        "code": {"text": unique("Key safe code ")},
        "subject": {"reference": f"Patient/{person.id}"},
    }
    async with gateway_client(gateway, staff.token) as client:
        assert (await client.post("Flag", json=note)).status_code == 403
        deleted = await client.delete(f"Observation/{person.observation['id']}")
        assert deleted.status_code == 403
    assert (await front_door.get(f"Observation/{person.observation['id']}")).status_code == 200
    flags = await front_door.get("Flag", params={"subject": person.id})
    assert matches(flags.json()) == []


async def test_given_conditional_writes_when_the_match_is_an_unrelated_persons_then_403(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    """The criteria find another person's resource: it must not be answered, moved or deleted."""
    theirs, mine = await new_person(front_door), await new_person(front_door)
    staff = await new_staff(front_door, issuer)
    await _care_manager(front_door, staff, mine)
    target = theirs.observation["id"]
    mine_now = observation(mine.id, value=80)
    async with gateway_client(gateway, staff.token) as client:
        attempts = {
            "create": await client.post(
                "Observation", json=mine_now, headers={"If-None-Exist": f"_id={target}"}
            ),
            "update": await client.put(
                f"Observation?_id={target}", json={**mine_now, "id": target}
            ),
            "patch": await client.patch(
                f"Observation?_id={target}",
                content=b'[{"op": "replace", "path": "/status", "value": "cancelled"}]',
                headers={"Content-Type": "application/json-patch+json"},
            ),
            "delete": await client.delete(f"Observation?_id={target}"),
        }
        assert {k: a.status_code for k, a in attempts.items()} == dict.fromkeys(attempts, 403)
        assert "72" not in attempts["create"].text
        own = await client.put(
            f"Observation?_id={mine.observation['id']}",
            json={**mine_now, "id": mine.observation["id"]},
        )
        assert own.status_code == 200, own.text
    kept = (await front_door.get(f"Observation/{target}")).json()
    assert kept["subject"]["reference"] == f"Patient/{theirs.id}"
    assert kept["status"] == "final" and kept["meta"]["versionId"] == "1"


async def test_given_practitioner_role_as_fhir_user_when_reading_then_its_organisation_counts(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    person = await new_person(front_door)
    staff = await new_staff(front_door, issuer, organization_claim=False)
    role = await create(
        front_door, practitioner_role(staff.reference, staff.organization_reference)
    )
    await create(front_door, service_request(person.id, staff.organization_reference))
    token = issuer.issue(
        scope="user/*.rs", subject=unique("staff-"), fhir_user=ref(role), client_id="epr"
    )
    async with gateway_client(gateway, token) as client:
        assert (await client.get(f"Patient/{person.id}")).status_code == 200


async def test_given_break_glass_reason_when_no_relationship_then_allowed_flagged_and_audited(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    person = await new_person(front_door)
    staff = await new_staff(front_door, issuer)
    reason = "Found collapsed at home; UCR needs medication history"
    async with gateway_client(gateway, staff.token) as client:
        assert (await client.get(f"Patient/{person.id}")).status_code == 403
        glass = {"X-Break-Glass-Reason": reason}
        opened = await client.get(f"Patient/{person.id}", headers=glass)
        assert opened.status_code == 200, opened.text
        assert opened.json()["id"] == person.id
        seen = await client.get("Observation", params={"subject": person.id}, headers=glass)
        assert [r["id"] for r in matches(seen.json())] == [person.observation["id"]]
        assert (await client.get(f"Patient/{person.id}")).status_code == 403  # not remembered
    event = await wait_for_audit(
        front_door, person.id, lambda e: by(staff.reference, outcome="0")(e) and bool(tags(e))
    )
    assert BREAK_GLASS_TAG in tags(event)
    assert "BTG" in set(purposes(event))
    assert event["purposeOfEvent"][0]["text"] == reason
    refusal = await wait_for_audit(front_door, person.id, by(staff.reference, outcome="4"))
    assert BREAK_GLASS_TAG not in tags(refusal)
    review = {"_tag": f"{AUDIT_FLAG_SYSTEM}|{BREAK_GLASS_TAG}", "patient": person.id}
    tagged = (await front_door.get("AuditEvent", params=review)).json()
    assert event["id"] in {r["id"] for r in matches(tagged)}


@pytest.mark.parametrize("subsetting", ["_elements=valueQuantity", "_summary=text"])
async def test_given_no_relationship_when_reading_a_subset_then_still_403(
    subsetting: str, front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    person = await new_person(front_door)
    staff = await new_staff(front_door, issuer)
    async with gateway_client(gateway, staff.token) as client:
        answer = await client.get(f"Observation/{person.observation['id']}?{subsetting}")
    assert answer.status_code == 403, answer.text
