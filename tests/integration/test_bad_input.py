"""Bad input on every endpoint of the record.

Every refusal is an OperationOutcome (an error issue with a code and diagnostics) with the
right HTTP status, and nothing a refused write carried is left behind: each write here marks
its resources with a unique token, and after the refusal a search for that token finds nothing
and the resource it aimed at is still at version 1.

Unauthorised callers are refused by the gateway, which has its own tests.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from shared.nhs_number import NHS_NUMBER_SYSTEM
from tests.support.fhir import nhs_number, observation, patient, unique
from tests.support.services import RunningService

FHIR_JSON = "application/fhir+json"
JSON_PATCH = "application/json-patch+json"
FORM = "application/x-www-form-urlencoded"
LIMIT = 1024 * 1024  # the record under test is started with this body limit
TEST_SYSTEM = "urn:onestory:test"
STRICT = {"Prefer": "handling=strict"}

Resource = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# What every refusal must look like, and the proof that nothing was written


def assert_outcome(
    response: httpx.Response,
    status: int,
    *,
    code: str | None = None,
    expression: str | None = None,
    mentions: str | None = None,
) -> dict[str, Any]:
    """The response is an error OperationOutcome with ``status``; ``expression`` must appear in
    an issue's expression, ``mentions`` in the diagnostics."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    issue = body["issue"][0]
    assert issue["severity"] == "error", body
    assert isinstance(issue["code"], str) and issue["code"], body
    assert isinstance(issue["diagnostics"], str) and issue["diagnostics"].strip(), body
    if code is not None:
        assert issue["code"] == code, body
    if expression is not None:
        found = [e for i in body["issue"] for e in i.get("expression", [])]
        assert any(expression in e for e in found), body
    if mentions is not None:
        assert any(mentions in i.get("diagnostics", "") for i in body["issue"]), body
    return body


def assert_validation_failed(
    response: httpx.Response, *, expression: str | None, mentions: str | None
) -> None:
    """$validate answers 200 with an OperationOutcome saying what is wrong (FHIR R4 3.1.0.8.2):
    a 4xx means the validation itself could not be done."""
    body = assert_outcome(response, 200, expression=expression, mentions=mentions)
    assert any(i["severity"] == "error" for i in body["issue"])


async def traces(fhir: httpx.AsyncClient, resource_type: str, marker: str) -> int:
    """How many resources carry ``marker``: Patients in their family name, Observations in
    their code."""
    param = "family" if resource_type == "Patient" else "code"
    response = await fhir.get(resource_type, params={param: marker})
    assert response.status_code == 200, response.text
    return sum(e["search"]["mode"] == "match" for e in response.json().get("entry", []))


async def assert_untouched(fhir: httpx.AsyncClient, reference: str) -> None:
    """The resource is still at its first version: a refused write made no new one."""
    response = await fhir.get(reference)
    assert response.status_code == 200, response.text
    assert response.json()["meta"]["versionId"] == "1"
    history = (await fhir.get(f"{reference}/_history")).json()
    assert len(history["entry"]) == 1


async def create(fhir: httpx.AsyncClient, resource: Resource) -> Resource:
    response = await fhir.post(resource["resourceType"], json=resource)
    assert response.status_code == 201, response.text
    created: Resource = response.json()
    return created


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def bundle(kind: str, *entries: Resource) -> Resource:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def post_entry(resource: Resource) -> Resource:
    return {
        "fullUrl": f"urn:uuid:{uuid.uuid4()}",
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }


# ---------------------------------------------------------------------------------------------
# The write endpoints, each as one good request that a test then spoils in one way


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: bytes
    content_type: str = FHIR_JSON
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Scene:
    """Resources every test may aim at but none may change, and a token no other test uses."""

    marker: str
    existing: str  # "Patient/<id>"
    standing: dict[str, Resource]  # by type: a Patient, and an Observation about it

    @property
    def existing_id(self) -> str:
        return self.existing.split("/")[1]


@pytest.fixture(scope="module")
async def standing(record: RunningService, system_token: str) -> AsyncIterator[dict[str, Resource]]:
    """Made once per database: refused writes aim at these, so they must stay at version 1."""
    headers = {
        "Accept": FHIR_JSON,
        "Content-Type": FHIR_JSON,
        "Authorization": f"Bearer {system_token}",
    }
    async with httpx.AsyncClient(base_url=record.base + "/", headers=headers, timeout=30) as client:
        person = await create(client, patient())
        reading = await create(client, observation(person["id"], code=unique("Standing")))
        yield {"Patient": person, "Observation": reading}


@pytest.fixture
def scene(standing: dict[str, Resource]) -> Scene:
    existing = f"Patient/{standing['Patient']['id']}"
    return Scene(marker=unique("Mark"), existing=existing, standing=standing)


