"""Unchanged third-party FHIR clients work against the record, used as their docs intend.

fhirpy (asyncio, aiohttp) and the SMART on FHIR ``fhirclient`` (synchronous, requests, models
generated from FHIR R4 4.0.1). The record speaks R4B (4.3.0), which is wire-compatible with R4
for everything used here.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fhirclient import client as smart_client
from fhirclient.models.bundle import Bundle
from fhirclient.models.capabilitystatement import CapabilityStatement
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient
from fhirpy import AsyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound
from requests import HTTPError

from shared.nhs_number import NHS_NUMBER_SYSTEM
from tests.support.fhir import nhs_number, observation, patient, unique
from tests.support.services import RunningService

PAGE = 2
PEOPLE = 5  # three pages of two, two and one


def _transaction(family: str) -> dict[str, Any]:
    """A Patient and an Observation about them, linked by the Patient's urn:uuid."""
    person = f"urn:uuid:{uuid.uuid4()}"
    reading = observation("placeholder", code=family)
    reading["subject"] = {"reference": person}
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": person,
                "resource": patient(family=family),
                "request": {"method": "POST", "url": "Patient"},
            },
            {"resource": reading, "request": {"method": "POST", "url": "Observation"}},
        ],
    }


# ---------------------------------------------------------------------------------------------
# fhirpy


@pytest.fixture
def fhirpy_client(record: RunningService, system_token: str) -> AsyncFHIRClient:
    return AsyncFHIRClient(record.base, authorization=f"Bearer {system_token}")


async def test_given_fhirpy_when_create_read_update_delete_then_each_works(
    fhirpy_client: AsyncFHIRClient,
) -> None:
    family = unique("Fhirpy")
    person = fhirpy_client.resource("Patient", **patient(family=family))
    await person.save()
    assert person.id and person["meta"]["versionId"] == "1"

    fetched = await fhirpy_client.reference("Patient", person.id).to_resource()
    assert fetched["name"][0]["family"] == family
    assert (await fhirpy_client.get("Patient", person.id))["id"] == person.id

    person["gender"] = "male"
    await person.save()  # an update: PUT Patient/<id>
    assert person["meta"]["versionId"] == "2"
    await person.refresh()
    assert person["gender"] == "male"
    assert person["meta"]["versionId"] == "2"

    await person.delete()
    with pytest.raises(ResourceNotFound):  # 410 Gone
        await fhirpy_client.get("Patient", person.id)


async def test_given_fhirpy_when_searching_with_limit_then_pages_through_everything(
    fhirpy_client: AsyncFHIRClient,
) -> None:
    family, numbers = unique("Fhirpy"), [nhs_number() for _ in range(PEOPLE)]
    for number in numbers:
        await fhirpy_client.resource("Patient", **patient(family=family, nhs=number)).save()
    search = fhirpy_client.resources("Patient").search(family=family).limit(PAGE)

    assert len(await search.fetch()) == PAGE
    everyone = await search.fetch_all()  # follows Bundle.link next to the last page
    assert len(everyone) == len({p.id for p in everyone}) == PEOPLE
    assert {p["identifier"][0]["value"] for p in everyone} == set(numbers)

    one = (
        await fhirpy_client.resources("Patient")
        .search(identifier=f"{NHS_NUMBER_SYSTEM}|{numbers[2]}")
        .get()
    )
    assert one["name"][0]["family"] == family
    born = fhirpy_client.resources("Patient").search(family=family, birthdate__ge="1941-06-01")
    assert len(await born.fetch_all()) == PEOPLE
    unborn = fhirpy_client.resources("Patient").search(family=family, birthdate__gt="1941-06-14")
    assert await unborn.first() is None


