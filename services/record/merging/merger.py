"""Carrying out a merge inside the caller's transaction: find and lock the two records, write
the target and the source, move every resource that refers to the source, and record it all
in one Provenance. Any failure raises, and the transaction leaves nothing behind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.record.merging.linking import (
    check_mergeable,
    check_result_patient,
    has_identifier,
    merged_source,
    merged_target,
    replaced_by,
)
from services.record.merging.parameters import MergeRequest, PatientChoice
from services.record.merging.provenance import lifecycle_provenance
from services.record.merging.rewriting import Redirect, redirect
from services.record.writes import EVIDENCE_TYPES, RecordWriter
from shared.errors import FhirError, not_found, unprocessable
from shared.fhir.queryparser import parse_search
from shared.fhir.queryvalues import escape
from shared.storage import reads, writes
from shared.storage.rows import StoredResource
from shared.storage.search import search

_CANDIDATES = 10  # identifier look-ups: enough to say "several" and list a few


@dataclass(frozen=True, slots=True)
class Merged:
    source: StoredResource  # the version the merge wrote: inactive, replaced-by the target
    target: StoredResource  # the version the merge wrote: replaces the source
    moved: list[StoredResource]  # the new versions of the resources that referred to the source
    references: int  # how many references now name the target instead


async def merge(writer: RecordWriter, asked: MergeRequest, caller: dict[str, Any]) -> Merged:
    """Merge the source into the target; ``caller`` is the Provenance to extend."""
    source, target = await _patients(writer, asked)
    check_mergeable(source.resource(), target.resource())
    new_target = await _write_target(writer, target, source.id, asked)
    new_source = await _update(writer, merged_source(source.resource(), target.id))
    to = Redirect(source.id, target.id, writer.base_url, new_target.version)
    before, moved, references = await _move_referrers(writer, to)
    await writer.create(
        lifecycle_provenance(
            caller,
            activity="merge",
            written=[new_source, new_target, *moved],
            started_from=[source, target, *before],
        )
    )
    return Merged(new_source, new_target, moved, references)


# --- The two records ---------------------------------------------------------------------


async def _patients(
    writer: RecordWriter, asked: MergeRequest
) -> tuple[StoredResource, StoredResource]:
    """The source and target, locked (in id order, so two merges cannot deadlock)."""
    source_id = await _patient_id(writer, asked.source)
    target_id = await _patient_id(writer, asked.target)
    roles = {target_id: "target", source_id: "source"}
    locked = {pid: await locked_patient(writer, pid, roles[pid]) for pid in sorted(roles)}
    for choice, patient_id in ((asked.source, source_id), (asked.target, target_id)):
        _check_identifiers(locked[patient_id], choice)
    return locked[source_id], locked[target_id]


async def locked_patient(writer: RecordWriter, patient_id: str, role: str) -> StoredResource:
    """The current version of a Patient, locked until the transaction ends; 404 if it never
    existed, 410 if it was deleted."""
    stored = await writes.current_for_update(writer.connection, "Patient", patient_id, lock=True)
    if stored is None:
        raise not_found(f"The {role} patient, Patient/{patient_id}, is not in the record")
    if stored.deleted:
        raise FhirError(
            410, f"The {role} patient, Patient/{patient_id}, was deleted", code="deleted"
        )
    return stored


async def _patient_id(writer: RecordWriter, choice: PatientChoice) -> str:
    """The id the caller named, or the one live record carrying all the identifiers given
    (records already merged into another are left out); 422 for none or several."""
    if choice.patient_id is not None:
        return choice.patient_id
    params = [
        ("identifier", f"{escape(system)}|{escape(value)}" if system else escape(value))
        for system, value in choice.identifiers
    ]
    query = parse_search("Patient", params, strict=True)
    page = await search(writer.connection, query, page_size=_CANDIDATES, base_url=writer.base_url)
    live = [stored for stored in page.matches if replaced_by(stored.resource()) is None]
    named = ", ".join(value for _, value in choice.identifiers)
    if not live:
        raise unprocessable(f"No patient has the {choice.role} identifiers ({named})")
    if len(live) > 1:
        found = ", ".join(stored.reference for stored in live)
        raise unprocessable(
            f"The {choice.role} identifiers ({named}) match {len(live)} patients ({found}): "
            f"name the {choice.role} by reference",
            code="multiple-matches",
        )
    return live[0].id


def _check_identifiers(stored: StoredResource, choice: PatientChoice) -> None:
    patient = stored.resource()
    for system, value in choice.identifiers:
        if not has_identifier(patient, system, value):
            raise unprocessable(
                f"The {choice.role} {stored.reference} does not have the identifier {value!r}"
            )


async def _write_target(
    writer: RecordWriter, target: StoredResource, source_id: str, asked: MergeRequest
) -> StoredResource:
    """The target after the merge: the caller's result-patient (checked, and refused with
    412 if made from an older version of the target), or the target with a replaces link."""
    result = asked.result_patient
    if result is None:
        return await _update(writer, merged_target(target.resource(), source_id))
    check_result_patient(
        result, target_id=target.id, source_id=source_id, identifiers=list(asked.target.identifiers)
    )
    version = (result.get("meta") or {}).get("versionId")
    if_match = str(version) if version is not None else None
    return (await writer.update("Patient", target.id, result, if_match=if_match)).stored


async def _update(writer: RecordWriter, body: dict[str, Any]) -> StoredResource:
    return (await writer.update(body["resourceType"], body["id"], body)).stored


# --- Everything that referred to the source ------------------------------------------------


async def _move_referrers(
    writer: RecordWriter, to: Redirect
) -> tuple[list[StoredResource], list[StoredResource], int]:
    """Each current resource that refers to the source, pointed at the target as a new
    version: (the versions before, the versions written, references changed). Records of
    what happened (Provenance, AuditEvent) keep their references, as do the two patients."""
    found = await reads.referring(
        writer.connection, "Patient", to.source_id, ignoring=EVIDENCE_TYPES
    )
    patients = {("Patient", to.source_id), ("Patient", to.target_id)}
    before: list[StoredResource] = []
    moved: list[StoredResource] = []
    references = 0
    for resource_type, resource_id in found:
        if (resource_type, resource_id) in patients:
            continue
        current = await writes.current_for_update(
            writer.connection, resource_type, resource_id, lock=True
        )
        if current is None or current.deleted:
            continue
        body, changed = redirect(current.resource(), to)
        if changed:
            moved.append(await rewritten(writer, current, body, f"moved to Patient/{to.target_id}"))
            before.append(current)
            references += changed
    return before, moved, references


async def rewritten(
    writer: RecordWriter, current: StoredResource, body: dict[str, Any], what: str
) -> StoredResource:
    """The new version of one resource; if it cannot be written, the whole operation fails
    naming it (``what``: "moved to Patient/x")."""
    try:
        return await _update(writer, body)
    except FhirError as error:
        why = f"{current.reference} cannot be {what}, so nothing was written: {error.diagnostics}"
        issue = {"severity": "error", "code": error.code, "diagnostics": why}
        issues = [issue, *error.issues]
        raise FhirError(error.status, why, code=error.code, issues=issues) from error