async def own_scene(fhir: httpx.AsyncClient, scene: Scene) -> Scene:
    """A scene with a Patient of its own, for a test whose write is meant to succeed."""
    created = await create(fhir, patient())
    return Scene(scene.marker, f"Patient/{created['id']}", scene.standing)


def good_call(name: str, scene: Scene) -> Call:
    """A request that would succeed, writing a Patient whose family name is the marker."""
    new = patient(family=scene.marker)
    replacement = {**new, "id": scene.existing_id}
    condition = f"identifier={TEST_SYSTEM}|{scene.marker}"
    calls = {
        "create": Call("POST", "Patient", dumps(new)),
        "conditional create": Call(
            "POST", "Patient", dumps(new), headers={"If-None-Exist": condition}
        ),
        "update": Call("PUT", scene.existing, dumps(replacement)),
        "conditional update": Call("PUT", f"Patient?{condition}", dumps(new)),
        "patch": Call(
            "PATCH",
            scene.existing,
            dumps([{"op": "replace", "path": "/name", "value": new["name"]}]),
            JSON_PATCH,
        ),
        "transaction": Call("POST", "", dumps(bundle("transaction", post_entry(new)))),
        "batch": Call("POST", "", dumps(bundle("batch", post_entry(new)))),
        "validate type": Call("POST", "Patient/$validate", dumps(new)),
        "validate instance": Call("POST", f"{scene.existing}/$validate", dumps(replacement)),
        "search by POST": Call("POST", "Patient/_search", f"family={scene.marker}".encode(), FORM),
    }
    return calls[name]


WRITES = ["create", "conditional create", "update", "conditional update", "patch"]
WRITES += ["transaction", "batch"]
BODY_ENDPOINTS = [*WRITES, "validate type", "validate instance", "search by POST"]


