"""A patient summary as a FHIR document: a Bundle of type ``document`` whose first entry is
the Composition, then the Patient, the facts each section refers to, the Provenance that
says where each fact came from, and the people and organisations named.

Each fact's line says who recorded it, for which organisation and when: from the latest
Provenance that targets it (the gateway writes one for every write), or, for facts that
came in without one, from the resource's own attribution (recorder, asserter, author...).
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.summary.narrative import Line, Names, describe, header_div, human_name, section_div
from gateway.summary.sections import SECTIONS, SectionSpec, sort_into_sections
from shared.fhir.terms import LOINC
from shared.nhs_number import NHS_NUMBER_SYSTEM

Resource = dict[str, Any]
_EMPTY_REASON = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
_CONFIDENTIALITY_RESTRICTED = "R"
_SUMMARY_DOCUMENT = {"system": LOINC, "code": "60591-5", "display": "Patient summary Document"}
# Who a resource says recorded or owns it, for facts that came without a Provenance.
_ATTRIBUTION = (
    "recorder",
    "asserter",
    "author",
    "requester",
    "performer",
    "careManager",
    "managingOrganization",
    "owner",
    "expressedBy",
    "source",
)


@dataclass(slots=True)
class Gathered:
    """What the caller may see of one person's record, gathered for their summary."""

    patient: Resource
    facts: list[Resource]
    provenances: list[Resource] = field(default_factory=list)
    directory: dict[str, Resource] = field(default_factory=dict)  # "Practitioner/1" -> it
    merged_from: str | None = None  # the id asked for, when it was merged into this person


def summary_document(
    gathered: Gathered, *, base_url: str, generated: str, document_id: str
) -> Resource:
    """The document Bundle for ``gathered``, stamped ``generated`` (an instant)."""
    names = _names(gathered)
    latest = latest_provenance(gathered.provenances)
    sections, facts = [], []
    for spec, section_facts in _filled(sort_into_sections(gathered.facts)):
        sections.append(_section(spec, section_facts, latest, names))
        facts += section_facts
    composition = _composition(gathered, sections, generated, document_id)
    entries = [{"fullUrl": f"urn:uuid:{document_id}", "resource": composition}]
    cited = {_plain(f"{f['resourceType']}/{f['id']}") for f in facts}
    provenances = [p for p in gathered.provenances if _targets(p) & cited]
    for resource in [gathered.patient, *facts, *provenances, *gathered.directory.values()]:
        entries.append(
            {
                "fullUrl": f"{base_url}/{resource['resourceType']}/{resource['id']}",
                "resource": resource,
            }
        )
    return {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{document_id}"},
        "type": "document",
        "timestamp": generated,
        "entry": entries,
    }


def latest_provenance(provenances: Iterable[Resource]) -> dict[str, Resource]:
    """For each target ("Condition/1", version dropped), the Provenance recorded last."""
    latest: dict[str, Resource] = {}
    for provenance in provenances:
        for target in _targets(provenance):
            held = latest.get(target)
            if held is None or str(provenance.get("recorded", "")) > str(held.get("recorded", "")):
                latest[target] = provenance
    return latest


def source_of(fact: Resource, latest: Mapping[str, Resource], names: Names) -> str:
    """Who recorded ``fact``, for which organisation, and when, as one phrase."""
    recorders, when = recorded_by(fact, latest)
    return ", ".join(p for p in [*(names.get(r, r) for r in recorders), when] if p)


def recorded_by(fact: Resource, latest: Mapping[str, Resource]) -> tuple[list[str], str]:
    """The people and organisations that recorded ``fact`` (references), and the day.

    The latest Provenance's author says it best; a service's write names no person there,
    and then the fact's own attribution (recorder, asserter, author...) says more."""
    provenance = latest.get(f"{fact['resourceType']}/{fact['id']}")
    refs = [r for a in _authors(provenance) for r in _agent_refs(a)] if provenance else []
    if not refs:
        refs = _attributed(fact)[:2]
    stamped = provenance.get("recorded") if provenance else None
    when = str(stamped or (fact.get("meta") or {}).get("lastUpdated", ""))[:10]
    return refs, when


def _filled(sorted_out: dict[str, list[Resource]]) -> Iterable[tuple[SectionSpec, list[Resource]]]:
    for spec in SECTIONS:
        facts = sorted_out[spec.key]
        if facts or spec.required:
            yield spec, facts


