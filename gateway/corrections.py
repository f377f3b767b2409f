"""A resident's request to correct their record: a Task addressed to whoever owns the fact.

Residents cannot change what professionals recorded, but they can say it is wrong. A Task a
resident creates must be such a request: ``code`` = change (FHIR task-code), ``focus`` = the
resource in their own record that is wrong, and a ``description`` or note saying what is
wrong. The gateway completes it: ``for`` and ``requester`` are the resident, ``status`` is
requested, ``intent`` proposal, and ``owner`` is the record owner: the organisation the
latest Provenance of the fact names (who recorded it, for whom), else the organisation the
fact itself names, else the person's GP practice. The owner then sees the request in its
work queue, and the legitimate relationship it gives lets them open the record to act on it.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.call import Call, GatewayState
from gateway.compartment import patients_of
from gateway.guards import forbidden
from shared.errors import FhirError, bad_request, unprocessable

TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code"
_OWNING_FIELDS = (
    "managingOrganization",
    "performer",
    "recorder",
    "asserter",
    "author",
    "requester",
    "organization",
)


async def addressed(state: GatewayState, call: Call, body: bytes) -> bytes:
    """The resident's correction request, checked and addressed to the record owner."""
    task = _parse(body)
    patient_id = call.principal.patient
    assert patient_id is not None
    focus = await _focus(state, task, patient_id)
    owner = await record_owner(state, focus, patient_id)
    mine = {"reference": f"Patient/{patient_id}"}
    completed = {
        **task,
        "status": "requested",
        "intent": "proposal",
        "for": mine,
        "requester": mine,
        "owner": {"reference": owner},
    }
    return orjson.dumps(completed)


async def record_owner(state: GatewayState, fact: dict[str, Any], patient_id: str) -> str:
    """The organisation that answers for ``fact``: see the module's docstring."""
    target = f"{fact['resourceType']}/{fact['id']}"
    provenances = await state.record.search(
        "Provenance", [("target", target), ("_sort", "-recorded"), ("_count", "1")]
    )
    for provenance in provenances:
        for agent in provenance.get("agent") or []:
            organisation = _organisation(agent.get("onBehalfOf"))
            if organisation:
                return organisation
    for name in _OWNING_FIELDS:
        value = fact.get(name)
        for item in value if isinstance(value, list) else [value]:
            organisation = _organisation(item)
            if organisation:
                return organisation
    patients = await state.record.search("Patient", [("_id", patient_id)])
    for practice in (patients[0].get("generalPractitioner") or []) if patients else []:
        organisation = _organisation(practice)
        if organisation:
            return organisation
    raise unprocessable(
        f"Nobody is known to own {target}: it names no organisation and you have no GP "
        "practice on record. Ask your GP practice to correct it."
    )


def _parse(body: bytes) -> dict[str, Any]:
    try:
        task = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise bad_request(f"The body is not valid JSON: {error}") from error
    if not isinstance(task, dict) or task.get("resourceType") != "Task":
        raise bad_request("The body must be a Task")
    codings = (task.get("code") or {}).get("coding") or []
    if not any(c.get("system") == TASK_CODE and c.get("code") == "change" for c in codings):
        raise forbidden(
            "A resident's Task is a request to correct their record: code "
            f"{TASK_CODE}|change, with focus = what is wrong and a description of the correction"
        )
    if not (task.get("description") or task.get("note")):
        raise unprocessable(
            "Say what is wrong and what it should say, in description or note",
            expression=["Task.description"],
        )
    return task


async def _focus(state: GatewayState, task: dict[str, Any], patient_id: str) -> dict[str, Any]:
    reference = (task.get("focus") or {}).get("reference")
    if not isinstance(reference, str) or reference.count("/") != 1:
        raise unprocessable(
            "focus must refer to the resource in your record that is wrong (Type/id)",
            expression=["Task.focus"],
        )
    resource_type, resource_id = reference.split("/")
    try:
        found = await state.record.search(resource_type, [("_id", resource_id)])
    except FhirError as error:
        raise unprocessable(f"focus {reference} is not a resource of the record") from error
    if not found:
        raise unprocessable(f"focus {reference} does not exist", expression=["Task.focus"])
    fact = found[0]
    if resource_type != "Patient" and patients_of(fact) != {patient_id}:
        raise forbidden("A correction request can only be about your own record")
    if resource_type == "Patient" and resource_id != patient_id:
        raise forbidden("A correction request can only be about your own record")
    return fact


def _organisation(value: Any) -> str | None:
    reference = value.get("reference") if isinstance(value, dict) else None
    if isinstance(reference, str) and reference.startswith("Organization/"):
        return reference
    return None
