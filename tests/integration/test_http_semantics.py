"""FHIR's HTTP conventions: Location, ETag and Last-Modified; Prefer: return; conditional
reads; _pretty and JSON media types; and the CapabilityStatement at /metadata."""

from __future__ import annotations

import json
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from tests.support.fhir import patient, unique
from tests.support.services import RunningService

FHIR_JSON = "application/fhir+json"
JSON_PATCH = {"Content-Type": "application/json-patch+json"}


async def _create(fhir: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    response = await fhir.post("Patient", json=patient(**extra))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _assert_version_headers(
    response: httpx.Response, record: RunningService, resource: dict[str, Any]
) -> None:
    """Location names the version written, ETag is W/"n", Last-Modified is meta.lastUpdated."""
    version = resource["meta"]["versionId"]
    reference = f"{resource['resourceType']}/{resource['id']}"
    assert response.headers["location"] == f"{record.base}/{reference}/_history/{version}"
    assert response.headers["etag"] == f'W/"{version}"'
    modified = parsedate_to_datetime(response.headers["last-modified"])
    assert modified == _instant(resource["meta"]["lastUpdated"]).replace(microsecond=0)


# ---------------------------------------------------------------------------------------------
# Location, ETag, Last-Modified


async def test_given_new_patient_when_created_then_201_with_location_etag_last_modified(
    fhir: httpx.AsyncClient, record: RunningService
) -> None:
    response = await fhir.post("Patient", json=patient())
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == f"{FHIR_JSON}; charset=utf-8"
    created = response.json()
    assert created["meta"]["versionId"] == "1"
    _assert_version_headers(response, record, created)


async def test_given_patient_when_updated_then_200_with_location_of_new_version(
    fhir: httpx.AsyncClient, record: RunningService
) -> None:
    created = await _create(fhir)
    response = await fhir.put(f"Patient/{created['id']}", json={**created, "gender": "other"})
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["meta"]["versionId"] == "2"
    _assert_version_headers(response, record, updated)
    assert _instant(updated["meta"]["lastUpdated"]) >= _instant(created["meta"]["lastUpdated"])


async def test_given_client_chosen_id_when_put_then_201_created_at_version_1(
    fhir: httpx.AsyncClient, record: RunningService
) -> None:
    rid = unique("client-")
    response = await fhir.put(f"Patient/{rid}", json={**patient(), "id": rid})
    assert response.status_code == 201, response.text
    _assert_version_headers(response, record, response.json())


async def test_given_patient_when_patched_then_200_with_new_version_headers(
    fhir: httpx.AsyncClient, record: RunningService
) -> None:
    created = await _create(fhir)
    operations = [{"op": "add", "path": "/active", "value": True}]
    response = await fhir.patch(
        f"Patient/{created['id']}", content=json.dumps(operations), headers=JSON_PATCH
    )
    assert response.status_code == 200, response.text
    _assert_version_headers(response, record, response.json())
    assert response.json()["active"] is True


async def test_given_patient_when_read_and_vread_then_etag_and_last_modified(
    fhir: httpx.AsyncClient,
) -> None:
    created = await _create(fhir)
    await fhir.put(f"Patient/{created['id']}", json={**created, "gender": "other"})
    read = await fhir.get(f"Patient/{created['id']}")
    assert read.status_code == 200
    assert read.headers["etag"] == 'W/"2"'
    assert read.headers["content-type"] == f"{FHIR_JSON}; charset=utf-8"
    modified = parsedate_to_datetime(read.headers["last-modified"])
    assert modified == _instant(read.json()["meta"]["lastUpdated"]).replace(microsecond=0)
    first = await fhir.get(f"Patient/{created['id']}/_history/1")
    assert first.status_code == 200
    assert first.headers["etag"] == 'W/"1"'
    assert first.json()["gender"] == "female"


async def test_given_patient_when_deleted_then_no_content_and_read_gone(
    fhir: httpx.AsyncClient,
) -> None:
    created = await _create(fhir)
    response = await fhir.delete(f"Patient/{created['id']}")
    assert response.status_code == 204
    assert response.content == b""
    gone = await fhir.get(f"Patient/{created['id']}")
    assert gone.status_code == 410
    assert gone.headers["etag"] == 'W/"2"'


# ---------------------------------------------------------------------------------------------
# Prefer: return=minimal | representation | OperationOutcome


async def _write(fhir: httpx.AsyncClient, how: str, prefer: str | None) -> httpx.Response:
    headers = {"Prefer": f"return={prefer}"} if prefer else {}
    if how == "create":
        return await fhir.post("Patient", json=patient(), headers=headers)
    created = await _create(fhir)
    if how == "update":
        body = {**created, "gender": "male"}
        return await fhir.put(f"Patient/{created['id']}", json=body, headers=headers)
    operations = json.dumps([{"op": "replace", "path": "/gender", "value": "male"}])
    return await fhir.patch(
        f"Patient/{created['id']}", content=operations, headers={**JSON_PATCH, **headers}
    )


WRITES = [("create", 201), ("update", 200), ("patch", 200)]


@pytest.mark.parametrize(("how", "status"), WRITES)
async def test_given_prefer_minimal_when_written_then_empty_body_with_headers(
    fhir: httpx.AsyncClient, how: str, status: int
) -> None:
    response = await _write(fhir, how, "minimal")
    assert response.status_code == status, response.text
    assert response.content == b""
    assert "/_history/" in response.headers["location"]
    assert response.headers["etag"].startswith('W/"')
    assert response.headers["last-modified"].endswith("GMT")


@pytest.mark.parametrize(("how", "status"), WRITES)
@pytest.mark.parametrize("prefer", ["representation", None])
async def test_given_prefer_representation_or_none_when_written_then_resource_returned(
    fhir: httpx.AsyncClient, how: str, status: int, prefer: str | None
) -> None:
    response = await _write(fhir, how, prefer)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "Patient"
    stored = await fhir.get(f"Patient/{body['id']}")
    assert stored.json() == body
    assert response.headers["etag"] == stored.headers["etag"]


@pytest.mark.parametrize(("how", "status"), WRITES)
async def test_given_prefer_operation_outcome_when_written_then_informational_outcome(
    fhir: httpx.AsyncClient, how: str, status: int
) -> None:
    response = await _write(fhir, how, "OperationOutcome")
    assert response.status_code == status, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert issue["severity"] == "information"
    assert issue["code"] == "informational"
    rid = response.headers["location"].split("/Patient/")[1].split("/")[0]
    assert rid in issue["diagnostics"]


async def test_given_prefer_with_other_preferences_when_created_then_return_still_honoured(
    fhir: httpx.AsyncClient,
) -> None:
    headers = {"Prefer": "handling=strict, return=minimal"}
    response = await fhir.post("Patient", json=patient(), headers=headers)
    assert response.status_code == 201
    assert response.content == b""


# ---------------------------------------------------------------------------------------------
# Conditional read


async def test_given_current_etag_when_read_with_if_none_match_then_304(
    fhir: httpx.AsyncClient,
) -> None:
    created = await _create(fhir)
    path = f"Patient/{created['id']}"
    response = await fhir.get(path, headers={"If-None-Match": 'W/"1"'})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == 'W/"1"'


async def test_given_old_etag_when_read_with_if_none_match_then_200_with_new_version(
    fhir: httpx.AsyncClient,
) -> None:
    created = await _create(fhir)
    path = f"Patient/{created['id']}"
    await fhir.put(path, json={**created, "gender": "other"})
    response = await fhir.get(path, headers={"If-None-Match": 'W/"1"'})
    assert response.status_code == 200
    assert response.json()["meta"]["versionId"] == "2"
    assert response.headers["etag"] == 'W/"2"'


# ---------------------------------------------------------------------------------------------
# _pretty and JSON media types


def _indented(text: str) -> bool:
    """Indented at every level, stored resources inside Bundles included, two spaces a level."""
    return text == json.dumps(json.loads(text), indent=2, ensure_ascii=False)


def _without_links(value: dict[str, Any]) -> dict[str, Any]:
    """A Bundle's self link repeats the request, _pretty and all."""
    return {k: v for k, v in value.items() if k != "link"}


@pytest.mark.parametrize(
    "path", ["metadata", "{patient}", "Patient?_id={id}", "{patient}/_history"]
)
async def test_given_pretty_true_when_read_then_indented_json(
    fhir: httpx.AsyncClient, path: str
) -> None:
    created = await _create(fhir)
    url = path.format(patient=f"Patient/{created['id']}", id=created["id"])
    separator = "&" if "?" in url else "?"
    pretty = await fhir.get(f"{url}{separator}_pretty=true")
    plain = await fhir.get(url)
    assert pretty.status_code == plain.status_code == 200
    assert _indented(pretty.text)
    assert "\n" not in plain.text.strip()
    assert _without_links(pretty.json()) == _without_links(plain.json())


async def test_given_pretty_true_when_created_then_indented_json(
    fhir: httpx.AsyncClient,
) -> None:
    response = await fhir.post("Patient?_pretty=true", json=patient())
    assert response.status_code == 201
    assert _indented(response.text)
    assert response.json()["resourceType"] == "Patient"


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
async def test_given_plain_json_media_type_when_written_and_read_then_accepted(
    fhir: httpx.AsyncClient, content_type: str
) -> None:
    headers = {"Content-Type": content_type, "Accept": "application/json"}
    body = patient()
    response = await fhir.post("Patient", content=json.dumps(body), headers=headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["name"] == body["name"]
    update = json.dumps({**created, "gender": "other"})
    updated = await fhir.put(f"Patient/{created['id']}", content=update, headers=headers)
    assert updated.status_code == 200, updated.text
    for path in (f"Patient/{created['id']}", f"Patient?_id={created['id']}", "metadata"):
        read = await fhir.get(path, headers={"Accept": "application/json"})
        assert read.status_code == 200, read.text
        assert read.headers["content-type"].split(";")[0] in ("application/json", FHIR_JSON)
        read.json()
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": []}
    answer = await fhir.post("", content=json.dumps(transaction), headers=headers)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({"Accept": "*/*"}, ""),
        ({"Accept": ""}, ""),
        ({"Accept": "application/fhir+json;q=0.9, application/xml;q=0.1"}, ""),
        ({"Accept": "application/fhir+json; fhirVersion=4.3"}, ""),
        ({"Accept": "application/xml"}, "_format=json"),
        ({}, "_format=application/fhir%2Bjson"),
        ({}, "_format=application/json"),
    ],
    ids=["any", "none", "weighted", "fhirVersion", "_format overrides", "_format fhir", "_format"],
)
async def test_given_json_acceptable_when_read_then_fhir_json(
    fhir: httpx.AsyncClient, headers: dict[str, str], query: str
) -> None:
    response = await fhir.get("metadata" + (f"?{query}" if query else ""), headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)


