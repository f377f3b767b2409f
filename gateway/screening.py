"""Checking what a service answered against the caller's rights before it leaves."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from gateway import forwarding
from gateway.call import Call
from gateway.compartment import patients_of
from gateway.guards import forbidden


async def screen(call: Call, answer: Any) -> Response:
    """Check what the service answered against the caller's rights before it leaves."""
    body = forwarding.json_body(answer)
    if not isinstance(body, dict) or answer.status_code >= 400:
        return forwarding.as_response(answer)
    if body.get("resourceType") == "Bundle" and not call.interaction.writes:
        return forwarding.replace_body(answer, await _screen_bundle(call, body))
    resource_type = body.get("resourceType", "")
    if call.interaction.writes or resource_type == "OperationOutcome":
        note_resource(call, body)
        return forwarding.as_response(answer)
    patients = patients_of(body)
    call.audit.patients |= patients
    note_resource(call, body)
    await call.guard.check_patients(patients, resource_type)
    if not await call.guard.visible(body):
        raise forbidden("This person's consent withholds this record from you")
    return forwarding.as_response(answer)


async def _screen_bundle(call: Call, bundle: dict[str, Any]) -> dict[str, Any]:
    kept, withheld = [], 0
    for entry in bundle.get("entry", []):
        resource = entry.get("resource")
        if not isinstance(resource, dict) or resource.get("resourceType") == "OperationOutcome":
            kept.append(entry)
            continue
        call.audit.patients |= patients_of(resource)
        if await call.guard.visible(resource):
            kept.append(entry)
            note_resource(call, resource)
        else:
            withheld += 1
    if withheld:
        kept.append(
            {
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {
                            "severity": "information",
                            "code": "suppressed",
                            "diagnostics": f"{withheld} resource(s) withheld by consent or "
                            "access rules",
                        }
                    ],
                },
                "search": {"mode": "outcome"},
            }
        )
    screened = {**bundle, "entry": kept}
    if withheld:
        screened.pop("total", None)  # it would count what the caller may not know exists
    if not kept:
        screened.pop("entry")
    return screened


def note_resource(call: Call, resource: dict[str, Any]) -> None:
    if resource.get("id") and resource.get("resourceType"):
        call.audit.resources.append(f"{resource['resourceType']}/{resource['id']}")
