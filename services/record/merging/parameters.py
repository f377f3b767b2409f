"""The Parameters of ``Patient/$merge`` and ``Patient/$unmerge``: read, checked (400 naming
what is wrong), and the answer built."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from shared.errors import FhirError, bad_request

# (system or None, value): how the caller may name a patient by identifier.
IdentifierValue = tuple[str | None, str]

_PATIENT = re.compile(r"^Patient/([A-Za-z0-9\-.]{1,64})$")

# Each parameter's name and the element its value must be in; repeatable ones marked.
_MERGE = {
    "source-patient": "valueReference",
    "source-patient-identifier": "valueIdentifier",
    "target-patient": "valueReference",
    "target-patient-identifier": "valueIdentifier",
    "result-patient": "resource",
    "preview": "valueBoolean",
}
_UNMERGE = {
    "source-patient": "valueReference",
    "target-patient": "valueReference",
    "preview": "valueBoolean",
}
_REPEATABLE = frozenset({"source-patient-identifier", "target-patient-identifier"})


@dataclass(frozen=True, slots=True)
class PatientChoice:
    """How the caller names the source or the target: by reference, by identifiers, or both
    (then the referenced record must carry every identifier)."""

    role: str  # "source" or "target"
    patient_id: str | None
    identifiers: tuple[IdentifierValue, ...]


@dataclass(frozen=True, slots=True)
class MergeRequest:
    source: PatientChoice
    target: PatientChoice
    result_patient: dict[str, Any] | None
    preview: bool


@dataclass(frozen=True, slots=True)
class UnmergeRequest:
    source_id: str
    target_id: str
    preview: bool


def merge_request(body: Any, base_url: str) -> MergeRequest:
    """The $merge parameters, or 400 naming what is wrong."""
    values = _values(body, "$merge", _MERGE)
    result = _first(values, "result-patient")
    if result is not None and (
        not isinstance(result, dict) or result.get("resourceType") != "Patient"
    ):
        raise bad_request("result-patient must hold a Patient resource")
    return MergeRequest(
        source=_choice(values, "source", base_url),
        target=_choice(values, "target", base_url),
        result_patient=result,
        preview=_preview(values),
    )


def unmerge_request(body: Any, base_url: str) -> UnmergeRequest:
    """The $unmerge parameters, or 400 naming what is wrong."""
    values = _values(body, "$unmerge", _UNMERGE)
    ids = {}
    for role in ("source", "target"):
        reference = _first(values, f"{role}-patient")
        if reference is None:
            raise _missing(f"{role}-patient", "a reference to the Patient")
        patient_id, _ = _reference(reference, f"{role}-patient", base_url)
        if patient_id is None:
            raise bad_request(f"{role}-patient must be a literal reference, Patient/{{id}}")
        ids[role] = patient_id
    return UnmergeRequest(ids["source"], ids["target"], _preview(values))


def _values(body: Any, operation: str, known: dict[str, str]) -> dict[str, list[Any]]:
    """Each parameter's values, by name; 400 for anything that is not one of ``known``."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise bad_request(f"Patient/{operation} takes a Parameters resource")
    parameters = body.get("parameter") or []
    if not isinstance(parameters, list):
        raise bad_request("Parameters.parameter must be a list of parameters")
    values: dict[str, list[Any]] = {}
    for position, parameter in enumerate(parameters):
        where = [f"Parameters.parameter[{position}]"]
        name = parameter.get("name") if isinstance(parameter, dict) else None
        if name not in known:
            listed = ", ".join(known)
            raise bad_request(f"{operation} takes {listed}; not {name!r}", expression=where)
        if name in values and name not in _REPEATABLE:
            raise bad_request(f"The parameter {name!r} is given twice", expression=where)
        if known[name] not in parameter:
            raise bad_request(f"{name} must be given as {known[name]}", expression=where)
        values.setdefault(name, []).append(parameter[known[name]])
    return values


def _first(values: dict[str, list[Any]], name: str) -> Any:
    return values.get(name, [None])[0]


def _choice(values: dict[str, list[Any]], role: str, base_url: str) -> PatientChoice:
    identifiers = [_identifier(v, role) for v in values.get(f"{role}-patient-identifier", [])]
    reference = _first(values, f"{role}-patient")
    patient_id = None
    if reference is not None:
        patient_id, by_identifier = _reference(reference, f"{role}-patient", base_url)
        identifiers += by_identifier
    if patient_id is None and not identifiers:
        raise _missing(f"{role}-patient", f"or {role}-patient-identifier")
    return PatientChoice(role, patient_id, tuple(identifiers))


def _reference(
    reference: Any, name: str, base_url: str
) -> tuple[str | None, list[IdentifierValue]]:
    """The id a valueReference names (``Patient/{id}``, relative or under this server's
    base), and the identifier it carries, if any."""
    if not isinstance(reference, dict):
        raise bad_request(f"{name} must be a Reference")
    identifiers = [_identifier(reference["identifier"], name)] if "identifier" in reference else []
    text = reference.get("reference")
    if text is None:
        if not identifiers:
            raise bad_request(f"{name} must have a reference (Patient/{{id}}) or an identifier")
        return None, identifiers
    base = base_url.rstrip("/") + "/"
    local = text[len(base) :] if isinstance(text, str) and text.startswith(base) else text
    match = _PATIENT.match(local) if isinstance(local, str) else None
    if match is None:
        raise bad_request(
            f"{name} must refer to a Patient in this record as Patient/{{id}}, not {text!r}"
        )
    return match.group(1), identifiers


def _identifier(value: Any, name: str) -> IdentifierValue:
    if not isinstance(value, dict) or not isinstance(value.get("value"), str) or not value["value"]:
        raise bad_request(f"{name}: an Identifier needs a value (and should have a system)")
    system = value.get("system")
    if system is not None and not isinstance(system, str):
        raise bad_request(f"{name}: Identifier.system must be a URI")
    return system, value["value"]


def _preview(values: dict[str, list[Any]]) -> bool:
    preview = _first(values, "preview")
    if preview is None:
        return False
    if not isinstance(preview, bool):
        raise bad_request("preview must be a valueBoolean (true or false)")
    return preview


def _missing(name: str, what: str) -> FhirError:
    return bad_request(f"The parameter {name!r} ({what}) is required", code="required")


# --- The answer ----------------------------------------------------------------------------


def answer(asked: dict[str, Any], outcome: dict[str, Any], **resources: Any) -> dict[str, Any]:
    """The operation's Parameters: what was asked, what was (or would be) done, and the
    resources named by the keywords (``result``, ``source``)."""
    given = [{"name": "input", "resource": asked}, {"name": "outcome", "resource": outcome}]
    given += [{"name": name, "resource": value} for name, value in resources.items()]
    return {"resourceType": "Parameters", "parameter": given}


def outcome(summary: str, moved: Counter[str]) -> dict[str, Any]:
    """An OperationOutcome: the summary, then how many resources of each type it concerned."""
    issues = [{"severity": "information", "code": "informational", "diagnostics": summary}]
    issues += [
        {
            "severity": "information",
            "code": "informational",
            "diagnostics": f"{resource_type}: {count}",
        }
        for resource_type, count in sorted(moved.items())
    ]
    return {"resourceType": "OperationOutcome", "issue": issues}
