"""``Patient/$summary`` through the front door: one page joining what every service knows,
each section saying where its facts came from, and only what the caller may see."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.auth.devissuer import DevIssuer
from shared.fhir import terms
from shared.fhir.validation import validate
from shared.nhs_number import NHS_NUMBER_SYSTEM
from tests.conftest import gateway_client
from tests.support.fhir import condition, patient, unique
from tests.support.gateway import (
    by,
    create,
    episode_of_care,
    new_person,
    new_staff,
    ref,
    resident_token,
    wait_for_audit,
)
from tests.support.services import RunningService
from tests.support.story import Story, labelled_dsr, seed_story, subject

Resource = dict[str, Any]
EVERY_SECTION = {
    "Problems",
    "Allergies and intolerances",
    "Medicines",
    "Recent observations",
    "Alerts",
    "Care team",
    "Open referrals and triage",
    "Proactive case management",
    "Care and support plan",
    "Discharge to assess",
    "Dynamic support register",
    "Sharing choices",
    "Carers",
    "What matters to me",
}


@pytest.fixture
async def story(front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer) -> Story:
    return await seed_story(front_door, gateway, issuer)


def sections(document: Resource) -> dict[str, Resource]:
    composition = document["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    return {s["title"]: s for s in composition["section"]}


def in_bundle(document: Resource) -> set[str]:
    return {ref(e["resource"]) for e in document["entry"][1:]}


async def get_summary(gateway: RunningService, token: str, patient_id: str) -> httpx.Response:
    async with gateway_client(gateway, token) as client:
        return await client.get(f"Patient/{patient_id}/$summary")


async def test_given_a_story_across_every_service_when_the_register_team_asks_then_every_section(
    gateway: RunningService, issuer: DevIssuer, story: Story, front_door: httpx.AsyncClient
) -> None:
    dsr_lead = await new_staff(front_door, issuer, roles=(terms.DSR_TEAM_ROLE,))
    await create(front_door, episode_of_care(story.patient_id, care_manager=dsr_lead.reference))

    response = await get_summary(gateway, dsr_lead.token, story.patient_id)

    assert response.status_code == 200, response.text
    document = response.json()
    assert document["type"] == "document" and document["identifier"]["value"].startswith(
        "urn:uuid:"
    )
    validate(document)
    found = sections(document)
    assert set(found) == EVERY_SECTION
    held = in_bundle(document)
    for section in found.values():
        assert section["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
        for entry in section.get("entry", []):
            assert entry["reference"] in held, (section["title"], entry)
    assert f"RiskAssessment/{story.rating_id}" in held
    assert "Amber" in found["Dynamic support register"]["text"]["div"]
    assert (
        "Routed to urgent community response" in found["Open referrals and triage"]["text"]["div"]
    )
    assert "Pathway 1" in found["Discharge to assess"]["text"]["div"]
    assert "Albert Road" in found["Care and support plan"]["text"]["div"]
    assert "tea strong" in found["What matters to me"]["text"]["div"]
    composition = document["entry"][0]["resource"]
    assert composition["confidentiality"] == "R"


async def test_given_facts_written_by_staff_then_their_section_names_the_author_and_organisation(
    gateway: RunningService, issuer: DevIssuer, story: Story
) -> None:
    manager = story.case_manager

    document = (await get_summary(gateway, manager.token, story.patient_id)).json()

    problems = sections(document)["Problems"]
    assert story.problem_text in problems["text"]["div"]
    assert manager.practitioner["name"][0]["family"] in problems["text"]["div"]
    assert manager.organization["name"] in problems["text"]["div"]
    assert {"reference": manager.reference} in problems["author"]
    provenances = [
        e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == "Provenance"
    ]
    assert provenances and all(p["target"] for p in provenances)


async def test_given_a_clinician_without_register_access_then_no_dsr_section_and_no_trace_of_it(
    gateway: RunningService, issuer: DevIssuer, story: Story
) -> None:
    response = await get_summary(gateway, story.case_manager.token, story.patient_id)

    assert response.status_code == 200, response.text
    document = response.json()
    assert "Dynamic support register" not in sections(document)
    assert f"RiskAssessment/{story.rating_id}" not in in_bundle(document)
    assert terms.DSR_LABEL["code"] not in {
        s.get("code")
        for e in document["entry"]
        for s in e["resource"].get("meta", {}).get("security", [])
    }
    assert "Amber" not in response.text
    assert document["entry"][0]["resource"]["confidentiality"] == "N"


async def test_given_the_persons_keyworker_on_their_register_team_then_the_dsr_section(
    gateway: RunningService, issuer: DevIssuer, story: Story, front_door: httpx.AsyncClient
) -> None:
    keyworker = await new_staff(front_door, issuer)
    team = {
        "resourceType": "CareTeam",
        "status": "active",
        "name": "DSR keyworker team",
        "subject": subject(story.patient_id),
        "participant": [{"member": {"reference": keyworker.reference}}],
    }
    await create(front_door, labelled_dsr(team))

    response = await get_summary(gateway, keyworker.token, story.patient_id)

    assert response.status_code == 200, response.text
    assert "Dynamic support register" in sections(response.json())


async def test_given_a_resident_then_their_own_summary_and_403_for_another(
    gateway: RunningService, issuer: DevIssuer, story: Story, front_door: httpx.AsyncClient
) -> None:
    stranger = await new_person(front_door)
    token = resident_token(issuer, story.patient_id)

    mine = await get_summary(gateway, token, story.patient_id)
    theirs = await get_summary(gateway, token, stranger.id)

    assert mine.status_code == 200 and "What matters to me" in sections(mine.json())
    assert theirs.status_code == 403


async def test_given_staff_without_a_relationship_then_403_and_audited(
    gateway: RunningService, issuer: DevIssuer, story: Story, front_door: httpx.AsyncClient
) -> None:
    stranger = await new_staff(front_door, issuer)

    response = await get_summary(gateway, stranger.token, story.patient_id)

    assert response.status_code == 403
    await wait_for_audit(front_door, story.patient_id, by(stranger.reference, outcome="4"))


async def test_given_a_summary_read_then_the_access_is_audited(
    gateway: RunningService, issuer: DevIssuer, story: Story, front_door: httpx.AsyncClient
) -> None:
    await get_summary(gateway, story.case_manager.token, story.patient_id)

    await wait_for_audit(
        front_door, story.patient_id, by(story.case_manager.reference, outcome="0")
    )


async def test_given_html_asked_for_then_a_readable_escaped_page(
    gateway: RunningService, issuer: DevIssuer, front_door: httpx.AsyncClient
) -> None:
    person = await create(front_door, patient())
    problem = condition(person["id"])
    problem["code"] = {"text": "<script>alert(1)</script> Diabetes"}
    await create(front_door, problem)
    token = resident_token(issuer, person["id"])
    async with gateway_client(gateway, token) as client:
        page = await client.get(f"Patient/{person['id']}/$summary", params={"_format": "html"})
        by_accept = await client.get(
            f"Patient/{person['id']}/$summary", headers={"Accept": "text/html"}
        )

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<h2>Problems</h2>" in page.text and "Diabetes" in page.text
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    assert by_accept.headers["content-type"].startswith("text/html")


async def test_given_a_new_person_then_the_required_sections_say_nothing_is_recorded(
    gateway: RunningService, issuer: DevIssuer, front_door: httpx.AsyncClient
) -> None:
    person = await create(front_door, patient())

    document = (
        await get_summary(gateway, resident_token(issuer, person["id"]), person["id"])
    ).json()

    found = sections(document)
    assert set(found) == {"Problems", "Allergies and intolerances", "Medicines"}
    for section in found.values():
        assert section["emptyReason"]["coding"][0]["code"] == "nilknown"
        assert "entry" not in section


async def test_given_scopes_for_some_kinds_only_then_the_summary_holds_only_those(
    gateway: RunningService, issuer: DevIssuer, story: Story
) -> None:
    manager = story.case_manager
    token = issuer.issue(
        scope="user/Patient.rs user/Condition.rs",
        subject=unique("staff-"),
        fhir_user=manager.reference,
        organization=manager.organization_reference,
    )

    document = (await get_summary(gateway, token, story.patient_id)).json()

    kinds = {e["resource"]["resourceType"] for e in document["entry"][1:]}
    assert kinds <= {"Patient", "Condition", "Provenance", "Practitioner", "Organization"}
    assert story.problem_text in sections(document)["Problems"]["text"]["div"]


async def test_given_an_identifier_then_the_persons_summary(
    gateway: RunningService, issuer: DevIssuer, story: Story, front_door: httpx.AsyncClient
) -> None:
    person = (await front_door.get(f"Patient/{story.patient_id}")).json()
    number = next(i["value"] for i in person["identifier"] if i["system"] == NHS_NUMBER_SYSTEM)

    response = await front_door.get(
        "Patient/$summary", params={"identifier": f"{NHS_NUMBER_SYSTEM}|{number}"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["entry"][1]["resource"]["id"] == story.patient_id


async def test_given_a_merged_record_then_the_survivors_summary_says_so(
    gateway: RunningService, front_door: httpx.AsyncClient, story: Story
) -> None:
    link = [{"other": {"reference": f"Patient/{story.patient_id}"}, "type": "replaced-by"}]
    old_id = unique("old-")
    merged = {**patient(), "id": old_id, "active": False, "link": link}
    assert (await front_door.put(f"Patient/{old_id}", json=merged)).status_code == 201

    response = await front_door.get(f"Patient/{old_id}/$summary")

    assert response.status_code == 200, response.text
    document = response.json()
    assert document["entry"][1]["resource"]["id"] == story.patient_id
    assert f"Patient/{old_id} was merged" in document["entry"][0]["resource"]["text"]["div"]


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("Patient/{id}/$summary", {"_count": "5"}, 400),
        ("Patient/{id}/$summary", {"_format": "xml"}, 406),
        ("Patient/$summary", {}, 400),
        ("Patient/$summary", {"identifier": "no-bar"}, 400),
        ("Patient/$summary", {"identifier": f"{NHS_NUMBER_SYSTEM}|0000000000"}, 404),
        ("Patient/does-not-exist/$summary", {}, 404),
    ],
)
async def test_given_bad_input_then_an_operation_outcome(
    front_door: httpx.AsyncClient, path: str, params: dict[str, str], status: int
) -> None:
    person = await create(front_door, patient())

    response = await front_door.get(path.format(id=person["id"]), params=params)

    assert response.status_code == status, response.text
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_given_no_token_then_401(
    gateway: RunningService, front_door: httpx.AsyncClient
) -> None:
    person = await create(front_door, patient())
    async with gateway_client(gateway, None) as client:
        response = await client.get(f"Patient/{person['id']}/$summary")
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_the_capability_statement_lists_summary(front_door: httpx.AsyncClient) -> None:
    statement = (await front_door.get("metadata")).json()
    patient_resource = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    assert "summary" in {o["name"] for o in patient_resource.get("operation", [])}


async def test_given_the_same_story_then_everything_holds_every_service_s_facts(
    gateway: RunningService, issuer: DevIssuer, story: Story, front_door: httpx.AsyncClient
) -> None:
    dsr_lead = await new_staff(front_door, issuer, roles=(terms.DSR_TEAM_ROLE,))
    await create(front_door, episode_of_care(story.patient_id, care_manager=dsr_lead.reference))
    async with gateway_client(gateway, dsr_lead.token) as client:
        everything = await client.get(f"Patient/{story.patient_id}/$everything?_count=200")
    async with gateway_client(gateway, story.case_manager.token) as client:
        without_register = await client.get(f"Patient/{story.patient_id}/$everything?_count=200")

    kinds = {e["resource"]["resourceType"] for e in everything.json()["entry"]}
    assert {
        "ServiceRequest",
        "Task",
        "EpisodeOfCare",
        "CarePlan",
        "Goal",
        "RiskAssessment",
        "Consent",
        "RelatedPerson",
        "QuestionnaireResponse",
        "Condition",
    } <= kinds
    held = {ref(e["resource"]) for e in without_register.json()["entry"] if "id" in e["resource"]}
    assert f"RiskAssessment/{story.rating_id}" not in held
