"""``Patient/$match`` against the real record: registration finds the person already there.

Every person here has a made-up family name, birth date and postcode of their own, so that
the other tests' patients (in the same database) are never better candidates.
"""

from __future__ import annotations

import random
import string
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from services.record.operations.match import EVIDENCE, MATCH_GRADE
from shared.nhs_number import NHS_NUMBER_SYSTEM
from tests.support.fhir import patient
from tests.support.search import create, fresh_nhs_number

Resource = dict[str, Any]
_rng = random.Random()


# --- People and how to ask -----------------------------------------------------------------


def surname() -> str:
    """A family name no other test uses: letters only, as a registration clerk types it."""
    return "".join(_rng.choice(string.ascii_lowercase) for _ in range(9)).capitalize()


def person(nhs: str, **overrides: Any) -> Resource:
    born = date(1930, 1, 1) + timedelta(days=_rng.randrange(25_000))
    details: dict[str, Any] = {
        "family": surname(),
        "given": "Doreen",
        "birth_date": born.isoformat(),
        "postcode": f"PO{_rng.randrange(1, 7)} {_rng.randrange(10)}{_letters(2)}",
        "telecom": [{"system": "phone", "value": f"07700 900{_rng.randrange(1000):03d}"}],
        **overrides,
    }
    return patient(nhs=nhs, **details)


def _letters(count: int) -> str:
    return "".join(_rng.choice("ABDEFGHJLNPQRSTUWXYZ") for _ in range(count))


def without_nhs_number(resource: Resource) -> Resource:
    return {k: v for k, v in resource.items() if k not in ("identifier", "id", "meta")}


def renamed(resource: Resource, family: str | None = None, given: str | None = None) -> Resource:
    name = resource["name"][0]
    new = {**name, "family": family or name["family"], "given": [given or name["given"][0]]}
    return {**resource, "name": [new]}


def parameters(resource: Resource | None, **options: Any) -> Resource:
    given: list[Resource] = []
    if resource is not None:
        given.append({"name": "resource", "resource": resource})
    if "only_certain" in options:
        given.append({"name": "onlyCertainMatches", "valueBoolean": options["only_certain"]})
    if "count" in options:
        given.append({"name": "count", "valueInteger": options["count"]})
    return {"resourceType": "Parameters", "parameter": given}


async def match(fhir: httpx.AsyncClient, resource: Resource, **options: Any) -> list[Resource]:
    response = await fhir.post("Patient/$match", json=parameters(resource, **options))
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    entries: list[Resource] = [e for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]
    assert bundle["total"] == len(entries)
    scores = [e["search"]["score"] for e in entries]
    assert scores == sorted(scores, reverse=True)
    return entries


def grade(entry: Resource) -> str:
    (value,) = [x["valueCode"] for x in entry["search"]["extension"] if x["url"] == MATCH_GRADE]
    assert isinstance(value, str)
    return value


def evidence(entry: Resource) -> dict[str, str]:
    (found,) = [x for x in entry["search"]["extension"] if x["url"] == EVIDENCE]
    return {x["url"]: x["valueCode"] for x in found["extension"]}


def ids(entries: list[Resource]) -> list[str]:
    return [e["resource"]["id"] for e in entries]


async def duplicate(fhir: httpx.AsyncClient, resource: Resource) -> Resource:
    """A second record of the person, loaded under its own id as a migration would (a POST
    would be registered as the person already there)."""
    new_id = f"dup-{uuid.uuid4()}"
    response = await fhir.put(f"Patient/{new_id}", json={**resource, "id": new_id})
    assert response.status_code == 201, response.text
    created: Resource = response.json()
    return created


@pytest.fixture
async def registered(fhir: httpx.AsyncClient) -> Resource:
    """A resident already in the record, with an NHS number, phone and postcode."""
    return await create(fhir, person(await fresh_nhs_number(fhir)))


# --- Registration finds the person -----------------------------------------------------------