# ---------------------------------------------------------------------------------------------
# The CapabilityStatement


@pytest.fixture
async def capability(record: RunningService) -> dict[str, Any]:
    """GET /fhir/metadata as a stranger would: no credentials, no headers."""
    async with httpx.AsyncClient(timeout=30) as stranger:
        response = await stranger.get(f"{record.base}/metadata")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    statement: dict[str, Any] = response.json()
    return statement


def _resource(statement: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (rest,) = statement["rest"]
    found: dict[str, Any] = next(r for r in rest["resource"] if r["type"] == resource_type)
    return found


async def test_given_anyone_when_metadata_read_then_capability_statement_for_fhir_4_3(
    capability: dict[str, Any], record: RunningService
) -> None:
    assert capability["resourceType"] == "CapabilityStatement"
    assert capability["fhirVersion"] == "4.3.0"
    assert capability["status"] == "active"
    assert capability["kind"] == "instance"
    assert FHIR_JSON in capability["format"]
    assert capability["implementation"]["url"] == record.base
    (rest,) = capability["rest"]
    assert rest["mode"] == "server"
    assert {"transaction", "batch"} <= {i["code"] for i in rest["interaction"]}


async def test_given_capability_statement_then_patient_lists_search_params_and_interactions(
    capability: dict[str, Any],
) -> None:
    resource = _resource(capability, "Patient")
    params = {p["name"]: p for p in resource["searchParam"]}
    assert {"name", "identifier", "birthdate", "family", "given", "gender"} <= set(params)
    assert params["name"]["type"] == "string"
    assert params["identifier"]["type"] == "token"
    assert params["birthdate"]["type"] == "date"
    assert params["birthdate"]["definition"].startswith("http://hl7.org/fhir/SearchParameter/")
    interactions = {i["code"] for i in resource["interaction"]}
    expected = {"read", "vread", "update", "patch", "delete", "create", "search-type"}
    assert expected | {"history-instance", "history-type"} <= interactions
    assert resource["versioning"] == "versioned-update"


async def test_given_capability_statement_then_clinical_types_listed(
    capability: dict[str, Any],
) -> None:
    types = {r["type"] for r in capability["rest"][0]["resource"]}
    assert {"Patient", "Observation", "Condition", "Encounter", "MedicationRequest"} <= types
    observation = {p["name"] for p in _resource(capability, "Observation")["searchParam"]}
    assert {"subject", "patient", "code", "date"} <= observation


async def test_given_credentials_of_any_kind_when_metadata_read_then_still_served(
    record: RunningService,
) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(
            f"{record.base}/metadata", headers={"Authorization": "Bearer not-a-real-token"}
        )
    assert response.status_code == 200
    assert response.json()["resourceType"] == "CapabilityStatement"
