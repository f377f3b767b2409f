"""Gathering one person's summary from the record, as the caller may see it.

Three round trips at most, each one batch: the person and their current facts (one search per
kind of fact, only for the kinds the caller's scopes let them read); then the Provenance of
those facts and the people and organisations they name; then any names the Provenance adds.
Every fact passes the caller's guard (relationship, consent, the register's label) before it
can reach a section, so a summary never shows what a search would have withheld.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gateway.call import Call, GatewayState, granting
from gateway.screening import note_resource
from gateway.summary.document import Gathered
from shared.errors import FhirError, not_found
from shared.fhir.interactions import Interaction
from shared.fhir.terms import ABOUT_ME

Resource = dict[str, Any]
_OPEN_TASK = "requested,received,accepted,ready,in-progress,on-hold"
# Each kind of fact a summary draws on, and which of them (``Type?patient=ID&...``).
FACT_SEARCHES: tuple[tuple[str, str], ...] = (
    ("Condition", "clinical-status=active,recurrence,relapse&_count=200"),
    ("AllergyIntolerance", "_count=200"),
    ("MedicationStatement", "status=active,intended,on-hold&_count=200"),
    ("MedicationRequest", "status=active,on-hold&_count=200"),
    ("Observation", "status=final,amended,corrected&_sort=-date&_count=10"),
    ("Flag", "status=active&_count=50"),
    ("CareTeam", "status=active,proposed&_count=50"),
    ("ServiceRequest", "status=active,on-hold,draft&_count=50"),
    ("Task", f"status={_OPEN_TASK}&_count=50"),
    ("EpisodeOfCare", "status=active,planned,waitlist,onhold&_count=50"),
    ("CarePlan", "status=active,on-hold,draft&_count=20"),
    ("Goal", "lifecycle-status=proposed,planned,accepted,active,on-hold&_count=50"),
    ("RiskAssessment", "status=final,amended,corrected&_sort=-date&_count=20"),
    ("Consent", "status=active&_count=50"),
    ("RelatedPerson", "active=true&_count=50"),
    ("QuestionnaireResponse", f"questionnaire={ABOUT_ME}&_sort=-authored&_count=1"),
)
_DIRECTORY_TYPES = frozenset(
    {
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "CareTeam",
        "RelatedPerson",
        "HealthcareService",
        "Location",
    }
)


async def gather(state: GatewayState, call: Call, patient_id: str) -> Gathered:
    """The person's summary facts; a merged record's survivor is followed (once)."""
    gathered = await _gather(state, call, patient_id)
    survivor = replaced_by(gathered.patient)
    if survivor is None:
        return gathered
    await call.guard.check_patients({survivor}, "Patient")
    followed = await _gather(state, call, survivor)
    followed.merged_from = patient_id
    return followed


def replaced_by(patient: Resource) -> str | None:
    for link in patient.get("link") or []:
        reference = (link.get("other") or {}).get("reference", "")
        if link.get("type") == "replaced-by" and reference.startswith("Patient/"):
            return str(reference.removeprefix("Patient/"))
    return None


async def _gather(state: GatewayState, call: Call, patient_id: str) -> Gathered:
    kinds = [(t, q) for t, q in FACT_SEARCHES if _may_search(call, t)]
    searches = [f"Patient?_id={patient_id}"] + [
        f"{t}?patient=Patient/{patient_id}&{q}{_restriction(call, t)}" for t, q in kinds
    ]
    found = await state.record.batch_search(searches)
    if not found or not found[0]:
        raise not_found(f"Patient/{patient_id} does not exist")
    patient = found[0][0]
    call.audit.patients.add(patient_id)
    note_resource(call, patient)
    facts = [fact for batch in found[1:] for fact in batch if await call.guard.visible(fact)]
    for fact in facts:
        note_resource(call, fact)
    gathered = Gathered(patient, facts)
    await _add_sources(state, call, gathered)
    return gathered


async def _add_sources(state: GatewayState, call: Call, gathered: Gathered) -> None:
    """The facts' Provenance, then the people and organisations everything names."""
    targets = ",".join(f"{f['resourceType']}/{f['id']}" for f in gathered.facts)
    searches = [f"Provenance?target={targets}&_count=1000"] if targets else []
    wanted = _named([gathered.patient, *gathered.facts])
    searches += _directory_searches(wanted)
    found = await state.record.batch_search(searches) if searches else []
    if targets:
        gathered.provenances = [p for p in found.pop(0) if await call.guard.visible(p)]
    await _add_directory(call, gathered, found)
    missing = _named(gathered.provenances) - set(gathered.directory)
    if missing:
        await _add_directory(
            call, gathered, await state.record.batch_search(_directory_searches(missing))
        )


async def _add_directory(call: Call, gathered: Gathered, found: list[list[Resource]]) -> None:
    for batch in found:
        for resource in batch:
            if await call.guard.visible(resource):
                gathered.directory[f"{resource['resourceType']}/{resource['id']}"] = resource


def _named(resources: Iterable[Any]) -> set[str]:
    """Every reference to a person, team or organisation without a display of its own."""
    found: set[str] = set()
    stack = list(resources)
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if _names_someone(value):
                found.add(str(value["reference"]))
            stack += value.values()
        elif isinstance(value, list):
            stack += value
    return found


def _names_someone(value: dict[str, Any]) -> bool:
    reference = value.get("reference")
    return (
        isinstance(reference, str)
        and reference.count("/") == 1
        and reference.split("/", 1)[0] in _DIRECTORY_TYPES
        and not value.get("display")
    )


def _directory_searches(references: set[str]) -> list[str]:
    by_type: dict[str, list[str]] = {}
    for reference in sorted(references):
        resource_type, resource_id = reference.split("/", 1)
        by_type.setdefault(resource_type, []).append(resource_id)
    return [f"{t}?_id={','.join(ids)}&_count={len(ids)}" for t, ids in by_type.items()]


def _may_search(call: Call, resource_type: str) -> bool:
    try:
        granting(call.principal, Interaction("search-type", "s", resource_type))
    except FhirError:
        return False
    return True


def _restriction(call: Call, resource_type: str) -> str:
    """A SMART v2 scope's ``?query`` narrows what its type's search may find."""
    scope = granting(call.principal, Interaction("search-type", "s", resource_type))
    return "".join(f"&{name}={value}" for name, value in scope.query)
