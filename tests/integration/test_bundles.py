"""Transaction and batch Bundles: all or nothing, references resolved, each entry answered."""

from __future__ import annotations

import base64

import httpx
import orjson

from tests.support.fhir import condition, nhs_number, observation, patient, unique

NHS = "https://fhir.nhs.uk/Id/nhs-number"


def _entry(
    resource: dict[str, object],
    *,
    full_url: str | None = None,
    method: str = "POST",
    url: str | None = None,
    **request: str,
) -> dict[str, object]:
    entry: dict[str, object] = {
        "resource": resource,
        "request": {"method": method, "url": url or str(resource["resourceType"]), **request},
    }
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def _bundle(kind: str, *entries: dict[str, object]) -> dict[str, object]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


async def test_given_transaction_with_urn_uuid_references_when_posted_then_rewritten(
    fhir: httpx.AsyncClient,
) -> None:
    patient_urn = "urn:uuid:5b0c2c4e-0d0c-4c55-9d1b-a1f1f7a7c001"
    obs = observation("placeholder")
    obs["subject"] = {"reference": patient_urn}
    bundle = _bundle("transaction", _entry(obs), _entry(patient(), full_url=patient_urn))
    response = await fhir.post("", json=bundle)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses == ["201 Created", "201 Created"]
    patient_id = result["entry"][1]["resource"]["id"]
    assert result["entry"][0]["resource"]["subject"]["reference"] == f"Patient/{patient_id}"
    assert result["entry"][0]["response"]["location"].startswith("Observation/")


async def test_given_transaction_with_one_bad_entry_then_nothing_is_written(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Atomic")
    bad = observation("placeholder")
    del bad["status"]
    bundle = _bundle("transaction", _entry(patient(family=family)), _entry(bad))
    response = await fhir.post("", json=bundle)
    assert response.status_code == 422
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "Bundle.entry[1]" in outcome["issue"][0]["diagnostics"]
    found = (await fhir.get("Patient", params={"family": family, "_total": "accurate"})).json()
    assert found["total"] == 0


async def test_given_transaction_referring_to_missing_resource_then_422_and_nothing_written(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Dangling")
    bundle = _bundle(
        "transaction", _entry(patient(family=family)), _entry(observation("does-not-exist"))
    )
    response = await fhir.post("", json=bundle)
    assert response.status_code == 422
    assert "Patient/does-not-exist" in response.json()["issue"][0]["diagnostics"]
    found = (await fhir.get("Patient", params={"family": family, "_total": "accurate"})).json()
    assert found["total"] == 0


async def test_given_conditional_reference_when_transaction_then_resolved_to_match(
    fhir: httpx.AsyncClient,
) -> None:
    nhs = nhs_number()
    existing = (await fhir.post("Patient", json=patient(nhs=nhs))).json()
    referral = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient?identifier={NHS}|{nhs}"},
    }
    response = await fhir.post("", json=_bundle("transaction", _entry(referral)))
    assert response.status_code == 200, response.text
    written = response.json()["entry"][0]["resource"]
    assert written["subject"]["reference"] == f"Patient/{existing['id']}"


async def test_given_conditional_create_in_transaction_when_match_then_entries_point_at_it(
    fhir: httpx.AsyncClient,
) -> None:
    nhs = nhs_number()
    existing = (await fhir.post("Patient", json=patient(nhs=nhs))).json()
    urn = "urn:uuid:7d1f3c1e-4c2b-4f55-8a0e-3e2b1c0d9f01"
    cond = condition("placeholder")
    cond["subject"] = {"reference": urn}
    bundle = _bundle(
        "transaction",
        _entry(patient(nhs=nhs), full_url=urn, ifNoneExist=f"identifier={NHS}|{nhs}"),
        _entry(cond),
    )
    result = (await fhir.post("", json=bundle)).json()
    assert result["entry"][0]["response"]["status"] == "200 OK"
    assert result["entry"][0]["resource"]["id"] == existing["id"]
    assert result["entry"][1]["resource"]["subject"]["reference"] == f"Patient/{existing['id']}"


async def test_given_transaction_with_every_method_then_processed_in_specified_order(
    fhir: httpx.AsyncClient,
) -> None:
    doomed = (await fhir.post("Patient", json=patient())).json()
    kept = (await fhir.post("Patient", json=patient(given="Old"))).json()
    patch = [{"op": "replace", "path": "/name/0/given/0", "value": "Patched"}]
    binary = {
        "resourceType": "Binary",
        "contentType": "application/json-patch+json",
        "data": base64.b64encode(orjson.dumps(patch)).decode(),
    }
    bundle = _bundle(
        "transaction",
        {"request": {"method": "GET", "url": f"Patient/{kept['id']}"}},
        _entry(binary, method="PATCH", url=f"Patient/{kept['id']}"),
        {"request": {"method": "DELETE", "url": f"Patient/{doomed['id']}"}},
        _entry(patient()),
    )
    response = await fhir.post("", json=bundle)
    assert response.status_code == 200, response.text
    entries = response.json()["entry"]
    # GET runs last, so it sees the patch made earlier in the same transaction.
    assert entries[0]["resource"]["name"][0]["given"] == ["Patched"]
    assert [e["response"]["status"] for e in entries[1:]] == [
        "200 OK",
        "204 No Content",
        "201 Created",
    ]
    assert (await fhir.get(f"Patient/{doomed['id']}")).status_code == 410


async def test_given_batch_with_good_and_bad_entries_then_each_answered_alone(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Batch")
    bad = patient()
    bad["birthDate"] = "not-a-date"
    bundle = _bundle(
        "batch",
        _entry(patient(family=family)),
        _entry(bad),
        {"request": {"method": "GET", "url": "Patient/never-was"}},
    )
    response = await fhir.post("", json=bundle)
    assert response.status_code == 200
    result = response.json()
    assert result["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses[0] == "201 Created"
    assert statuses[1].startswith("422") and statuses[2].startswith("404")
    assert result["entry"][1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    found = (await fhir.get("Patient", params={"family": family, "_total": "accurate"})).json()
    assert found["total"] == 1


async def test_given_search_entry_in_batch_then_searchset_returned(fhir: httpx.AsyncClient) -> None:
    family = unique("Found")
    await fhir.post("Patient", json=patient(family=family))
    bundle = _bundle("batch", {"request": {"method": "GET", "url": f"Patient?family={family}"}})
    result = (await fhir.post("", json=bundle)).json()
    searchset = result["entry"][0]["resource"]
    assert searchset["type"] == "searchset" and len(searchset["entry"]) == 1


async def test_given_demo_population_when_loaded_twice_then_nothing_duplicated(
    fhir: httpx.AsyncClient,
) -> None:
    from services.record.demo import demo_bundle

    bundle = demo_bundle(patients=3, seed=7)
    first = await fhir.post("", json=bundle)
    assert first.status_code == 200, first.text[:2000]
    second = (await fhir.post("", json=bundle)).json()
    assert all(e["response"]["status"] == "200 OK" for e in second["entry"])
    ids_first = [e["resource"]["id"] for e in first.json()["entry"]]
    assert ids_first == [e["resource"]["id"] for e in second["entry"]]