async def test_given_a_misspelt_name_and_no_nhs_number_then_the_person_is_first_and_probable(
    fhir: httpx.AsyncClient, registered: Resource
) -> None:
    family = registered["name"][0]["family"]
    # Someone else with the same names, born the same year, living elsewhere in the city.
    born = date.fromisoformat(registered["birthDate"])
    namesake = person(
        await fresh_nhs_number(fhir),
        family=family,
        birth_date=born.replace(day=1 if born.day > 1 else 2).isoformat(),
    )
    await create(fhir, namesake)
    asked = renamed(without_nhs_number(registered), family=family[:4] + family[5:])

    entries = await match(fhir, asked)

    assert ids(entries)[0] == registered["id"]
    assert grade(entries[0]) == "probable"
    assert 0.8 < entries[0]["search"]["score"] < 0.95
    assert evidence(entries[0])["family"] == "typo"
    assert evidence(entries[0])["birthDate"] == "exact"
    assert all(grade(e) not in ("certain", "probable") for e in entries[1:])


async def test_given_the_nhs_number_then_the_person_is_certain_despite_a_typo(
    fhir: httpx.AsyncClient, registered: Resource
) -> None:
    family = registered["name"][0]["family"]
    asked = renamed({**registered, "address": [{"postalCode": "PO1 1AA"}]}, family=family[:-1])

    entries = await match(fhir, asked)

    assert ids(entries)[0] == registered["id"]
    assert grade(entries[0]) == "certain"
    assert entries[0]["search"]["score"] >= 0.95
    assert evidence(entries[0])["nhs-number"] == "agree"


async def test_given_exactly_the_same_details_without_nhs_number_then_certain(
    fhir: httpx.AsyncClient, registered: Resource
) -> None:
    asked = without_nhs_number(registered)
    asked["name"] = [{"family": registered["name"][0]["family"].upper(), "given": ["DOREEN"]}]

    entries = await match(fhir, asked)

    assert ids(entries) == [registered["id"]]
    assert grade(entries[0]) == "certain"


async def test_given_names_swapped_and_the_date_transposed_then_the_person_is_still_first(
    fhir: httpx.AsyncClient, swappable_date: str
) -> None:
    registered = await create(
        fhir, person(await fresh_nhs_number(fhir), given="Agnieszka", birth_date=swappable_date)
    )
    year, month, day = swappable_date.split("-")
    asked = renamed(
        without_nhs_number(registered),
        family="Agnieszka",
        given=registered["name"][0]["family"],
    )
    asked["birthDate"] = f"{year}-{day}-{month}"

    entries = await match(fhir, asked)

    assert ids(entries)[0] == registered["id"]
    assert grade(entries[0]) in ("probable", "possible")
    assert evidence(entries[0])["family"] == "swapped"
    assert evidence(entries[0])["birthDate"] == "transposed"


@pytest.fixture
def swappable_date() -> str:
    """A birth date whose day and month can be swapped (day 13 or less, not equal)."""
    month = _rng.randrange(1, 12)
    return date(_rng.randrange(1930, 2000), month, month + 1).isoformat()


async def test_given_a_stranger_then_nobody_is_offered(fhir: httpx.AsyncClient) -> None:
    stranger = without_nhs_number(person("9000000009", given="Wilhelmina"))

    entries = await match(fhir, stranger)

    assert all(grade(e) == "certainly-not" for e in entries), entries


async def test_given_a_look_alike_with_another_nhs_number_then_it_is_certainly_not(
    fhir: httpx.AsyncClient, registered: Resource
) -> None:
    other = await fresh_nhs_number(fhir)
    asked = {
        **without_nhs_number(registered),
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": other}],
    }

    entries = await match(fhir, asked)

    (entry,) = [e for e in entries if e["resource"]["id"] == registered["id"]]
    assert grade(entry) == "certainly-not"
    assert entry["search"]["score"] == 0
    assert evidence(entry)["nhs-number"] == "disagree"
    assert (await match(fhir, asked, only_certain=True)) == []


