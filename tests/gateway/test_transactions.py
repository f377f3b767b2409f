"""Transaction and batch Bundles through the gateway: every entry needs its own scope (and, for
staff, a relationship with whoever it touches); the Provenance the gateway adds to a
transaction is stored with it but is not one of the answers."""

from __future__ import annotations

from typing import Any

import httpx

from shared.auth.devissuer import DevIssuer
from tests.conftest import gateway_client
from tests.support.fhir import observation, patient, unique
from tests.support.gateway import (
    create,
    episode_of_care,
    matches,
    new_person,
    new_staff,
)
from tests.support.services import RunningService


def _bundle(kind: str, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def _post(resource: dict[str, Any], full_url: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def _new_patient_with_observation(family: str) -> list[dict[str, Any]]:
    person = "urn:uuid:" + unique().ljust(32, "0")[:8] + "-0000-4000-8000-000000000000"
    seen = observation("placeholder")
    seen["subject"] = {"reference": person}
    return [_post(patient(family=family), person), _post(seen)]


async def test_given_token_missing_one_entrys_scope_when_posting_transaction_then_403_naming_it(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    family = unique("Family")
    token = issuer.issue(scope="system/Patient.c", client_id=unique("pas-"))
    async with gateway_client(gateway, token) as client:
        refused = await client.post(
            "", json=_bundle("transaction", *_new_patient_with_observation(family))
        )
    assert refused.status_code == 403, refused.text
    assert "create Observation" in refused.json()["issue"][0]["diagnostics"]
    nothing = (await front_door.get("Patient", params={"family": family})).json()
    assert matches(nothing) == []


async def test_given_entries_in_scope_when_posting_transaction_then_provenance_stored_not_answered(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    family = unique("Family")
    client_id = unique("pas-")
    token = issuer.issue(scope="system/Patient.c system/Observation.c", client_id=client_id)
    async with gateway_client(gateway, token) as client:
        answer = await client.post(
            "", json=_bundle("transaction", *_new_patient_with_observation(family))
        )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["type"] == "transaction-response"
    locations = [e["response"]["location"] for e in result["entry"]]
    types = [loc.split("/_history")[0].split("/")[-2] for loc in locations]
    assert types == ["Patient", "Observation"]
    assert "Provenance" not in answer.text
    stored = matches((await front_door.get("Patient", params={"family": family})).json())
    assert len(stored) == 1
    target = f"Patient/{stored[0]['id']}"
    provenance = matches((await front_door.get("Provenance", params={"target": target})).json())
    assert len(provenance) == 1 and client_id in str(provenance[0]["agent"])
    assert len(provenance[0]["target"]) == 2


async def test_given_transaction_without_writes_when_posted_then_every_answer_kept(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    person = await new_person(front_door)
    reads = _bundle(
        "transaction",
        {"request": {"method": "GET", "url": f"Patient/{person.id}"}},
        {"request": {"method": "DELETE", "url": f"Observation/{person.observation['id']}"}},
    )
    answer = await front_door.post("", json=reads)
    assert answer.status_code == 200, answer.text
    entries = answer.json()["entry"]
    assert len(entries) == 2
    assert entries[0]["resource"]["id"] == person.id


async def test_given_transaction_the_record_refuses_when_posted_then_its_outcome_passed_on_intact(
    front_door: httpx.AsyncClient,
) -> None:
    dangling = observation(unique("nobody-"))
    answer = await front_door.post("", json=_bundle("transaction", _post(dangling)))
    assert answer.status_code in (400, 404, 409, 422), answer.text
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "entry" not in outcome


async def test_given_staff_transaction_when_an_entry_touches_an_unrelated_person_then_403(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    mine, stranger = await new_person(front_door), await new_person(front_door)
    nurse = await new_staff(front_door, issuer)
    await create(front_door, episode_of_care(mine.id, care_manager=nurse.reference))
    code = unique("code-")
    async with gateway_client(gateway, nurse.token) as client:
        for_mine = _post(observation(mine.id, code=code))
        refused = await client.post(
            "", json=_bundle("transaction", for_mine, _post(observation(stranger.id, code=code)))
        )
        assert refused.status_code == 403, refused.text
        accepted = await client.post("", json=_bundle("transaction", for_mine))
        assert accepted.status_code == 200, accepted.text
        assert len(accepted.json()["entry"]) == 1
    stored = matches((await front_door.get("Observation", params={"code": code})).json())
    assert [r["subject"]["reference"] for r in stored] == [f"Patient/{mine.id}"]


async def test_given_batch_when_posted_then_entries_checked_and_answers_in_order(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    family = unique("Family")
    token = issuer.issue(scope="system/Patient.crs", client_id=unique("pas-"))
    async with gateway_client(gateway, token) as client:
        refused = await client.post(
            "", json=_bundle("batch", _post(patient(family=family)), _post(observation("x")))
        )
        assert refused.status_code == 403
        batch = _bundle(
            "batch",
            _post(patient(family=family)),
            {"request": {"method": "GET", "url": f"Patient?family={family}"}},
        )
        answer = await client.post("", json=batch)
    assert answer.status_code == 200, answer.text
    statuses = [e["response"]["status"] for e in answer.json()["entry"]]
    assert [s.split()[0] for s in statuses] == ["201", "200"]
