"""The Patient side of a merge: which record replaces which (``Patient.link``), which stays
active, and what makes two records fit to be merged."""

from __future__ import annotations

from typing import Any

from shared.errors import FhirError, unprocessable
from shared.fhir.fhirpath_types import parse_reference

REPLACED_BY = "replaced-by"
REPLACES = "replaces"

Patient = dict[str, Any]


def linked_ids(patient: Patient, link_type: str) -> list[str]:
    """The ids of the patients this record's links of ``link_type`` name."""
    named = (_names(link, link_type) for link in patient.get("link") or [])
    return [patient_id for patient_id in named if patient_id is not None]


def replaced_by(patient: Patient) -> str | None:
    """The id of the record this one was merged into, if it was."""
    survivors = linked_ids(patient, REPLACED_BY)
    return survivors[0] if survivors else None


def _names(link: Any, link_type: str) -> str | None:
    """The id of the Patient a link of ``link_type`` points at; None for other links."""
    if not isinstance(link, dict) or link.get("type") != link_type:
        return None
    other = link.get("other")
    reference = other.get("reference") if isinstance(other, dict) else None
    parsed = parse_reference(reference) if isinstance(reference, str) else None
    return parsed[1] if parsed and parsed[0] == "Patient" else None


def _link(patient_id: str, link_type: str) -> dict[str, Any]:
    return {"other": {"reference": f"Patient/{patient_id}"}, "type": link_type}


def check_mergeable(source: Patient, target: Patient) -> None:
    """422 unless ``source`` may be merged into ``target``."""
    source_id, target_id = source["id"], target["id"]
    if source_id == target_id:
        raise _refused(f"The source and the target are the same record, Patient/{source_id}")
    if survivor := replaced_by(source):
        raise _refused(f"Patient/{source_id} was already merged into Patient/{survivor}")
    if survivor := replaced_by(target):
        raise _refused(
            f"The target Patient/{target_id} was itself merged into Patient/{survivor}: "
            f"merge into Patient/{survivor} instead"
        )
    if target.get("active") is False:
        raise _refused(
            f"The target Patient/{target_id} is inactive: the record that survives a merge "
            "must be active"
        )


def check_result_patient(
    result: Patient, *, target_id: str, source_id: str, identifiers: list[tuple[str | None, str]]
) -> None:
    """422 unless ``result-patient`` is the target as it should be after the merge."""
    if result.get("id") != target_id:
        raise _refused(f"result-patient must keep the target's id, {target_id!r}")
    if source_id not in linked_ids(result, REPLACES):
        raise _refused(f"result-patient must keep a link of type 'replaces' to Patient/{source_id}")
    if result.get("active") is False:
        raise _refused("result-patient must not be inactive: it is the record that survives")
    for system, value in identifiers:
        if not has_identifier(result, system, value):
            raise _refused(f"result-patient has lost the target's identifier {value!r}")


def has_identifier(patient: Patient, system: str | None, value: str) -> bool:
    """Whether the patient carries the identifier (any system when ``system`` is None)."""
    return any(
        isinstance(held, dict)
        and held.get("value") == value
        and (system is None or held.get("system") == system)
        for held in patient.get("identifier") or []
    )


def merged_source(source: Patient, target_id: str) -> Patient:
    """The source after the merge: inactive, replaced by the target."""
    links = [*(source.get("link") or []), _link(target_id, REPLACED_BY)]
    return {**source, "active": False, "link": links}


def merged_target(target: Patient, source_id: str) -> Patient:
    """The target after the merge (without a result-patient): it replaces the source."""
    if source_id in linked_ids(target, REPLACES):
        return target
    return {**target, "link": [*(target.get("link") or []), _link(source_id, REPLACES)]}


def unmerged_source(current: Patient, before_merge: Patient, target_id: str) -> Patient:
    """The source after an un-merge: active as it was before the merge, no longer replaced
    by the target; its other links kept."""
    restored = {key: value for key, value in current.items() if key not in ("active", "link")}
    if "active" in before_merge:
        restored["active"] = before_merge["active"]
    return _with_links(restored, current, REPLACED_BY, target_id)


def unmerged_target(current: Patient, source_id: str) -> Patient:
    """The target after an un-merge: it no longer replaces the source."""
    kept = {key: value for key, value in current.items() if key != "link"}
    return _with_links(kept, current, REPLACES, source_id)


def _with_links(patient: Patient, current: Patient, link_type: str, other_id: str) -> Patient:
    links = [link for link in current.get("link") or [] if _names(link, link_type) != other_id]
    return {**patient, "link": links} if links else patient


def _refused(diagnostics: str) -> FhirError:
    return unprocessable(diagnostics, code="business-rule")