async def test_given_two_certain_records_then_both_come_with_a_warning_and_nothing_is_linked(
    fhir: httpx.AsyncClient, registered: Resource
) -> None:
    duplicate_record = await duplicate(fhir, without_nhs_number(registered))
    response = await fhir.post(
        "Patient/$match",
        json=parameters(without_nhs_number(registered), only_certain=True),
    )

    bundle = response.json()
    matches = [e for e in bundle["entry"] if e["search"]["mode"] == "match"]
    assert {e["resource"]["id"] for e in matches} == {registered["id"], duplicate_record["id"]}
    assert all(grade(e) == "certain" for e in matches)
    (outcome,) = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert outcome["issue"][0]["code"] == "multiple-matches"
    for resource in (registered, duplicate_record):
        current = (await fhir.get(f"Patient/{resource['id']}")).json()
        assert current["meta"]["versionId"] == "1"
        assert "link" not in current


async def test_given_only_certain_matches_then_a_probable_one_is_left_out(
    fhir: httpx.AsyncClient, registered: Resource
) -> None:
    family = registered["name"][0]["family"]
    asked = renamed(without_nhs_number(registered), family=family + "e")

    assert grade((await match(fhir, asked))[0]) == "probable"
    assert await match(fhir, asked, only_certain=True) == []


async def test_given_count_then_no_more_results_than_that(
    fhir: httpx.AsyncClient, registered: Resource
) -> None:
    for _ in range(3):
        await duplicate(fhir, without_nhs_number(registered))

    assert len(await match(fhir, without_nhs_number(registered))) == 4
    assert len(await match(fhir, without_nhs_number(registered), count=2)) == 2


async def test_given_a_record_merged_into_another_then_only_the_survivor_is_offered(
    fhir: httpx.AsyncClient, registered: Resource
) -> None:
    link = [{"other": {"reference": f"Patient/{registered['id']}"}, "type": "replaced-by"}]
    await create(fhir, {**without_nhs_number(registered), "active": False, "link": link})

    assert ids(await match(fhir, without_nhs_number(registered))) == [registered["id"]]


# --- Bad input -------------------------------------------------------------------------------


def _patient_with(**fields: Any) -> Resource:
    return {"resourceType": "Patient", **fields}


@pytest.mark.parametrize(
    ("body", "status", "mentions"),
    [
        (_patient_with(birthDate="1950-01-01"), 400, "Parameters"),
        (parameters(None), 400, "resource"),
        (parameters({"resourceType": "Observation", "status": "final"}), 400, "Patient"),
        (
            parameters(
                _patient_with(identifier=[{"system": NHS_NUMBER_SYSTEM, "value": "9000000001"}])
            ),
            422,
            "NHS number",
        ),
        (parameters(_patient_with(birthDate="1950-02-30")), 422, "birthDate"),
        (parameters(_patient_with(name="Smith", birthDate="1950-01-01")), 422, "name"),
        (parameters(_patient_with(gender="female")), 422, "nothing to match"),
        (parameters(_patient_with(birthDate="1950-01-01"), count=0), 400, "count"),
        (
            {
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "resource", "resource": _patient_with(birthDate="1950-01-01")},
                    {"name": "count", "valueString": "5"},
                ],
            },
            400,
            "count",
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "resource", "resource": _patient_with(birthDate="1950-01-01")},
                    {"name": "onlyCertainMatches", "valueString": "yes"},
                ],
            },
            400,
            "onlyCertainMatches",
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "resource", "resource": _patient_with(birthDate="1950-01-01")},
                    {"name": "autoLink", "valueBoolean": True},
                ],
            },
            400,
            "autoLink",
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "resource", "resource": _patient_with(birthDate="1950-01-01")},
                    {"name": "resource", "resource": _patient_with(birthDate="1950-01-02")},
                ],
            },
            400,
            "twice",
        ),
    ],
)
async def test_given_bad_input_then_an_operation_outcome(
    fhir: httpx.AsyncClient, body: Resource, status: int, mentions: str
) -> None:
    response = await fhir.post("Patient/$match", json=body)

    assert response.status_code == status, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] == "error"
    assert any(mentions in issue["diagnostics"] for issue in outcome["issue"]), outcome


async def test_given_a_body_that_is_not_json_then_400(fhir: httpx.AsyncClient) -> None:
    response = await fhir.post("Patient/$match", content=b"{not json")

    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_given_a_form_body_then_415(fhir: httpx.AsyncClient) -> None:
    response = await fhir.post(
        "Patient/$match",
        content=b"family=Smith",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 415
