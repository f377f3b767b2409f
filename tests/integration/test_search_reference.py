"""Search by reference parameters, chained parameters and reverse chains (_has)."""

from __future__ import annotations

from typing import Any

import httpx

from shared.nhs_number import NHS_NUMBER_SYSTEM
from tests.support.fhir import condition, observation, patient, unique
from tests.support.search import base_of, create, fresh_nhs_number, ids, ids_of, search


def service_request(patient_id: str, code: str) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
        "subject": {"reference": f"Patient/{patient_id}"},
    }


async def two_patients_with_observations(
    fhir: httpx.AsyncClient, **first: Any
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A patient with one observation, and another patient with one too: (patient, own, other)."""
    owner = await create(fhir, patient(**first))
    stranger = await create(fhir, patient())
    own = await create(fhir, observation(owner["id"]))
    await create(fhir, observation(stranger["id"]))
    return owner, own, stranger


async def test_given_subject_as_type_and_id_when_searching_then_its_observations_match(
    fhir: httpx.AsyncClient,
) -> None:
    owner, own, _ = await two_patients_with_observations(fhir)

    assert await ids_of(fhir, "Observation", {"subject": f"Patient/{owner['id']}"}) == {own["id"]}


async def test_given_subject_as_bare_id_when_searching_then_its_observations_match(
    fhir: httpx.AsyncClient,
) -> None:
    owner, own, _ = await two_patients_with_observations(fhir)

    assert await ids_of(fhir, "Observation", {"subject": owner["id"]}) == {own["id"]}


async def test_given_patient_parameter_when_searching_by_id_then_its_observations_match(
    fhir: httpx.AsyncClient,
) -> None:
    owner, own, _ = await two_patients_with_observations(fhir)

    assert await ids_of(fhir, "Observation", {"patient": owner["id"]}) == {own["id"]}
    assert await ids_of(fhir, "Observation", {"patient": f"Patient/{owner['id']}"}) == {own["id"]}


async def test_given_an_absolute_url_of_this_server_when_searching_then_it_is_the_local_reference(
    fhir: httpx.AsyncClient,
) -> None:
    owner, own, _ = await two_patients_with_observations(fhir)
    absolute = f"{base_of(fhir)}/Patient/{owner['id']}"

    assert await ids_of(fhir, "Observation", {"subject": absolute}) == {own["id"]}


async def test_given_a_stored_absolute_reference_to_this_server_when_searching_then_it_matches(
    fhir: httpx.AsyncClient,
) -> None:
    owner = await create(fhir, patient())
    resource = observation(owner["id"])
    resource["subject"] = {"reference": f"{base_of(fhir)}/Patient/{owner['id']}"}
    own = await create(fhir, resource)

    assert await ids_of(fhir, "Observation", {"subject": f"Patient/{owner['id']}"}) == {own["id"]}
    assert await ids_of(fhir, "Observation", {"patient": owner["id"]}) == {own["id"]}


async def test_given_a_reference_to_another_server_when_searching_by_local_id_then_no_match(
    fhir: httpx.AsyncClient,
) -> None:
    owner = await create(fhir, patient())
    resource = observation(owner["id"])
    foreign = f"https://other.example.org/fhir/Patient/{owner['id']}"
    resource["subject"] = {"reference": foreign}
    elsewhere = await create(fhir, resource)

    assert await ids_of(fhir, "Observation", {"subject": f"Patient/{owner['id']}"}) == set()
    assert await ids_of(fhir, "Observation", {"subject": foreign}) == {elsewhere["id"]}


async def test_given_identifier_modifier_when_searching_then_logical_references_match(
    fhir: httpx.AsyncClient,
) -> None:
    owner = await create(fhir, patient())
    nhs = await fresh_nhs_number(fhir)
    resource = observation(owner["id"])
    resource["subject"] = {"identifier": {"system": NHS_NUMBER_SYSTEM, "value": nhs}}
    logical = await create(fhir, resource)
    await create(fhir, observation(owner["id"]))

    by_system = {"subject:identifier": f"{NHS_NUMBER_SYSTEM}|{nhs}"}
    assert await ids_of(fhir, "Observation", by_system) == {logical["id"]}
    assert await ids_of(fhir, "Observation", {"subject:identifier": nhs}) == {logical["id"]}
    wrong = {"subject:identifier": f"https://example.org/mrn|{nhs}"}
    assert await ids_of(fhir, "Observation", wrong) == set()


async def test_given_a_type_modifier_when_searching_then_only_references_to_that_type_match(
    fhir: httpx.AsyncClient,
) -> None:
    owner, own, _ = await two_patients_with_observations(fhir)

    assert await ids_of(fhir, "Observation", {"subject:Patient": owner["id"]}) == {own["id"]}
    assert await ids_of(fhir, "Observation", {"subject:Group": owner["id"]}) == set()


async def test_given_a_type_the_parameter_never_refers_to_when_searching_then_400(
    fhir: httpx.AsyncClient,
) -> None:
    response = await fhir.get("Observation", params={"patient:Practitioner": "x"})

    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_given_a_chain_on_identifier_when_searching_then_observations_of_that_patient_match(
    fhir: httpx.AsyncClient,
) -> None:
    nhs = await fresh_nhs_number(fhir)
    _, own, _ = await two_patients_with_observations(fhir, nhs=nhs)

    found = await ids_of(
        fhir, "Observation", {"subject:Patient.identifier": f"{NHS_NUMBER_SYSTEM}|{nhs}"}
    )

    assert found == {own["id"]}


async def test_given_a_chain_on_name_when_searching_then_observations_of_that_patient_match(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Chain")
    _, own, _ = await two_patients_with_observations(fhir, family=family)

    assert await ids_of(fhir, "Observation", {"patient.name": family.lower()}) == {own["id"]}
    assert await ids_of(fhir, "Observation", {"patient.family": family}) == {own["id"]}


async def test_given_a_chain_when_the_patient_is_renamed_then_the_new_name_matches(
    fhir: httpx.AsyncClient,
) -> None:
    old, new = unique("Old"), unique("New")
    owner = await create(fhir, patient(family=old))
    own = await create(fhir, observation(owner["id"]))

    renamed = {**owner, "name": [{"family": new, "given": ["Margaret"]}]}
    response = await fhir.put(f"Patient/{owner['id']}", json=renamed)
    assert response.status_code == 200, response.text

    assert await ids_of(fhir, "Observation", {"patient.family": new}) == {own["id"]}
    assert await ids_of(fhir, "Observation", {"patient.family": old}) == set()


async def test_given_a_service_request_when_chaining_by_nhs_number_then_it_matches(
    fhir: httpx.AsyncClient,
) -> None:
    nhs = await fresh_nhs_number(fhir)
    owner = await create(fhir, patient(nhs=nhs))
    stranger = await create(fhir, patient())
    code = unique("sr-")
    wanted = await create(fhir, service_request(owner["id"], code))
    await create(fhir, service_request(stranger["id"], code))

    found = await ids_of(
        fhir,
        "ServiceRequest",
        {"subject:Patient.identifier": f"https://fhir.nhs.uk/Id/nhs-number|{nhs}"},
    )

    assert found == {wanted["id"]}


async def test_given_a_chain_without_a_type_on_a_polymorphic_reference_when_searching_then_400(
    fhir: httpx.AsyncClient,
) -> None:
    response = await fhir.get("Observation", params={"subject.name": "x"})

    assert response.status_code == 400
    assert "subject" in response.json()["issue"][0]["diagnostics"]


async def test_given_has_when_an_observation_with_the_code_refers_to_a_patient_then_it_matches(
    fhir: httpx.AsyncClient,
) -> None:
    code = unique("has-")
    owner = await create(fhir, patient())
    other = await create(fhir, patient())
    await create(fhir, observation(owner["id"], code=code))
    await create(fhir, observation(other["id"]))

    found = await ids_of(fhir, "Patient", {"_has:Observation:patient:code": code})

    assert found == {owner["id"]}


async def test_given_has_combined_with_a_criterion_when_searching_then_both_must_hold(
    fhir: httpx.AsyncClient,
) -> None:
    code = unique("has-")
    family = unique("Has")
    first = await create(fhir, patient(family=family, gender="female"))
    second = await create(fhir, patient(family=family, gender="male"))
    for owner in (first, second):
        await create(fhir, observation(owner["id"], code=code))

    found = await ids_of(
        fhir, "Patient", [("_has:Observation:patient:code", code), ("gender", "male")]
    )

    assert found == {second["id"]}


async def test_given_has_on_condition_when_searching_then_patients_with_it_match(
    fhir: httpx.AsyncClient,
) -> None:
    code = unique("cond-")
    owner = await create(fhir, patient())
    await create(fhir, condition(owner["id"], code=code))

    bundle = await search(fhir, "Patient", {"_has:Condition:subject:code": code})

    assert ids(bundle) == [owner["id"]]