async def send(
    fhir: httpx.AsyncClient,
    call: Call,
    *,
    body: bytes | AsyncIterator[bytes] | None = None,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    sent = {**call.headers, "Content-Type": content_type or call.content_type, **(headers or {})}
    content = call.body if body is None else body
    return await fhir.request(call.method, call.path, content=content, headers=sent)


async def assert_nothing_written(fhir: httpx.AsyncClient, scene: Scene) -> None:
    assert await traces(fhir, "Patient", scene.marker) == 0
    await assert_untouched(fhir, scene.existing)


# ---------------------------------------------------------------------------------------------
# Bodies that are not a resource at all: 400


UNPARSABLE = {
    "malformed JSON": b'{"resourceType": "Patient", "name": [',
    "JSON array": b'[{"resourceType": "Patient"}]',
    "JSON string": b'"Patient"',
    "JSON number": b"42",
    "empty body": b"",
    "unknown resourceType": b'{"resourceType": "Spaceship"}',
    "no resourceType": b'{"name": [{"family": "Nobody"}]}',
}
RESOURCE_BODIES = [n for n in BODY_ENDPOINTS if n not in ("patch", "search by POST")]


@pytest.mark.parametrize("endpoint", RESOURCE_BODIES)
@pytest.mark.parametrize("problem", list(UNPARSABLE))
async def test_given_body_that_is_no_resource_when_sent_then_400(
    fhir: httpx.AsyncClient, scene: Scene, endpoint: str, problem: str
) -> None:
    response = await send(fhir, good_call(endpoint, scene), body=UNPARSABLE[problem])
    assert_outcome(response, 400)
    await assert_nothing_written(fhir, scene)


@pytest.mark.parametrize(
    "document",
    [b'[{"op": "add", "path": "/gender"', b'"add"', b"42", b"", b'{"op": "add"}', b"null"],
    ids=["malformed", "string", "number", "empty", "object", "null"],
)
async def test_given_patch_that_is_no_json_patch_when_sent_then_400(
    fhir: httpx.AsyncClient, scene: Scene, document: bytes
) -> None:
    response = await send(fhir, good_call("patch", scene), body=document)
    assert_outcome(response, 400)
    await assert_untouched(fhir, scene.existing)


@pytest.mark.parametrize(
    "operations",
    [[{"op": "frobnicate", "path": "/gender"}], ["add"], [{"op": "remove", "path": "/nothing"}]],
    ids=["unknown op", "op not an object", "path missing"],
)
async def test_given_patch_that_cannot_apply_when_sent_then_refused(
    fhir: httpx.AsyncClient, scene: Scene, operations: list[Any]
) -> None:
    response = await send(fhir, good_call("patch", scene), body=dumps(operations))
    assert response.status_code in (400, 422), response.text
    assert_outcome(response, response.status_code)
    await assert_untouched(fhir, scene.existing)


@pytest.mark.parametrize(
    "value",
    [{"resourceType": "Patient"}, {"resourceType": "Bundle", "type": "collection"}, {}],
    ids=["not a Bundle", "collection Bundle", "empty object"],
)
async def test_given_base_post_without_transaction_or_batch_when_sent_then_400(
    fhir: httpx.AsyncClient, value: Resource
) -> None:
    assert_outcome(await fhir.post("", json=value), 400)


# ---------------------------------------------------------------------------------------------
# A resource of the wrong type for the URL: 400


@pytest.mark.parametrize(
    "endpoint", ["create", "conditional create", "update", "conditional update"]
)
async def test_given_resource_type_not_the_urls_when_written_then_400(
    fhir: httpx.AsyncClient, scene: Scene, endpoint: str
) -> None:
    practitioner = {"resourceType": "Practitioner", "name": [{"family": scene.marker}]}
    if endpoint == "update":
        practitioner["id"] = scene.existing_id
    response = await send(fhir, good_call(endpoint, scene), body=dumps(practitioner))
    assert_outcome(response, 400, mentions="Practitioner")
    await assert_nothing_written(fhir, scene)
    found = await fhir.get("Practitioner", params={"family": scene.marker})
    assert "entry" not in found.json()


@pytest.mark.parametrize("endpoint", ["validate type", "validate instance"])
async def test_given_resource_type_not_the_urls_when_validated_then_error_outcome(
    fhir: httpx.AsyncClient, scene: Scene, endpoint: str
) -> None:
    group = {"resourceType": "Group", "type": "person", "actual": True}
    response = await send(fhir, good_call(endpoint, scene), body=dumps(group))
    assert_validation_failed(response, expression=None, mentions="Group")


async def test_given_transaction_entry_resource_not_its_urls_type_when_posted_then_400(
    fhir: httpx.AsyncClient, scene: Scene
) -> None:
    entry = {
        "resource": patient(family=scene.marker),
        "request": {"method": "POST", "url": "Observation"},
    }
    assert_outcome(await fhir.post("", json=bundle("transaction", entry)), 400)
    await assert_nothing_written(fhir, scene)


# ---------------------------------------------------------------------------------------------
# Resources that break FHIR or OneStory rules: 422 naming where, and nothing written


def _invalid_nhs_number() -> str:
    valid = nhs_number()
    return valid[:9] + str((int(valid[9]) + 1) % 10)  # a wrong Modulus 11 check digit


@dataclass(frozen=True)
class Spoiled:
    resource_type: str
    spoil: Callable[[Resource, str], None]  # (resource, marker): make it invalid
    expression: str | None  # what the error's expression must name
    mentions: Callable[[str], str | None] = lambda marker: None  # what the diagnostics name


def _set(key: str, value: Any) -> Callable[[Resource, str], None]:
    def spoil(resource: Resource, marker: str) -> None:
        resource[key] = value

    return spoil


def _drop(key: str) -> Callable[[Resource, str], None]:
    def spoil(resource: Resource, marker: str) -> None:
        del resource[key]

    return spoil


def _dangling_subject(resource: Resource, marker: str) -> None:
    resource["subject"] = {"reference": f"Patient/{marker}-never-existed"}


def _bad_nhs_number(resource: Resource, marker: str) -> None:
    resource["identifier"] = [{"system": NHS_NUMBER_SYSTEM, "value": _invalid_nhs_number()}]


SPOILED = {
    "birthDate a number": Spoiled("Patient", _set("birthDate", 123), "Patient.birthDate"),
    "birthDate not a date": Spoiled(
        "Patient", _set("birthDate", "not-a-date"), "Patient.birthDate"
    ),
    "name not a list": Spoiled("Patient", _set("name", "Smith"), "Patient.name"),
    "unknown element": Spoiled("Patient", _set("favouriteColour", "blue"), "favouriteColour"),
    "invalid NHS number": Spoiled("Patient", _bad_nhs_number, "Patient.identifier[0]"),
    "Observation without status": Spoiled("Observation", _drop("status"), "Observation.status"),
    "reference to nothing": Spoiled(
        "Observation", _dangling_subject, None, lambda m: f"Patient/{m}-never-existed"
    ),
}


def good_resource(resource_type: str, marker: str, subject: str) -> Resource:
    if resource_type == "Patient":
        return patient(family=marker)
    return observation(subject.split("/")[1], code=marker)


def spoiled_resource(case: Spoiled, marker: str, subject: str) -> Resource:
    resource = good_resource(case.resource_type, marker, subject)
    case.spoil(resource, marker)
    return resource


def patch_between(old: Resource, new: Resource) -> list[Resource]:
    """A JSON Patch turning ``old`` into ``new`` (top-level elements; id and meta kept)."""
    operations: list[Resource] = [
        {"op": "add", "path": f"/{key}", "value": value}
        for key, value in new.items()
        if key not in ("id", "meta") and old.get(key) != value
    ]
    operations += [
        {"op": "remove", "path": f"/{key}"}
        for key in old
        if key not in ("id", "meta", "resourceType") and key not in new
    ]
    return operations


SPOILED_TARGETS = [*WRITES[:-1], "validate type", "validate instance"]  # a batch never 422s


@pytest.mark.parametrize("target", SPOILED_TARGETS)
@pytest.mark.parametrize("case_name", list(SPOILED))
async def test_given_invalid_resource_when_written_then_422_naming_it_and_nothing_written(
    fhir: httpx.AsyncClient, scene: Scene, target: str, case_name: str
) -> None:
    case = SPOILED[case_name]
    kind, marker, subject = case.resource_type, scene.marker, scene.existing
    existing = scene.standing[kind]
    reference = f"{kind}/{existing['id']}"
    bad = spoiled_resource(case, marker, subject)
    condition = f"identifier={TEST_SYSTEM}|{marker}"
    calls = {
        "create": Call("POST", kind, dumps(bad)),
        "conditional create": Call("POST", kind, dumps(bad), headers={"If-None-Exist": condition}),
        "update": Call("PUT", reference, dumps({**bad, "id": existing["id"]})),
        "conditional update": Call("PUT", f"{kind}?{condition}", dumps(bad)),
        "patch": Call("PATCH", reference, dumps(patch_between(existing, bad)), JSON_PATCH),
        "transaction": Call(
            "POST",
            "",
            dumps(
                bundle("transaction", post_entry(patient(family=marker + "tx")), post_entry(bad))
            ),
        ),
        "validate type": Call("POST", f"{kind}/$validate", dumps(bad)),
        "validate instance": Call(
            "POST", f"{reference}/$validate", dumps({**bad, "id": existing["id"]})
        ),
    }
    response = await send(fhir, calls[target])

    mentions = case.mentions(marker)
    if target.startswith("validate"):
        assert_validation_failed(response, expression=case.expression, mentions=mentions)
        return
    if target == "transaction":
        # The whole transaction is refused; the issue names the entry and, in words, where.
        assert_outcome(response, 422, mentions=mentions or case.expression)
    else:
        assert_outcome(response, 422, expression=case.expression, mentions=mentions)
    assert await traces(fhir, kind, marker) == 0
    assert await traces(fhir, "Patient", marker + "tx") == 0
    await assert_untouched(fhir, reference)


# ---------------------------------------------------------------------------------------------
# Transactions are all or nothing; batches answer each entry on its own


async def test_given_transaction_with_one_bad_entry_when_posted_then_none_of_it_is_written(
    fhir: httpx.AsyncClient, scene: Scene
) -> None:
    first, second = (patient(family=scene.marker) for _ in range(2))
    person = post_entry(first)
    reading = observation("placeholder", code=scene.marker)
    reading["subject"] = {"reference": person["fullUrl"]}
    update = {**patient(family=scene.marker), "id": scene.existing_id}
    entries = [
        person,
        post_entry(reading),
        post_entry(second),
        {"resource": update, "request": {"method": "PUT", "url": scene.existing}},
        post_entry({**patient(family=scene.marker), "birthDate": "31/02/1941"}),
    ]
    response = await fhir.post("", json=bundle("transaction", *entries))
    assert_outcome(response, 422, expression="Bundle.entry[4]", mentions="birthDate")
    assert await traces(fhir, "Patient", scene.marker) == 0
    assert await traces(fhir, "Observation", scene.marker) == 0
    await assert_untouched(fhir, scene.existing)


@pytest.mark.parametrize(
    ("entry", "status"),
    [
        ({"resource": {"resourceType": "Patient"}}, 400),
        ("not an entry", 400),
        ({"request": {"method": "FETCH", "url": "Patient"}}, 400),
        ({"request": {"method": "DELETE", "url": "Patient/bad id!"}}, 400),
        ({"request": {"method": "DELETE", "url": "Patient/never-existed-x"}}, 404),
        ({"request": {"method": "GET", "url": "Patient/never-existed-x"}}, 404),
        ({"request": {"method": "POST", "url": "Patient"}}, 400),
        (
            {
                "resource": {"resourceType": "Patient", "id": "one"},
                "request": {"method": "PUT", "url": "Patient/another"},
            },
            400,
        ),
        (
            {
                "resource": observation("x") | {"subject": {"reference": "urn:uuid:nobody"}},
                "request": {"method": "POST", "url": "Observation"},
            },
            422,
        ),
    ],
    ids=[
        "no request",
        "entry not an object",
        "unknown method",
        "invalid id",
        "delete of nothing",
        "read of nothing",
        "POST without resource",
        "PUT id not the url's",
        "unresolved urn:uuid",
    ],
)
async def test_given_transaction_with_a_broken_entry_when_posted_then_refused_whole(
    fhir: httpx.AsyncClient, scene: Scene, entry: Any, status: int
) -> None:
    good = post_entry(patient(family=scene.marker))
    response = await fhir.post("", json=bundle("transaction", good, entry))
    assert_outcome(response, status)
    assert await traces(fhir, "Patient", scene.marker) == 0


async def test_given_transaction_with_stale_if_match_when_posted_then_412_and_nothing_written(
    fhir: httpx.AsyncClient, scene: Scene
) -> None:
    update = {
        "resource": {**patient(family=scene.marker), "id": scene.existing_id},
        "request": {"method": "PUT", "url": scene.existing, "ifMatch": 'W/"7"'},
    }
    good = post_entry(patient(family=scene.marker))
    response = await fhir.post("", json=bundle("transaction", good, update))
    assert_outcome(response, 412)
    assert await traces(fhir, "Patient", scene.marker) == 0
    await assert_untouched(fhir, scene.existing)


async def test_given_batch_with_bad_entries_when_posted_then_each_answered_on_its_own(
    fhir: httpx.AsyncClient, scene: Scene
) -> None:
    entries = [
        post_entry(patient(family=scene.marker)),
        post_entry({**patient(family=scene.marker), "birthDate": "not-a-date"}),
        {"request": {"method": "GET", "url": "Patient/never-existed-x"}},
        {"request": {"method": "DELETE", "url": "Patient/never-existed-x"}},
    ]
    response = await fhir.post("", json=bundle("batch", *entries))
    assert response.status_code == 200, response.text
    answers = [e["response"] for e in response.json()["entry"]]
    assert [a["status"].split()[0] for a in answers] == ["201", "422", "404", "404"]
    for answer in answers[1:]:
        outcome = answer["outcome"]
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["severity"] == "error"
        assert outcome["issue"][0]["diagnostics"]
    assert await traces(fhir, "Patient", scene.marker) == 1  # only the good entry


# ---------------------------------------------------------------------------------------------
# Ids and types in the URL


BAD_IDS = ["bad id!", "a" * 65, "under_score", "semi;colon"]


def _id_calls(bad_id: str) -> list[tuple[str, str, bytes, str]]:
    body = dumps({**patient(), "id": bad_id})
    return [
        ("GET", f"Patient/{bad_id}", b"", FHIR_JSON),
        ("GET", f"Patient/{bad_id}/_history/1", b"", FHIR_JSON),
        ("GET", f"Patient/{bad_id}/_history", b"", FHIR_JSON),
        ("PUT", f"Patient/{bad_id}", body, FHIR_JSON),
        (
            "PATCH",
            f"Patient/{bad_id}",
            b'[{"op": "add", "path": "/active", "value": true}]',
            JSON_PATCH,
        ),
        ("DELETE", f"Patient/{bad_id}", b"", FHIR_JSON),
        ("POST", f"Patient/{bad_id}/$validate", body, FHIR_JSON),
    ]


@pytest.mark.parametrize(
    "bad_id", BAD_IDS, ids=["space and bang", "65 chars", "underscore", "semicolon"]
)
async def test_given_invalid_id_in_url_when_called_then_400(
    fhir: httpx.AsyncClient, bad_id: str
) -> None:
    for method, path, body, content_type in _id_calls(bad_id):
        response = await fhir.request(
            method, path, content=body, headers={"Content-Type": content_type}
        )
        assert_outcome(response, 400, mentions="id")


async def test_given_64_char_id_when_put_then_accepted(fhir: httpx.AsyncClient) -> None:
    rid = unique().ljust(64, "x")
    response = await fhir.put(f"Patient/{rid}", json={**patient(), "id": rid})
    assert response.status_code == 201, response.text


UNKNOWN_TYPE_CALLS = [
    ("GET", "Spaceship"),
    ("GET", "Spaceship/1"),
    ("GET", "Spaceship/1/_history/1"),
    ("GET", "Spaceship/1/_history"),
    ("GET", "Spaceship/_history"),
    ("POST", "Spaceship"),
    ("POST", "Spaceship/_search"),
    ("POST", "Spaceship/$validate"),
    ("POST", "Spaceship/1/$validate"),
    ("PUT", "Spaceship/1"),
    ("PUT", "Spaceship?name=x"),
    ("PATCH", "Spaceship/1"),
    ("DELETE", "Spaceship/1"),
    ("DELETE", "Spaceship?name=x"),
    ("GET", "patient/1"),
    ("GET", "Resource/1"),
    ("GET", "DomainResource"),
]


@pytest.mark.parametrize(("method", "path"), UNKNOWN_TYPE_CALLS)
async def test_given_unknown_resource_type_in_url_when_called_then_404(
    fhir: httpx.AsyncClient, method: str, path: str
) -> None:
    body = b'{"resourceType": "Spaceship", "id": "1"}'
    response = await fhir.request(method, path, content=body)
    assert_outcome(response, 404)


@pytest.mark.parametrize("body_id", ["some-other-id", None])
async def test_given_body_id_not_the_urls_when_put_then_400_and_nothing_written(
    fhir: httpx.AsyncClient, scene: Scene, body_id: str | None
) -> None:
    body = patient(family=scene.marker)
    if body_id is not None:
        body["id"] = body_id
    response = await fhir.put(scene.existing, json=body)
    assert_outcome(response, 400, expression="Patient.id")
    await assert_nothing_written(fhir, scene)
    assert (await fhir.get("Patient/some-other-id")).status_code == 404


async def test_given_patch_changing_id_or_type_when_sent_then_refused(
    fhir: httpx.AsyncClient, scene: Scene
) -> None:
    for operation in (
        {"op": "replace", "path": "/id", "value": "elsewhere"},
        {"op": "replace", "path": "/resourceType", "value": "Group"},
    ):
        response = await send(fhir, good_call("patch", scene), body=dumps([operation]))
        assert response.status_code in (400, 422), response.text
        assert_outcome(response, response.status_code)
    await assert_untouched(fhir, scene.existing)


# ---------------------------------------------------------------------------------------------
# Bodies over the limit: 413, whether the size is declared or only found while streaming


def _oversized(call: Call, scene: Scene) -> bytes:
    """The call's body, grown past the limit while staying a well-formed request."""
    padding = "x" * (LIMIT + 1024)
    if call.content_type == FORM:
        return f"family={scene.marker}&name={padding}".encode()
    text = {
        "status": "generated",
        "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{padding}</div>',
    }
    if call.content_type == JSON_PATCH:
        return dumps([{"op": "add", "path": "/text", "value": text}])
    value = json.loads(call.body)
    if value["resourceType"] == "Bundle":
        value["entry"][0]["resource"]["text"] = text
    else:
        value["text"] = text
    return dumps(value)


async def _chunked(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS)
async def test_given_body_over_limit_when_sent_then_413_and_nothing_written(
    fhir: httpx.AsyncClient, scene: Scene, endpoint: str, streamed: bool
) -> None:
    call = good_call(endpoint, scene)
    data = _oversized(call, scene)
    assert len(data) > LIMIT
    response = await send(fhir, call, body=_chunked(data) if streamed else data)
    assert_outcome(response, 413, code="too-costly")
    await assert_nothing_written(fhir, scene)


# ---------------------------------------------------------------------------------------------
# Search and history parameters


SEARCHES: list[tuple[str, str]] = [("GET", "Patient"), ("POST", "Patient/_search"), ("GET", "")]


async def _search(
    fhir: httpx.AsyncClient,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    if method == "POST":
        sent = {"Content-Type": FORM, **(headers or {})}
        return await fhir.post(path, content=query.encode(), headers=sent)
    return await fhir.get(f"{path}?{query}", headers=headers)


@pytest.mark.parametrize(("method", "path"), SEARCHES, ids=["type", "type by POST", "system"])
async def test_given_unknown_parameter_with_strict_handling_when_searched_then_400(
    fhir: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await _search(fhir, method, path, "shoe-size=9", STRICT)
    assert_outcome(response, 400, mentions="shoe-size")


@pytest.mark.parametrize(("method", "path"), SEARCHES[:2], ids=["type", "type by POST"])
async def test_given_unknown_parameter_with_lenient_handling_when_searched_then_warned(
    fhir: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await _search(fhir, method, path, "shoe-size=9&_count=1")
    assert response.status_code == 200, response.text
    outcomes = [e for e in response.json()["entry"] if e["search"]["mode"] == "outcome"]
    assert outcomes and outcomes[0]["resource"]["issue"][0]["severity"] == "warning"


BAD_QUERIES = {
    "birthdate not a date": "birthdate=not-a-date",
    "impossible date": "birthdate=2024-13-45",
    "lastUpdated not a date": "_lastUpdated=gt-yesterday",
    "count a word": "_count=ten",
    "count negative": "_count=-1",
    "count fraction": "_count=1.5",
    "unknown modifier": "name:sounds-like=Smith",
    "bad sort": "_sort=shoe-size",
    "bad summary": "_summary=maybe",
}


@pytest.mark.parametrize(("method", "path"), SEARCHES[:2], ids=["type", "type by POST"])
@pytest.mark.parametrize("problem", list(BAD_QUERIES))
async def test_given_bad_search_value_when_searched_then_400(
    fhir: httpx.AsyncClient, method: str, path: str, problem: str
) -> None:
    assert_outcome(await _search(fhir, method, path, BAD_QUERIES[problem]), 400)


@pytest.mark.parametrize("path", ["_history", "Patient/_history", "{existing}/_history"])
@pytest.mark.parametrize(
    "query", ["_count=ten", "_count=-1", "_since=yesterday", "_since=2024-13-01", "shoe-size=9"]
)
async def test_given_bad_history_parameter_when_read_then_400(
    fhir: httpx.AsyncClient, scene: Scene, path: str, query: str
) -> None:
    response = await fhir.get(f"{path.format(existing=scene.existing)}?{query}")
    assert_outcome(response, 400)


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"If-None-Exist": "shoe-size=9"}, "unknown parameter"),
        ({"If-None-Exist": "birthdate=not-a-date"}, "bad date"),
    ],
)
async def test_given_bad_if_none_exist_when_created_then_400_and_nothing_written(
    fhir: httpx.AsyncClient, scene: Scene, headers: dict[str, str], problem: str
) -> None:
    response = await send(fhir, good_call("create", scene), headers=headers)
    assert_outcome(response, 400)
    await assert_nothing_written(fhir, scene)


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
@pytest.mark.parametrize("query", ["", "?shoe-size=9", "?birthdate=not-a-date"])
async def test_given_bad_condition_when_conditional_write_then_400_and_nothing_written(
    fhir: httpx.AsyncClient, scene: Scene, method: str, query: str
) -> None:
    body = dumps(patient(family=scene.marker)) if method == "PUT" else b""
    response = await fhir.request(method, f"Patient{query}", content=body)
    assert_outcome(response, 400)
    await assert_nothing_written(fhir, scene)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_given_condition_matching_several_when_conditional_write_then_412(
    fhir: httpx.AsyncClient, scene: Scene, method: str
) -> None:
    shared = unique("Twin")
    twins = [await create(fhir, patient(family=shared)) for _ in range(2)]
    body = dumps(patient(family=scene.marker))
    if method == "POST":
        response = await fhir.post(
            "Patient", content=body, headers={"If-None-Exist": f"family={shared}"}
        )
    else:
        response = await fhir.request(method, f"Patient?family={shared}", content=body)
    assert_outcome(response, 412)
    assert await traces(fhir, "Patient", scene.marker) == 0
    for twin in twins:
        await assert_untouched(fhir, f"Patient/{twin['id']}")


