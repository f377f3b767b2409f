"""Create, read, vread, update, patch, delete and history: versions are never lost."""

from __future__ import annotations

import httpx

from tests.support.fhir import nhs_number, observation, patient, unique

JSON_PATCH = {"Content-Type": "application/json-patch+json"}


async def _create(fhir: httpx.AsyncClient, resource: dict[str, object]) -> dict[str, object]:
    response = await fhir.post(str(resource["resourceType"]), json=resource)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


async def test_given_new_patient_when_created_then_201_with_version_1_and_location(
    fhir: httpx.AsyncClient,
) -> None:
    response = await fhir.post("Patient", json=patient())
    assert response.status_code == 201
    body = response.json()
    assert body["meta"]["versionId"] == "1"
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["location"].endswith(f"/fhir/Patient/{body['id']}/_history/1")
    assert response.headers["last-modified"].endswith("GMT")


async def test_given_body_id_when_created_then_server_assigns_its_own(
    fhir: httpx.AsyncClient,
) -> None:
    body = await _create(fhir, {**patient(), "id": "client-chosen"})
    assert body["id"] != "client-chosen"


async def test_given_patient_when_updated_twice_then_each_version_readable(
    fhir: httpx.AsyncClient,
) -> None:
    created = await _create(fhir, patient(given="Ann"))
    pid = created["id"]
    for version, given in ((2, "Anne"), (3, "Annie")):
        update = {**patient(given=given), "id": pid}
        response = await fhir.put(f"Patient/{pid}", json=update)
        assert response.status_code == 200, response.text
        assert response.json()["meta"]["versionId"] == str(version)
    assert (await fhir.get(f"Patient/{pid}")).json()["name"][0]["given"] == ["Annie"]
    first = await fhir.get(f"Patient/{pid}/_history/1")
    assert first.status_code == 200 and first.json()["name"][0]["given"] == ["Ann"]
    history = (await fhir.get(f"Patient/{pid}/_history")).json()
    assert history["type"] == "history"
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["3", "2", "1"]
    assert [e["request"]["method"] for e in history["entry"]] == ["PUT", "PUT", "POST"]


async def test_given_unchanged_body_when_updated_then_no_new_version(
    fhir: httpx.AsyncClient,
) -> None:
    created = await _create(fhir, patient())
    response = await fhir.put(f"Patient/{created['id']}", json=created)
    assert response.status_code == 200
    assert response.json()["meta"]["versionId"] == "1"


