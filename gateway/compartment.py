"""Whose record a resource belongs to: the Patient compartment, from the specification's
CompartmentDefinition and the same index extraction the record uses."""

from __future__ import annotations

from typing import Any

import orjson

from shared.fhir.extract import extract
from shared.fhir.searchparams import params_for, patient_compartment


def in_compartment_type(resource_type: str) -> bool:
    """Can a resource of this type belong to a patient's record at all?"""
    return resource_type == "Patient" or resource_type in patient_compartment()


def patients_of(resource: dict[str, Any]) -> set[str]:
    """The ids of the patients whose compartment holds ``resource``."""
    resource_type = resource.get("resourceType", "")
    if resource_type == "Patient":
        return {str(resource["id"])} if resource.get("id") else set()
    params = patient_compartment().get(resource_type, ())
    if not params:
        return set()
    return {
        value.target_id
        for value in extract(resource).references
        if value.param in params
        and value.target_type == "Patient"
        and value.url is None
        and value.target_id
    }


# Operations whose Parameters body names the people whose records they read or change.
PATIENT_PARAMETERS: dict[str, tuple[str, ...]] = {
    "$populate": ("subject",),
    "$merge": ("source-patient", "target-patient"),
    "$unmerge": ("source-patient", "target-patient"),
}


def patients_named(body: bytes, names: tuple[str, ...]) -> set[str]:
    """The ids of the Patients a Parameters body names in ``names`` (valueReference);
    nothing when the body is not such a resource (the service answers that with a 400)."""
    try:
        parameters = orjson.loads(body)
    except orjson.JSONDecodeError:
        return set()
    if not isinstance(parameters, dict) or not isinstance(parameters.get("parameter"), list):
        return set()
    found = set()
    for parameter in parameters["parameter"]:
        if isinstance(parameter, dict) and parameter.get("name") in names:
            reference = (parameter.get("valueReference") or {}).get("reference")
            if isinstance(reference, str) and reference.startswith("Patient/"):
                found.add(reference.removeprefix("Patient/"))
    return found


def confining_parameter(resource_type: str, patient_id: str) -> tuple[str, str] | None:
    """The search criterion that keeps a search inside one patient's compartment."""
    if resource_type == "Patient":
        return ("_id", patient_id)
    params = patient_compartment().get(resource_type, ())
    own = params_for(resource_type)
    for name in ("patient", "subject", *params):
        if name in params and name in own:
            target = "" if own[name].targets == ("Patient",) else "Patient/"
            return (name, f"{target}{patient_id}")
    return None