# ---------------------------------------------------------------------------------------------
# Content types and formats


WRONG_CONTENT_TYPES = ["text/plain", "application/xml", "application/fhir+xml"]


@pytest.mark.parametrize("content_type", WRONG_CONTENT_TYPES)
@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS)
async def test_given_wrong_content_type_when_sent_then_415_and_nothing_written(
    fhir: httpx.AsyncClient, scene: Scene, endpoint: str, content_type: str
) -> None:
    response = await send(fhir, good_call(endpoint, scene), content_type=content_type)
    assert_outcome(response, 415, mentions=content_type)
    await assert_nothing_written(fhir, scene)


@pytest.mark.parametrize(
    ("endpoint", "content_type"),
    [("patch", FHIR_JSON), ("patch", "application/json"), ("search by POST", FHIR_JSON)],
)
async def test_given_fhir_json_where_another_type_is_needed_when_sent_then_415(
    fhir: httpx.AsyncClient, scene: Scene, endpoint: str, content_type: str
) -> None:
    response = await send(fhir, good_call(endpoint, scene), content_type=content_type)
    assert_outcome(response, 415)
    await assert_untouched(fhir, scene.existing)


async def test_given_no_content_type_when_created_then_415(
    fhir: httpx.AsyncClient, scene: Scene
) -> None:
    call = good_call("create", scene)
    response = await fhir.post("Patient", content=call.body, headers={"Content-Type": ""})
    assert_outcome(response, 415)
    await assert_nothing_written(fhir, scene)


