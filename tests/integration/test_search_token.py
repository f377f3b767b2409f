"""Search by token parameters: codes with and without systems, :not, :text, :missing,
identifiers, _id and codes such as Patient gender."""

from __future__ import annotations

from typing import Any

import httpx

from shared.nhs_number import NHS_NUMBER_SYSTEM
from tests.support.fhir import observation, patient, unique
from tests.support.search import create, fresh_nhs_number, ids, ids_of, search

LOINC = "http://loinc.org"


def coded(patient_id: str, coding: dict[str, Any], text: str | None = None) -> dict[str, Any]:
    resource = observation(patient_id)
    resource["code"] = {"coding": [coding]}
    if text is not None:
        resource["code"]["text"] = text
    return resource


async def test_given_a_code_when_searching_by_code_alone_then_any_system_matches(
    fhir: httpx.AsyncClient,
) -> None:
    owner = await create(fhir, patient())
    code = unique("code-")
    loinc = await create(fhir, coded(owner["id"], {"system": LOINC, "code": code}))
    local = await create(fhir, coded(owner["id"], {"system": "http://example.org/x", "code": code}))
    bare = await create(fhir, coded(owner["id"], {"code": code}))

    found = await ids_of(fhir, "Observation", {"code": code})

    assert found == {loinc["id"], local["id"], bare["id"]}


async def test_given_system_and_code_when_searching_then_only_that_system_matches(
    fhir: httpx.AsyncClient,
) -> None:
    owner = await create(fhir, patient())
    code = unique("code-")
    loinc = await create(fhir, coded(owner["id"], {"system": LOINC, "code": code}))
    await create(fhir, coded(owner["id"], {"system": "http://example.org/x", "code": code}))
    await create(fhir, coded(owner["id"], {"code": code}))

    assert await ids_of(fhir, "Observation", {"code": f"{LOINC}|{code}"}) == {loinc["id"]}
    assert await ids_of(fhir, "Observation", {"code": f"{LOINC}|{code}x"}) == set()


async def test_given_a_bar_before_the_code_when_searching_then_only_codes_without_system_match(
    fhir: httpx.AsyncClient,
) -> None:
    owner = await create(fhir, patient())
    code = unique("code-")
    await create(fhir, coded(owner["id"], {"system": LOINC, "code": code}))
    bare = await create(fhir, coded(owner["id"], {"code": code}))

    assert await ids_of(fhir, "Observation", {"code": f"|{code}"}) == {bare["id"]}


async def test_given_a_system_and_bar_when_searching_then_every_code_of_that_system_matches(
    fhir: httpx.AsyncClient,
) -> None:
    owner = await create(fhir, patient())
    system = f"http://example.org/{unique('system-')}"
    first = await create(fhir, coded(owner["id"], {"system": system, "code": "a"}))
    second = await create(fhir, coded(owner["id"], {"system": system, "code": "b"}))
    await create(fhir, coded(owner["id"], {"system": system + "-other", "code": "a"}))

    assert await ids_of(fhir, "Observation", {"code": f"{system}|"}) == {first["id"], second["id"]}


