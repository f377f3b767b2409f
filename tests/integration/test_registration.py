"""Registration matches before it creates: one person, one Patient, whichever door they come
in by (a GP's referral posted on its own, 111's transaction Bundle, a walk-in's batch)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from shared.nhs_number import NHS_NUMBER_SYSTEM
from tests.support.fhir import nhs_number, patient, unique
from tests.support.search import create

Resource = dict[str, Any]


def without_nhs_number(resource: Resource) -> Resource:
    return {k: v for k, v in resource.items() if k not in ("identifier", "id", "meta")}


def nhs_numbers(resource: Resource) -> list[str]:
    return [i["value"] for i in resource.get("identifier", []) if i["system"] == NHS_NUMBER_SYSTEM]


def bundle(kind: str, *resources: Resource) -> Resource:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": resource,
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
            for resource in resources
        ],
    }


async def put_new(fhir: httpx.AsyncClient, resource: Resource) -> Resource:
    """A record loaded under its own id (as a migration would), bypassing registration."""
    new_id = unique("loaded-")
    response = await fhir.put(f"Patient/{new_id}", json={**resource, "id": new_id})
    assert response.status_code == 201, response.text
    loaded: Resource = response.json()
    return loaded


async def test_given_three_channels_with_different_details_then_one_patient(
    fhir: httpx.AsyncClient,
) -> None:
    number = nhs_number()
    walk_in = without_nhs_number(patient(nhs=number, family=unique("Pook")))
    # A walk-in first: no NHS number, but every detail given.
    first = await create(fhir, walk_in)

    # The GP's referral: the same details and the verified NHS number.
    gp = {**walk_in, "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": number}]}
    response = await fhir.post("Patient", json=gp)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == first["id"]
    assert nhs_numbers(response.json()) == [number]

    # 111 by transaction: the NHS number, a misspelt name and a new phone number.
    called = {
        **gp,
        "name": [{"family": walk_in["name"][0]["family"] + "e", "given": ["Maggie"]}],
        "telecom": [{"system": "phone", "value": "07700 900123"}],
    }
    referral = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "PLACEHOLDER"},
    }
    sent = bundle("transaction", called, referral)
    sent["entry"][1]["resource"]["subject"]["reference"] = sent["entry"][0]["fullUrl"]
    answer = (await fhir.post("", json=sent)).json()
    assert answer["entry"][0]["response"]["status"].startswith("200")
    assert answer["entry"][0]["response"]["location"].startswith(f"Patient/{first['id']}/")
    request_id = answer["entry"][1]["response"]["location"].split("/")[1]
    stored = (await fhir.get(f"ServiceRequest/{request_id}")).json()
    assert stored["subject"]["reference"] == f"Patient/{first['id']}"

    found = (await fhir.get("Patient", params={"family": walk_in["name"][0]["family"]})).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [first["id"]]


async def test_given_a_batch_entry_for_a_known_nhs_number_then_the_record_is_returned(
    fhir: httpx.AsyncClient,
) -> None:
    known = await create(fhir, patient())
    again = {**without_nhs_number(patient()), "identifier": known["identifier"]}

    answer = (await fhir.post("", json=bundle("batch", again))).json()

    assert answer["entry"][0]["response"]["status"].startswith("200")
    assert answer["entry"][0]["response"]["location"].startswith(f"Patient/{known['id']}/")


async def test_given_a_typo_then_a_new_record_and_match_offers_the_first_as_probable(
    fhir: httpx.AsyncClient,
) -> None:
    first = await create(fhir, without_nhs_number(patient()))
    misspelt = {**first, "name": [{"family": first["name"][0]["family"] + "x", "given": ["M"]}]}

    second = await create(fhir, without_nhs_number(misspelt))

    assert second["id"] != first["id"]
    parameters = {
        "resourceType": "Parameters",
        "parameter": [{"name": "resource", "resource": without_nhs_number(misspelt)}],
    }
    matches = (await fhir.post("Patient/$match", json=parameters)).json()["entry"]
    offered = {e["resource"]["id"]: e["search"]["extension"][0]["valueCode"] for e in matches}
    assert offered[second["id"]] == "certain"
    assert offered[first["id"]] in ("probable", "possible")


async def test_given_two_records_of_one_person_then_registration_is_refused_until_merged(
    fhir: httpx.AsyncClient,
) -> None:
    person = without_nhs_number(patient())
    await put_new(fhir, person)
    await put_new(fhir, person)

    response = await fhir.post("Patient", json=person)

    assert response.status_code == 412, response.text
    outcome = response.json()
    assert outcome["issue"][0]["code"] == "multiple-matches"
    assert "$merge" in outcome["issue"][0]["diagnostics"]


async def test_given_a_merged_record_then_registration_finds_the_survivor(
    fhir: httpx.AsyncClient,
) -> None:
    survivor = await create(fhir, patient())
    link = [{"other": {"reference": f"Patient/{survivor['id']}"}, "type": "replaced-by"}]
    await put_new(fhir, {**without_nhs_number(survivor), "active": False, "link": link})
    await put_new(  # the merged record still holds the NHS number
        fhir, {**without_nhs_number(survivor), "identifier": survivor["identifier"], "link": link}
    )

    response = await fhir.post("Patient", json=without_nhs_number(survivor))
    by_number = await fhir.post("Patient", json={"resourceType": "Patient", **survivor})

    assert response.status_code == 200 and response.json()["id"] == survivor["id"]
    assert by_number.status_code == 200 and by_number.json()["id"] == survivor["id"]


async def test_given_registrations_at_once_then_one_patient(fhir: httpx.AsyncClient) -> None:
    person = patient()

    answers = await asyncio.gather(*(fhir.post("Patient", json=person) for _ in range(6)))

    assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
    assert len({a.json()["id"] for a in answers}) == 1


async def test_given_an_explicit_condition_then_it_decides_alone(fhir: httpx.AsyncClient) -> None:
    person = without_nhs_number(patient())
    first = await create(fhir, person)
    marker = unique("mrn-")
    condition = f"identifier=https://example.org/mrn|{marker}"
    second = {**person, "identifier": [{"system": "https://example.org/mrn", "value": marker}]}

    response = await fhir.post("Patient", json=second, headers={"If-None-Exist": condition})

    assert response.status_code == 201 and response.json()["id"] != first["id"]


async def test_given_invalid_details_for_a_known_person_then_refused_not_matched(
    fhir: httpx.AsyncClient,
) -> None:
    known = await create(fhir, patient())

    response = await fhir.post("Patient", json={**known, "gender": 7, "id": None})

    assert response.status_code in (400, 422), response.text
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_given_only_a_name_then_a_new_record_every_time(fhir: httpx.AsyncClient) -> None:
    name_only = {"resourceType": "Patient", "name": [{"family": unique("Solo")}]}

    first, second = await create(fhir, name_only), await create(fhir, name_only)

    assert first["id"] != second["id"]