XML_ASKS = [
    ({"Accept": "application/fhir+xml"}, ""),
    ({"Accept": "application/xml"}, ""),
    ({"Accept": "text/html"}, ""),
    ({}, "_format=xml"),
    ({}, "_format=application/fhir+xml"),
]
XML_IDS = ["accept fhir+xml", "accept xml", "accept html", "_format=xml", "_format=fhir+xml"]


@pytest.mark.parametrize(("headers", "query"), XML_ASKS, ids=XML_IDS)
@pytest.mark.parametrize(
    "path",
    [
        "metadata",
        "{existing}",
        "{existing}/_history/1",
        "Patient",
        "{existing}/_history",
        "_history",
    ],
)
async def test_given_xml_wanted_when_read_then_406(
    fhir: httpx.AsyncClient, scene: Scene, path: str, headers: dict[str, str], query: str
) -> None:
    url = path.format(existing=scene.existing) + (f"?{query}" if query else "")
    assert_outcome(await fhir.get(url, headers=headers), 406)


@pytest.mark.parametrize(
    ("headers", "query"), XML_ASKS[:1] + XML_ASKS[3:4], ids=XML_IDS[:1] + XML_IDS[3:4]
)
@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS)
async def test_given_xml_wanted_when_written_then_406_and_nothing_written(
    fhir: httpx.AsyncClient, scene: Scene, endpoint: str, headers: dict[str, str], query: str
) -> None:
    call = good_call(endpoint, scene)
    separator = "&" if "?" in call.path else "?"
    path = call.path + (f"{separator}{query}" if query else "")
    moved = Call(call.method, path, call.body, call.content_type, call.headers)
    assert_outcome(await send(fhir, moved, headers=headers), 406)
    await assert_nothing_written(fhir, scene)