async def test_given_fhirpy_when_transaction_executed_then_references_resolved(
    fhirpy_client: AsyncFHIRClient,
) -> None:
    family = unique("Fhirpy")
    response = await fhirpy_client.execute("", method="post", data=_transaction(family))
    assert response["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in response["entry"]]
    assert statuses == ["201 Created", "201 Created"]
    readings = fhirpy_client.resources("Observation").search(code=family)
    (reading,) = await readings.fetch_all()
    person = await reading["subject"].to_resource()
    assert person["name"][0]["family"] == family


async def test_given_fhirpy_when_conditional_update_then_created_once_then_updated(
    fhirpy_client: AsyncFHIRClient,
) -> None:
    family, number = unique("Fhirpy"), nhs_number()
    matching = fhirpy_client.resources("Patient").search(identifier=f"{NHS_NUMBER_SYSTEM}|{number}")
    first, created = await matching.update(
        fhirpy_client.resource("Patient", **patient(family=family, nhs=number))
    )
    assert created
    second, created = await matching.update(
        fhirpy_client.resource("Patient", **patient(family=family, nhs=number, gender="male"))
    )
    assert not created
    assert second.id == first.id and second["gender"] == "male"


async def test_given_fhirpy_when_resource_invalid_then_operation_outcome_raised(
    fhirpy_client: AsyncFHIRClient,
) -> None:
    invalid = fhirpy_client.resource("Patient", **patient(birth_date="14/06/1941"))
    assert not await invalid.is_valid()  # $validate
    with pytest.raises(OperationOutcome) as raised:
        await invalid.save()
    issue = raised.value.resource["issue"][0]
    assert issue["severity"] == "error"
    assert issue["expression"] == ["Patient.birthDate"]
    assert await fhirpy_client.resource("Patient", **patient()).is_valid()


# ---------------------------------------------------------------------------------------------
# fhirclient (SMART on FHIR), synchronous: these tests are plain functions


@pytest.fixture
def smart(record: RunningService, system_token: str) -> smart_client.FHIRClient:
    """The client as its README sets it up: an app id and the FHIR base; the bearer token a
    backend service would hold rides on its HTTP session."""
    settings = {"app_id": "onestory-tests", "api_base": record.base}
    client = smart_client.FHIRClient(settings=settings)
    client.server.session.headers["Authorization"] = f"Bearer {system_token}"
    return client


def test_given_fhirclient_when_prepared_then_reads_capability_statement_as_open_server(
    smart: smart_client.FHIRClient,
) -> None:
    assert smart.prepare()  # fetches /metadata and finds no security: an open server
    assert smart.ready
    statement = smart.server.capabilityStatement
    assert isinstance(statement, CapabilityStatement)
    assert statement.fhirVersion == "4.3.0"
    patient_types = [r for r in statement.rest[0].resource if r.type == "Patient"]
    assert {"name", "identifier", "birthdate"} <= {p.name for p in patient_types[0].searchParam}


def test_given_fhirclient_when_create_read_update_delete_then_each_works(
    smart: smart_client.FHIRClient,
) -> None:
    family = unique("Smart")
    created = Patient(patient(family=family)).create(smart.server)
    assert created is not None and created["meta"]["versionId"] == "1"

    person = Patient.read(created["id"], smart.server)
    assert person.name[0].family == family
    assert person.identifier[0].system == NHS_NUMBER_SYSTEM
    assert person.birthDate.isostring == "1941-06-14"

    person.gender = "male"
    updated = person.update()
    assert updated is not None and updated["meta"]["versionId"] == "2"
    again = Patient.read(created["id"], smart.server)
    assert again.gender == "male"
    assert again.meta.versionId == "2"

    again.delete()
    with pytest.raises(HTTPError) as raised:
        Patient.read(created["id"], smart.server)
    assert raised.value.response.status_code == 410


def test_given_fhirclient_when_searching_with_count_then_pages_through_everything(
    smart: smart_client.FHIRClient,
) -> None:
    family = unique("Smart")
    ids = {Patient(patient(family=family)).create(smart.server)["id"] for _ in range(PEOPLE)}
    search = Patient.where(struct={"family": family, "_count": str(PAGE)})

    pages = list(search.perform_iter(smart.server))  # follows Bundle.link next
    assert [len(page.entry or []) for page in pages] == [2, 2, 1]
    found = list(search.perform_resources_iter(smart.server))
    assert all(isinstance(p, Patient) for p in found)
    assert {p.id for p in found} == ids
    none = Patient.where(struct={"family": family, "birthdate": "gt2000"})
    assert list(none.perform_resources_iter(smart.server)) == []


def test_given_fhirclient_when_transaction_bundle_created_then_references_resolved(
    smart: smart_client.FHIRClient,
) -> None:
    family = unique("Smart")
    response = Bundle(_transaction(family)).create(smart.server)  # POST to the base
    assert response is not None
    answer = Bundle(response)
    assert answer.type == "transaction-response"
    (reading,) = Observation.where(struct={"code": family}).perform_resources_iter(smart.server)
    person_id = reading.subject.reference.removeprefix("Patient/")
    assert Patient.read(person_id, smart.server).name[0].family == family