async def test_given_stale_if_match_when_updated_then_412_and_nothing_changes(
    fhir: httpx.AsyncClient,
) -> None:
    created = await _create(fhir, patient(given="Ann"))
    pid = created["id"]
    await fhir.put(f"Patient/{pid}", json={**patient(given="Anne"), "id": pid})
    stale = await fhir.put(
        f"Patient/{pid}", json={**patient(given="Bea"), "id": pid}, headers={"If-Match": 'W/"1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    current = (await fhir.get(f"Patient/{pid}")).json()
    assert current["name"][0]["given"] == ["Anne"]
    fresh = await fhir.put(
        f"Patient/{pid}", json={**patient(given="Bea"), "id": pid}, headers={"If-Match": 'W/"2"'}
    )
    assert fresh.status_code == 200


async def test_given_new_id_when_put_then_created_with_client_id(fhir: httpx.AsyncClient) -> None:
    pid = unique("p-")
    response = await fhir.put(f"Patient/{pid}", json={**patient(), "id": pid})
    assert response.status_code == 201
    assert response.json()["id"] == pid


async def test_given_json_patch_when_applied_then_new_version(fhir: httpx.AsyncClient) -> None:
    created = await _create(fhir, patient(given="Ann"))
    operations = [{"op": "replace", "path": "/name/0/given/0", "value": "Annabel"}]
    response = await fhir.patch(f"Patient/{created['id']}", json=operations, headers=JSON_PATCH)
    assert response.status_code == 200, response.text
    assert response.json()["name"][0]["given"] == ["Annabel"]
    assert response.json()["meta"]["versionId"] == "2"


async def test_given_patch_that_breaks_resource_when_applied_then_422_and_unchanged(
    fhir: httpx.AsyncClient,
) -> None:
    created = await _create(fhir, patient())
    operations = [{"op": "replace", "path": "/birthDate", "value": "yesterday"}]
    response = await fhir.patch(f"Patient/{created['id']}", json=operations, headers=JSON_PATCH)
    assert response.status_code == 422
    assert (await fhir.get(f"Patient/{created['id']}")).json()["meta"]["versionId"] == "1"


async def test_given_deleted_resource_when_read_then_410_and_history_kept(
    fhir: httpx.AsyncClient,
) -> None:
    created = await _create(fhir, patient())
    pid = created["id"]
    assert (await fhir.delete(f"Patient/{pid}")).status_code == 204
    gone = await fhir.get(f"Patient/{pid}")
    assert gone.status_code == 410
    assert gone.json()["issue"][0]["code"] == "deleted"
    history = (await fhir.get(f"Patient/{pid}/_history")).json()
    assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "POST"]
    assert (await fhir.get(f"Patient/{pid}/_history/1")).status_code == 200
    assert (await fhir.delete(f"Patient/{pid}")).status_code == 204


async def test_given_deleted_resource_when_put_again_then_revived_as_next_version(
    fhir: httpx.AsyncClient,
) -> None:
    created = await _create(fhir, patient())
    pid = created["id"]
    await fhir.delete(f"Patient/{pid}")
    response = await fhir.put(f"Patient/{pid}", json={**patient(), "id": pid})
    assert response.status_code == 200
    assert response.json()["meta"]["versionId"] == "3"


async def test_given_patient_with_observations_when_deleted_then_409_naming_referrer(
    fhir: httpx.AsyncClient,
) -> None:
    created = await _create(fhir, patient())
    obs = await _create(fhir, observation(str(created["id"])))
    response = await fhir.delete(f"Patient/{created['id']}")
    assert response.status_code == 409
    assert f"Observation/{obs['id']}" in response.json()["issue"][0]["diagnostics"]


async def test_given_if_none_exist_when_match_exists_then_200_with_existing(
    fhir: httpx.AsyncClient,
) -> None:
    nhs = nhs_number()
    condition = f"identifier=https://fhir.nhs.uk/Id/nhs-number|{nhs}"
    first = await fhir.post("Patient", json=patient(nhs=nhs), headers={"If-None-Exist": condition})
    again = await fhir.post("Patient", json=patient(nhs=nhs), headers={"If-None-Exist": condition})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]


async def test_given_conditional_update_when_no_match_then_created_and_then_updated(
    fhir: httpx.AsyncClient,
) -> None:
    nhs = nhs_number()
    url = f"Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{nhs}"
    created = await fhir.put(url, json=patient(nhs=nhs, given="Ann"))
    assert created.status_code == 201
    updated = await fhir.put(url, json=patient(nhs=nhs, given="Anne"))
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    assert updated.json()["meta"]["versionId"] == "2"


async def test_given_two_matches_when_conditional_update_then_412(fhir: httpx.AsyncClient) -> None:
    family = unique("Twin")
    for _ in range(2):
        await _create(fhir, patient(family=family))
    response = await fhir.put(f"Patient?family={family}", json=patient(family=family))
    assert response.status_code == 412


async def test_given_single_match_when_conditional_delete_then_deleted(
    fhir: httpx.AsyncClient,
) -> None:
    nhs = nhs_number()
    created = await _create(fhir, patient(nhs=nhs))
    response = await fhir.delete(f"Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{nhs}")
    assert response.status_code == 204
    assert (await fhir.get(f"Patient/{created['id']}")).status_code == 410


async def test_given_writes_when_type_history_since_then_only_newer(
    fhir: httpx.AsyncClient,
) -> None:
    first = await _create(fhir, patient())
    since = first["meta"]["lastUpdated"]  # type: ignore[index]
    second = await _create(fhir, patient())
    history = (await fhir.get("Patient/_history", params={"_since": since, "_count": 500})).json()
    ids = [e["resource"]["id"] for e in history.get("entry", []) if "resource" in e]
    assert second["id"] in ids
    system = (await fhir.get("_history", params={"_since": since, "_count": 500})).json()
    assert second["id"] in [e["resource"]["id"] for e in system["entry"] if "resource" in e]


async def test_given_history_when_paged_then_next_link_continues(fhir: httpx.AsyncClient) -> None:
    created = await _create(fhir, patient(given="V1"))
    pid = created["id"]
    for n in range(2, 6):
        await fhir.put(f"Patient/{pid}", json={**patient(given=f"V{n}"), "id": pid})
    versions: list[str] = []
    url: str | None = f"Patient/{pid}/_history?_count=2"
    while url:
        page = (await fhir.get(url)).json()
        versions += [e["resource"]["meta"]["versionId"] for e in page["entry"]]
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert versions == ["5", "4", "3", "2", "1"]