# ---------------------------------------------------------------------------------------------
# Methods the record does not offer: 405 (or 404 where the path means nothing for it)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "metadata"),
        ("POST", "metadata"),
        ("PUT", "metadata"),
        ("PATCH", "Patient"),
        ("POST", "{existing}"),
        ("DELETE", ""),
        ("PUT", ""),
        ("PUT", "{existing}/_history/1"),
        ("DELETE", "{existing}/_history/1"),
        ("POST", "Patient/_history"),
        ("OPTIONS", "Patient"),
    ],
)
async def test_given_method_not_offered_when_called_then_405_or_404_outcome(
    fhir: httpx.AsyncClient, scene: Scene, method: str, path: str
) -> None:
    response = await fhir.request(method, path.format(existing=scene.existing), content=b"{}")
    assert response.status_code in (404, 405), response.text
    assert_outcome(response, response.status_code)
    await assert_untouched(fhir, scene.existing)


# ---------------------------------------------------------------------------------------------
# Versions: If-Match, deleted and never-existing resources


@pytest.mark.parametrize("endpoint", ["update", "patch", "conditional update"])
@pytest.mark.parametrize(
    ("if_match", "status"),
    [('W/"7"', 412), ('"0"', 412), ("banana", 400), ('W/"one"', 400), ("", 400)],
    ids=["stale weak", "stale strong", "garbage", "not a number", "empty"],
)
async def test_given_bad_if_match_when_written_then_refused_and_nothing_written(
    fhir: httpx.AsyncClient, scene: Scene, endpoint: str, if_match: str, status: int
) -> None:
    call = good_call(endpoint, scene)
    if endpoint == "conditional update":  # make the condition match the existing Patient
        call = Call("PUT", f"Patient?_id={scene.existing_id}", call.body)
    response = await send(fhir, call, headers={"If-Match": if_match})
    assert_outcome(response, status)
    await assert_nothing_written(fhir, scene)


