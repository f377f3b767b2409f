"""Transaction and batch Bundles through the gateway: each entry needs its own scope and
passes the same rules as a single request; the Provenance is added as one more entry."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from gateway import forwarding
from gateway.call import Call, GatewayState, context_of
from gateway.compartment import patients_of
from gateway.guards import forbidden
from gateway.provenance import with_transaction_provenance
from shared.errors import FhirError
from shared.fhir.interactions import classify


async def transaction(
    state: GatewayState, call: Call, route: Any, headers: dict[str, str]
) -> Response:
    """Each entry needs its own scope; residents may not post Bundles."""
    if call.context == "patient":
        raise forbidden("Transaction and batch Bundles are for staff and services")
    body = await call.request.body()
    try:
        bundle = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise FhirError(400, f"The request body is not valid JSON: {error}") from error
    if not isinstance(bundle, dict):
        raise FhirError(400, "POST to the base takes a Bundle of type transaction or batch")
    for entry in bundle.get("entry", []) or []:
        await _check_entry(call, entry)
    provenance = headers.pop("x-provenance", None)
    sent = bundle
    if provenance and bundle.get("type") == "transaction":
        sent = with_transaction_provenance(bundle, orjson.loads(provenance))
    answer = await forwarding.buffered(
        state.upstream, route, call.request, headers, orjson.dumps(sent)
    )
    result = forwarding.json_body(answer)
    if _is_bundle(result):
        call.audit.patients |= _patients_written(bundle, result)
    if _entries(sent) > _entries(bundle) and _is_bundle(result) and answer.status_code < 400:
        result["entry"] = result.get("entry", [])[:-1]  # the Provenance the gateway added
        return forwarding.replace_body(answer, result)
    return forwarding.as_response(answer)


def _patients_written(sent: dict[str, Any], result: dict[str, Any]) -> set[str]:
    """The people whose Patient resources an answer names (a Patient posted with a
    temporary id only gets its own when the record stores it)."""
    written = set()
    for entry, outcome in zip(sent.get("entry") or [], result.get("entry") or [], strict=False):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        location = str(((outcome or {}).get("response") or {}).get("location") or "")
        is_patient = isinstance(resource, dict) and resource.get("resourceType") == "Patient"
        if is_patient and location.startswith("Patient/"):
            written.add(location.split("/")[1])
    return written


def _entries(bundle: dict[str, Any]) -> int:
    return len(bundle.get("entry") or [])


def _is_bundle(body: Any) -> bool:
    return isinstance(body, dict) and body.get("resourceType") == "Bundle"


async def _check_entry(call: Call, entry: Any) -> None:
    request = entry.get("request") if isinstance(entry, dict) else None
    if not isinstance(request, dict) or not isinstance(request.get("url"), str):
        return  # the record refuses malformed entries with a clear 400
    path = request["url"].split("?")[0]
    interaction = classify(str(request.get("method", "")), [s for s in path.split("/") if s])
    if interaction.permission and interaction.resource_type:
        context_of(call.principal, interaction)
    resource = entry.get("resource")
    if isinstance(resource, dict) and interaction.resource_type:
        patients = patients_of(resource)
        call.audit.patients |= patients
        await call.guard.check_patients(patients, interaction.resource_type)
