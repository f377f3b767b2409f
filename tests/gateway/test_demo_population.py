"""The demo population through the front door, as ``onestory up --demo`` loads it: it loads
(twice, adding nothing the second time), a case manager opens the people on their caseload and
sees what every service knows, and the register stays with the register's team."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from services.record.demo import demo_bundle
from services.record.demo_data import NMC_SYSTEM
from shared.auth.devissuer import DevIssuer
from shared.fhir import terms
from shared.nhs_number import NHS_NUMBER_SYSTEM
from tests.conftest import gateway_client
from tests.support.fhir import unique
from tests.support.gateway import matches, new_staff
from tests.support.services import RunningService

Resource = dict[str, Any]
# A small population that still holds every kind of fact (a caseload person with a discharge,
# referrals and a carer; people on the register).
DEMO = demo_bundle(patients=12, seed=4)


@dataclass(frozen=True)
class Pair:
    """A person (by NHS number) and the member of staff who looks after them (by NMC PIN)."""

    nhs_number: str
    nmc_pin: str


@pytest.fixture(scope="module")
async def loaded(gateway: RunningService, system_token: str) -> list[Resource]:
    """The demo loaded through the gateway with a service's token; the first answer's
    entries."""
    async with gateway_client(gateway, system_token) as client:
        answer = await client.post("", json=DEMO, timeout=300)
    assert answer.status_code == 200, answer.text[:2000]
    entries: list[Resource] = answer.json()["entry"]
    return entries


@pytest.fixture
async def system(gateway: RunningService, system_token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(gateway, system_token) as client:
        yield client


async def test_given_the_demo_loaded_when_loaded_again_then_nothing_is_added(
    loaded: list[Resource], system: httpx.AsyncClient
) -> None:
    again = await system.post("", json=DEMO, timeout=300)

    assert again.status_code == 200, again.text[:2000]
    statuses = {e["response"]["status"] for e in again.json()["entry"][: len(DEMO["entry"])]}
    assert statuses == {"200 OK"}


async def test_given_a_case_manager_when_they_open_their_caseload_person_then_every_service(
    loaded: list[Resource], system: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    pair = _caseload_person_with_everything()
    patient_id = await _id(system, "Patient", NHS_NUMBER_SYSTEM, pair.nhs_number)
    manager = await _id(system, "Practitioner", NMC_SYSTEM, pair.nmc_pin)
    token = issuer.issue(
        scope="user/*.rs", subject=unique("case-manager-"), fhir_user=f"Practitioner/{manager}"
    )

    async with gateway_client(gateway, token) as client:
        found = {
            kind: matches((await client.get(kind, params={"patient": patient_id})).json())
            for kind in ("ServiceRequest", "CarePlan", "EpisodeOfCare", "RelatedPerson", "Task")
        }

    assert found["ServiceRequest"] and found["RelatedPerson"]
    assert [p["title"] for p in found["CarePlan"]] == ["Personalised care and support plan"]
    episode_types = {e["type"][0]["coding"][0]["code"] for e in found["EpisodeOfCare"]}
    assert {terms.PROACTIVE_CASE_MANAGEMENT, terms.DISCHARGE_TO_ASSESS} <= episode_types
    routings = [
        t for t in found["Task"] if terms.has_coding(t["code"], terms.TASK_CODE, terms.TRIAGE_TASK)
    ]  # other services may have given the case manager Tasks of their own meanwhile
    assert routings and all(t["businessStatus"]["text"].startswith("Routed to") for t in routings)


async def test_given_the_register_when_the_keyworker_or_a_stranger_asks_then_only_the_keyworker(
    loaded: list[Resource], system: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    pair = _register_person()
    patient_id = await _id(system, "Patient", NHS_NUMBER_SYSTEM, pair.nhs_number)
    keyworker = await _id(system, "Practitioner", NMC_SYSTEM, pair.nmc_pin)
    keyworker_token = issuer.issue(
        scope="user/*.rs", subject=unique("keyworker-"), fhir_user=f"Practitioner/{keyworker}"
    )
    stranger = await new_staff(system, issuer, scope="user/*.rs")
    glass = {"X-Break-Glass-Reason": "Found unwell in the street"}

    async with gateway_client(gateway, keyworker_token) as client:
        theirs = await client.get("RiskAssessment", params={"patient": patient_id})
    async with gateway_client(gateway, stranger.token, **glass) as client:
        broken = await client.get("RiskAssessment", params={"patient": patient_id})

    assert theirs.status_code == 200 and len(matches(theirs.json())) == 1
    rating = matches(theirs.json())[0]["prediction"][0]["outcome"]["coding"][0]
    assert rating["code"] in terms.RAG_RATINGS
    assert broken.status_code == 200 and matches(broken.json()) == []


# --- Finding the demo's people in the bundle ------------------------------------------------


def _resources() -> dict[str, Resource]:
    return {entry["fullUrl"]: entry["resource"] for entry in DEMO["entry"]}


def _episodes(kind: str) -> list[Resource]:
    return [
        r
        for r in _resources().values()
        if r["resourceType"] == "EpisodeOfCare"
        and terms.has_coding(r["type"], terms.EPISODE_TYPE, kind)
    ]


def _pair(episode: Resource) -> Pair:
    resources = _resources()
    patient = resources[episode["patient"]["reference"]]
    staff = resources[episode["careManager"]["reference"]]
    return Pair(_identifier(patient, NHS_NUMBER_SYSTEM), _identifier(staff, NMC_SYSTEM))


def _caseload_person_with_everything() -> Pair:
    discharged = {e["patient"]["reference"] for e in _episodes(terms.DISCHARGE_TO_ASSESS)}
    carers = {
        r["patient"]["reference"]
        for r in _resources().values()
        if r["resourceType"] == "RelatedPerson"
    }
    episode = next(
        e
        for e in _episodes(terms.PROACTIVE_CASE_MANAGEMENT)
        if e["patient"]["reference"] in discharged & carers
    )
    return _pair(episode)


def _register_person() -> Pair:
    return _pair(_episodes(terms.DYNAMIC_SUPPORT_REGISTER)[0])


def _identifier(resource: Resource, system: str) -> str:
    value: str = next(i["value"] for i in resource["identifier"] if i["system"] == system)
    return value


async def _id(client: httpx.AsyncClient, kind: str, system: str, value: str) -> str:
    found = matches((await client.get(kind, params={"identifier": f"{system}|{value}"})).json())
    assert len(found) == 1, (kind, value)
    resource_id: str = found[0]["id"]
    return resource_id