async def test_given_stale_if_match_when_patch_fits_only_another_version_then_412(
    fhir: httpx.AsyncClient, scene: Scene
) -> None:
    """The version is checked before the patch meets the resource: a patch written against
    another version is refused as stale (412), not as inapplicable (422)."""
    operations = [{"op": "remove", "path": "/deceasedBoolean"}]  # not in the current version
    call = good_call("patch", scene)
    response = await send(fhir, call, body=dumps(operations), headers={"If-Match": 'W/"7"'})
    assert_outcome(response, 412)
    await assert_untouched(fhir, scene.existing)


async def test_given_current_if_match_when_updated_then_accepted(
    fhir: httpx.AsyncClient, scene: Scene
) -> None:
    scene = await own_scene(fhir, scene)
    response = await send(fhir, good_call("update", scene), headers={"If-Match": 'W/"1"'})
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == 'W/"2"'


async def test_given_deleted_resource_when_read_then_410_and_history_kept(
    fhir: httpx.AsyncClient, scene: Scene
) -> None:
    scene = await own_scene(fhir, scene)
    assert (await fhir.delete(scene.existing)).status_code in (200, 204)
    assert_outcome(await fhir.get(scene.existing), 410, code="deleted")
    assert_outcome(await fhir.get(f"{scene.existing}/_history/2"), 410)
    assert (await fhir.get(f"{scene.existing}/_history/1")).status_code == 200
    assert (await fhir.get(f"{scene.existing}/_history")).status_code == 200
    patch = good_call("patch", scene)
    assert_outcome(await send(fhir, patch), 410)
    found = await fhir.get("Patient", params={"_id": scene.existing_id})
    assert "entry" not in found.json()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "Patient/{missing}", 404),
        ("GET", "Patient/{missing}/_history/1", 404),
        ("GET", "Patient/{missing}/_history", 404),
        ("GET", "{existing}/_history/2", 404),
        ("GET", "{existing}/_history/latest", 400),
        ("DELETE", "Patient/{missing}", 404),
        ("PATCH", "Patient/{missing}", 404),
    ],
)
async def test_given_missing_resource_or_version_when_asked_then_refused(
    fhir: httpx.AsyncClient, scene: Scene, method: str, path: str, status: int
) -> None:
    url = path.format(existing=scene.existing, missing=unique("never-"))
    if method == "PATCH":
        operations = b'[{"op": "add", "path": "/active", "value": true}]'
        response = await fhir.patch(url, content=operations, headers={"Content-Type": JSON_PATCH})
    else:
        response = await fhir.request(method, url)
    assert_outcome(response, status)


async def test_given_if_match_on_put_to_new_id_when_updated_then_refused(
    fhir: httpx.AsyncClient,
) -> None:
    rid = unique("new-")
    response = await fhir.put(
        f"Patient/{rid}", json={**patient(), "id": rid}, headers={"If-Match": 'W/"1"'}
    )
    assert response.status_code in (404, 412), response.text
    assert_outcome(response, response.status_code)
    assert (await fhir.get(f"Patient/{rid}")).status_code == 404
