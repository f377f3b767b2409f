"""Racing writers: conditional creates make one resource, concurrent updates lose nothing."""

from __future__ import annotations

import asyncio

import httpx

from tests.support.fhir import nhs_number, patient

NHS = "https://fhir.nhs.uk/Id/nhs-number"


async def test_given_20_concurrent_conditional_creates_for_one_nhs_number_then_one_patient(
    fhir: httpx.AsyncClient,
) -> None:
    nhs = nhs_number()
    header = {"If-None-Exist": f"identifier={NHS}|{nhs}"}
    responses = await asyncio.gather(
        *(fhir.post("Patient", json=patient(nhs=nhs), headers=header) for _ in range(20))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 19 + [201], [r.text for r in responses if r.status_code >= 400]
    assert len({r.json()["id"] for r in responses}) == 1
    found = (
        await fhir.get("Patient", params={"identifier": f"{NHS}|{nhs}", "_total": "accurate"})
    ).json()
    assert found["total"] == 1


async def test_given_20_concurrent_conditional_updates_for_one_nhs_number_then_one_patient(
    fhir: httpx.AsyncClient,
) -> None:
    nhs = nhs_number()
    url = f"Patient?identifier={NHS}|{nhs}"
    responses = await asyncio.gather(
        *(fhir.put(url, json=patient(nhs=nhs, given=f"G{i}")) for i in range(20))
    )
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    found = (
        await fhir.get("Patient", params={"identifier": f"{NHS}|{nhs}", "_total": "accurate"})
    ).json()
    assert found["total"] == 1
    assert found["entry"][0]["resource"]["meta"]["versionId"] == "20"


async def test_given_two_updates_of_one_version_when_concurrent_then_one_wins_one_412(
    fhir: httpx.AsyncClient,
) -> None:
    created = (await fhir.post("Patient", json=patient())).json()
    pid = created["id"]
    writes = [
        fhir.put(
            f"Patient/{pid}",
            json={**patient(given=given), "id": pid},
            headers={"If-Match": 'W/"1"'},
        )
        for given in ("Left", "Right")
    ]
    responses = await asyncio.gather(*writes)
    assert sorted(r.status_code for r in responses) == [200, 412]
    winner = next(r for r in responses if r.status_code == 200).json()
    current = (await fhir.get(f"Patient/{pid}")).json()
    assert current["name"] == winner["name"]
    assert current["meta"]["versionId"] == "2"


async def test_given_many_concurrent_updates_without_if_match_then_every_write_is_a_version(
    fhir: httpx.AsyncClient,
) -> None:
    created = (await fhir.post("Patient", json=patient())).json()
    pid = created["id"]
    responses = await asyncio.gather(
        *(fhir.put(f"Patient/{pid}", json={**patient(given=f"G{i}"), "id": pid}) for i in range(10))
    )
    assert all(r.status_code == 200 for r in responses)
    versions = sorted(int(r.json()["meta"]["versionId"]) for r in responses)
    assert versions == list(range(2, 12))
    history = (await fhir.get(f"Patient/{pid}/_history", params={"_count": 50})).json()
    assert len(history["entry"]) == 11