def _section(
    spec: SectionSpec, facts: list[Resource], latest: Mapping[str, Resource], names: Names
) -> Resource:
    lines = [Line(*describe(f, names), source_of(f, latest, names)) for f in facts]
    section: Resource = {
        "title": spec.title,
        "code": {"coding": [spec.code]},
        "text": {"status": "generated", "div": section_div(lines, spec.empty)},
    }
    authors = _section_authors(facts, latest)
    if authors:
        section["author"] = [{"reference": ref} for ref in authors]
    if facts:
        section["entry"] = [{"reference": f"{f['resourceType']}/{f['id']}"} for f in facts]
    else:
        section["emptyReason"] = {"coding": [{"system": _EMPTY_REASON, "code": "nilknown"}]}
    return section


def _composition(
    gathered: Gathered, sections: list[Resource], generated: str, document_id: str
) -> Resource:
    patient = gathered.patient
    header = header_div(patient, _nhs_number(patient), generated, gathered.merged_from)
    restricted = any(s["code"]["coding"][0]["code"] == "dynamic-support-register" for s in sections)
    return {
        "resourceType": "Composition",
        "id": document_id,
        "text": {"status": "generated", "div": header},
        "status": "final",
        "type": {
            "coding": [{"system": LOINC, "code": "60591-5", "display": "Patient summary Document"}]
        },
        "subject": {"reference": f"Patient/{patient['id']}", "display": human_name(patient)},
        "date": generated,
        "author": [{"display": "OneStory shared care record"}],
        "title": f"Patient summary: {human_name(patient)}",
        "confidentiality": _CONFIDENTIALITY_RESTRICTED if restricted else "N",
        "section": sections,
    }


def _section_authors(facts: list[Resource], latest: Mapping[str, Resource]) -> list[str]:
    found: list[str] = []
    for fact in facts:
        refs, _ = recorded_by(fact, latest)
        found += [r for r in refs if r not in found and _is_author_type(r)]
    return found


def _is_author_type(reference: str) -> bool:
    return reference.split("/", 1)[0] in (
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "Patient",
        "RelatedPerson",
        "Device",
    )


def _authors(provenance: Resource) -> list[Resource]:
    agents = [a for a in provenance.get("agent") or [] if isinstance(a, dict)]
    authors = [a for a in agents if _agent_type(a) == "author"]
    return authors or agents[:1]


def _agent_type(agent: Resource) -> str | None:
    codings = (agent.get("type") or {}).get("coding") or [{}]
    code = codings[0].get("code")
    return str(code) if code else None


def _agent_refs(agent: Resource) -> list[str]:
    return [
        str(value["reference"])
        for value in (agent.get("who"), agent.get("onBehalfOf"))
        if isinstance(value, dict) and value.get("reference")
    ]


def _attributed(fact: Resource) -> list[str]:
    found: list[str] = []
    for name in _ATTRIBUTION:
        value = fact.get(name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                reference = item.get("reference") or (item.get("actor") or {}).get("reference")
                if reference and reference not in found:
                    found.append(str(reference))
    return found


def _targets(provenance: Resource) -> set[str]:
    return {
        _plain(str(t["reference"]))
        for t in provenance.get("target") or []
        if isinstance(t, dict) and t.get("reference")
    }


def _plain(reference: str) -> str:
    """``Type/id`` from a relative, absolute or versioned reference."""
    parts = reference.split("/_history/")[0].split("/")
    return "/".join(parts[-2:])


def _names(gathered: Gathered) -> dict[str, str]:
    """What to call each person, team and organisation: as the references display them,
    then as their own resources name them."""
    named = dict(_displays([*gathered.facts, *gathered.provenances]))
    patient = gathered.patient
    named[f"Patient/{patient['id']}"] = human_name(patient)
    for reference, resource in gathered.directory.items():
        name = human_name(resource)
        if name:
            named[reference] = name
    return named


def _displays(resources: Iterable[Any]) -> Iterable[tuple[str, str]]:
    stack = list(resources)
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            reference, display = value.get("reference"), value.get("display")
            if isinstance(reference, str) and isinstance(display, str) and display:
                yield reference, display
            stack += value.values()
        elif isinstance(value, list):
            stack += value


def _nhs_number(patient: Resource) -> str | None:
    for identifier in patient.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") == NHS_NUMBER_SYSTEM:
            return str(identifier.get("value") or "") or None
    return None