async def test_given_not_modifier_when_searching_then_other_values_and_missing_values_match(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Not")
    await create(fhir, patient(family=family, gender="female"))
    male = await create(fhir, patient(family=family, gender="male"))
    unknown = patient(family=family)
    del unknown["gender"]
    no_gender = await create(fhir, unknown)

    found = await ids_of(fhir, "Patient", [("family", family), ("gender:not", "female")])

    assert found == {male["id"], no_gender["id"]}


async def test_given_not_modifier_with_two_values_when_searching_then_neither_matches(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("NotTwo")
    await create(fhir, patient(family=family, gender="female"))
    await create(fhir, patient(family=family, gender="male"))
    other = await create(fhir, patient(family=family, gender="other"))

    found = await ids_of(fhir, "Patient", [("family", family), ("gender:not", "female,male")])

    assert found == {other["id"]}


async def test_given_text_modifier_when_searching_then_concept_text_and_display_match(
    fhir: httpx.AsyncClient,
) -> None:
    owner = await create(fhir, patient())
    word = unique("Pulse")
    by_text = await create(
        fhir, coded(owner["id"], {"system": LOINC, "code": "8867-4"}, text=f"{word} rate")
    )
    by_display = await create(
        fhir,
        coded(owner["id"], {"system": LOINC, "code": "8867-4", "display": f"Heart {word} RATE"}),
    )

    found = await ids_of(fhir, "Observation", {"code:text": f"{word.upper()} rate"})

    assert found == {by_text["id"], by_display["id"]}
    assert await ids_of(fhir, "Observation", {"code:text": f"{word}-nothing"}) == set()


async def test_given_missing_true_when_searching_then_only_resources_without_the_value_match(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Missing")
    with_gender = await create(fhir, patient(family=family))
    unknown = patient(family=family)
    del unknown["gender"]
    without = await create(fhir, unknown)

    missing = await ids_of(fhir, "Patient", [("family", family), ("gender:missing", "true")])
    present = await ids_of(fhir, "Patient", [("family", family), ("gender:missing", "false")])

    assert missing == {without["id"]}
    assert present == {with_gender["id"]}


async def test_given_missing_with_a_bad_flag_when_searching_then_400(
    fhir: httpx.AsyncClient,
) -> None:
    response = await fhir.get("Patient", params={"gender:missing": "maybe"})

    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "gender:missing" in response.json()["issue"][0]["diagnostics"]


async def test_given_an_nhs_number_when_searching_by_system_and_value_then_that_patient_matches(
    fhir: httpx.AsyncClient,
) -> None:
    nhs = await fresh_nhs_number(fhir)
    found = await create(fhir, patient(nhs=nhs))

    assert await ids_of(fhir, "Patient", {"identifier": f"{NHS_NUMBER_SYSTEM}|{nhs}"}) == {
        found["id"]
    }
    assert await ids_of(fhir, "Patient", {"identifier": nhs}) == {found["id"]}
    assert await ids_of(fhir, "Patient", {"identifier": f"https://example.org/mrn|{nhs}"}) == set()


async def test_given_a_local_identifier_when_searching_by_its_system_then_it_matches(
    fhir: httpx.AsyncClient,
) -> None:
    system = f"https://example.org/{unique('mrn-')}"
    resource = patient()
    resource["identifier"].append({"system": system, "value": "H123"})
    found = await create(fhir, resource)

    assert await ids_of(fhir, "Patient", {"identifier": f"{system}|H123"}) == {found["id"]}
    assert await ids_of(fhir, "Patient", {"identifier": f"{system}|"}) == {found["id"]}


async def test_given_ids_when_searching_by_id_then_exactly_those_resources_match(
    fhir: httpx.AsyncClient,
) -> None:
    first = await create(fhir, patient())
    second = await create(fhir, patient())
    await create(fhir, patient())

    assert await ids_of(fhir, "Patient", {"_id": first["id"]}) == {first["id"]}
    assert await ids_of(fhir, "Patient", {"_id": f"{first['id']},{second['id']}"}) == {
        first["id"],
        second["id"],
    }
    assert await ids_of(fhir, "Observation", {"_id": first["id"]}) == set()


async def test_given_gender_when_searching_patients_then_only_that_gender_matches(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Gender")
    female = await create(fhir, patient(family=family, gender="female"))
    male = await create(fhir, patient(family=family, gender="male"))

    assert await ids_of(fhir, "Patient", {"family": family, "gender": "female"}) == {female["id"]}
    assert await ids_of(fhir, "Patient", {"family": family, "gender": "male"}) == {male["id"]}
    both = await search(fhir, "Patient", {"family": family, "gender": "male,female"})
    assert set(ids(both)) == {female["id"], male["id"]}


async def test_given_a_code_when_searching_with_the_wrong_case_then_it_does_not_match(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Case")
    await create(fhir, patient(family=family, gender="female"))

    assert await ids_of(fhir, "Patient", {"family": family, "gender": "FEMALE"}) == set()


async def test_given_a_boolean_element_when_searching_by_true_then_it_matches(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Active")
    active = await create(fhir, patient(family=family, active=True))
    await create(fhir, patient(family=family, active=False))

    assert await ids_of(fhir, "Patient", {"family": family, "active": "true"}) == {active["id"]}
