"""The readable side of a patient summary: one line per fact (what, status, when, and who
recorded it) and the XHTML the Composition and each section carry.

Pure: given resources and the names of the people and organisations they refer to, it says
what a professional would want to read. Everything that leaves here is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from shared.fhir.terms import (
    D2A_PATHWAY_EXTENSION,
    D2A_STATE_EXTENSION,
    EPISODE_TYPE,
    PROACTIVE_CASE_MANAGEMENT,
    has_coding,
)

XHTML = "http://www.w3.org/1999/xhtml"
Names = Mapping[str, str]  # "Practitioner/1" -> "Dr Ann Patel"


@dataclass(frozen=True, slots=True)
class Line:
    what: str
    status: str
    when: str
    source: str  # who recorded it, for which organisation, and when


def concept(value: Any) -> str:
    """A CodeableConcept (or Coding) as a person would say it."""
    if not isinstance(value, dict):
        return ""
    if value.get("text"):
        return str(value["text"])
    codings = value.get("coding") or [value]
    for coding in codings:
        if isinstance(coding, dict) and (coding.get("display") or coding.get("code")):
            return str(coding.get("display") or coding.get("code"))
    return ""


def reference_name(value: Any, names: Names) -> str:
    if not isinstance(value, dict):
        return ""
    reference = value.get("reference")
    return str(value.get("display") or names.get(reference or "") or reference or "")


def human_name(resource: Mapping[str, Any]) -> str:
    """A person's name as written (an organisation's or team's name is a plain string)."""
    names = resource.get("name")
    if isinstance(names, str):
        return names
    for name in names if isinstance(names, list) else []:
        if isinstance(name, dict):
            if name.get("text"):
                return str(name["text"])
            given = " ".join(str(g) for g in name.get("given") or [])
            return " ".join(p for p in (given, str(name.get("family") or "")) if p)
    return ""


def day(value: Any) -> str:
    """The date part of a FHIR date, dateTime or instant (or of a Period's start)."""
    if isinstance(value, dict):
        value = value.get("start") or value.get("end")
    return str(value)[:10] if value else ""


def describe(resource: Mapping[str, Any], names: Names) -> tuple[str, str, str]:
    """What the resource says, its status, and when: the first three columns of its line."""
    describer = _DESCRIBERS.get(str(resource.get("resourceType")), _generic)
    return describer(resource, names)


def _condition(r: Mapping[str, Any], names: Names) -> tuple[str, str, str]:
    when = r.get("onsetDateTime") or r.get("recordedDate")
    return concept(r.get("code")), concept(r.get("clinicalStatus")), day(when)


def _allergy(r: Mapping[str, Any], names: Names) -> tuple[str, str, str]:
    reactions = [
        concept(m)
        for reaction in r.get("reaction") or []
        for m in reaction.get("manifestation", [])
    ]
    what = concept(r.get("code")) + (f" (reaction: {', '.join(reactions)})" if reactions else "")
    status = ", ".join(s for s in (concept(r.get("clinicalStatus")), r.get("criticality")) if s)
    return what, status, day(r.get("recordedDate") or r.get("onsetDateTime"))


def _medication(r: Mapping[str, Any], names: Names) -> tuple[str, str, str]:
    medicine = concept(r.get("medicationCodeableConcept")) or reference_name(
        r.get("medicationReference"), names
    )
    dosage = r.get("dosage") or r.get("dosageInstruction") or []
    doses = [str(d["text"]) for d in dosage if isinstance(d, dict) and d.get("text")]
    what = medicine + (f": {'; '.join(doses)}" if doses else "")
    when = r.get("authoredOn") or r.get("effectiveDateTime") or r.get("effectivePeriod")
    return what, str(r.get("status") or ""), day(when)


def _observation(r: Mapping[str, Any], names: Names) -> tuple[str, str, str]:
    value = observed_value(r)
    parts = [observed_value(c) for c in r.get("component") or [] if isinstance(c, dict)]
    shown = value or " / ".join(p for p in parts if p)
    what = concept(r.get("code")) + (f": {shown}" if shown else "")
    return what, str(r.get("status") or ""), day(r.get("effectiveDateTime") or r.get("issued"))


def observed_value(r: Mapping[str, Any]) -> str:
    quantity = r.get("valueQuantity")
    if isinstance(quantity, dict) and "value" in quantity:
        return f"{quantity['value']} {quantity.get('unit') or quantity.get('code') or ''}".strip()
    for name in ("valueString", "valueInteger", "valueBoolean", "valueDateTime"):
        if name in r:
            return str(r[name])
    return concept(r.get("valueCodeableConcept"))


def _care_team(r: Mapping[str, Any], names: Names) -> tuple[str, str, str]:
    members = []
    for participant in r.get("participant") or []:
        who = reference_name(participant.get("member"), names)
        roles = ", ".join(concept(role) for role in participant.get("role") or [])
        members.append(f"{who} ({roles})" if roles and who else who)
    title = str(r.get("name") or "Care team")
    what = title + (f": {'; '.join(m for m in members if m)}" if members else "")
    return what, str(r.get("status") or ""), day(r.get("period"))


def _referral(r: Mapping[str, Any], names: Names) -> tuple[str, str, str]:
    reason = concept(r.get("code")) or ", ".join(concept(c) for c in r.get("category") or [])
    to = reference_name((r.get("performer") or [None])[0], names)
    what = (reason or "Referral") + (f", to {to}" if to else "")
    status = ", ".join(s for s in (r.get("status"), r.get("priority")) if s)
    return what, status, day(r.get("authoredOn"))


def _task(r: Mapping[str, Any], names: Names) -> tuple[str, str, str]:
    what = concept(r.get("code")) or str(r.get("description") or "Task")
    decision = concept(r.get("businessStatus"))
    status = f"{r.get('status', '')}: {decision}" if decision else str(r.get("status") or "")
    return what, status, day(r.get("lastModified") or r.get("authoredOn"))


def _episode(r: Mapping[str, Any], names: Names) -> tuple[str, str, str]:
    what = ", ".join(concept(t) for t in r.get("type") or []) or "Episode of care"
    manager = reference_name(r.get("careManager"), names)
    role = (
        "case manager"
        if has_coding(r.get("type") or [], EPISODE_TYPE, PROACTIVE_CASE_MANAGEMENT)
        else "care manager"
    )
    teams = [reference_name(t, names) for t in r.get("team") or []]
    details = [f"{role} {manager}" if manager else "", *teams]
    pathway, state = _extension(r, D2A_PATHWAY_EXTENSION), _extension(r, D2A_STATE_EXTENSION)
    details += [pathway, state]
    shown = "; ".join(d for d in details if d)
    return (
        (what + (f" ({shown})" if shown else "")),
        str(r.get("status") or ""),
        day(r.get("period")),
    )


def _care_plan(r: Mapping[str, Any], names: Names) -> tuple[str, str, str]:
    what = str(r.get("title") or r.get("description") or "Care and support plan")
    return what, str(r.get("status") or ""), day(r.get("period") or r.get("created"))


def _goal(r: Mapping[str, Any], names: Names) -> tuple[str, str, str]:
    return (
        concept(r.get("description")),
        str(r.get("lifecycleStatus") or ""),
        day(r.get("startDate")),
    )


def _risk(r: Mapping[str, Any], names: Names) -> tuple[str, str, str]:
    prediction = (r.get("prediction") or [{}])[0]
    outcome = concept(prediction.get("outcome"))
    rationale = prediction.get("rationale")
    what = concept(r.get("code")) + (f": {outcome}" if outcome else "")
    what += f" ({rationale})" if rationale else ""
    return what, str(r.get("status") or ""), day(r.get("occurrenceDateTime"))


def _consent(r: Mapping[str, Any], names: Names) -> tuple[str, str, str]:
    what = ", ".join(concept(c) for c in r.get("category") or []) or concept(r.get("scope"))
    provision = r.get("provision") or {}
    rules = [f"{provision.get('type', 'permit')} by default"]
    for nested in provision.get("provision") or []:
        actors = [reference_name(a.get("reference"), names) for a in nested.get("actor") or []]
        labels = [concept(label) for label in nested.get("securityLabel") or []]
        scope = ", ".join(a for a in [*actors, *labels] if a) or "everyone"
        rules.append(f"{nested.get('type', 'deny')}: {scope}")
    return f"{what}: {'; '.join(rules)}", str(r.get("status") or ""), day(r.get("dateTime"))


def _related_person(r: Mapping[str, Any], names: Names) -> tuple[str, str, str]:
    relationship = ", ".join(concept(c) for c in r.get("relationship") or [])
    phones = [str(t["value"]) for t in r.get("telecom") or [] if t.get("system") == "phone"]
    what = human_name(r) + (f", {relationship}" if relationship else "")
    what += f", {phones[0]}" if phones else ""
    return what, "active" if r.get("active", True) else "inactive", day(r.get("period"))


def _answers(r: Mapping[str, Any], names: Names) -> tuple[str, str, str]:
    said = [f"{item.get('text') or item.get('linkId')}: {answer}" for item, answer in _said(r)]
    return " | ".join(said), str(r.get("status") or ""), day(r.get("authored"))


def _said(r: Mapping[str, Any]) -> Iterable[tuple[Mapping[str, Any], str]]:
    for item in r.get("item") or []:
        for answer in item.get("answer") or []:
            text = next((str(v) for k, v in answer.items() if k.startswith("value")), "")
            if isinstance(answer.get("valueCoding"), dict):
                text = concept(answer["valueCoding"])
            yield item, text
        yield from _said(item)


def _flag(r: Mapping[str, Any], names: Names) -> tuple[str, str, str]:
    return concept(r.get("code")), str(r.get("status") or ""), day(r.get("period"))


def _generic(r: Mapping[str, Any], names: Names) -> tuple[str, str, str]:
    what = concept(r.get("code")) or concept(r.get("type")) or str(r.get("resourceType"))
    return what, str(r.get("status") or ""), day((r.get("meta") or {}).get("lastUpdated"))


def _extension(resource: Mapping[str, Any], url: str) -> str:
    for extension in resource.get("extension") or []:
        if isinstance(extension, dict) and extension.get("url") == url:
            return concept(extension.get("valueCoding") or extension.get("valueCodeableConcept"))
    return ""


_DESCRIBERS = {
    "Condition": _condition,
    "AllergyIntolerance": _allergy,
    "MedicationStatement": _medication,
    "MedicationRequest": _medication,
    "Observation": _observation,
    "CareTeam": _care_team,
    "ServiceRequest": _referral,
    "Task": _task,
    "EpisodeOfCare": _episode,
    "CarePlan": _care_plan,
    "Goal": _goal,
    "RiskAssessment": _risk,
    "Consent": _consent,
    "RelatedPerson": _related_person,
    "QuestionnaireResponse": _answers,
    "Flag": _flag,
}


# --- XHTML -----------------------------------------------------------------------------------


def section_div(lines: list[Line], empty: str) -> str:
    """A section's narrative: a table of its lines, or a sentence saying nothing is recorded."""
    if not lines:
        return _div(f"<p>{escape(empty)}</p>")
    rows = "".join(
        f"<tr><td>{escape(line.what)}</td><td>{escape(line.status)}</td>"
        f"<td>{escape(line.when)}</td><td>{escape(line.source)}</td></tr>"
        for line in lines
    )
    head = "<tr><th>What</th><th>Status</th><th>When</th><th>Recorded by</th></tr>"
    return _div(f"<table><thead>{head}</thead><tbody>{rows}</tbody></table>")


def header_div(
    patient: Mapping[str, Any], nhs_number: str | None, generated: str, merged_from: str | None
) -> str:
    """The Composition's own narrative: whose summary this is and when it was made."""
    facts = [
        f"NHS number {nhs_number}" if nhs_number else "",
        f"born {patient['birthDate']}" if patient.get("birthDate") else "",
        str(patient.get("gender") or ""),
        f"summary made {generated[:16].replace('T', ' ')} UTC",
    ]
    shown = ", ".join(escape(f) for f in facts if f)
    merged = (
        f"<p>Record Patient/{escape(merged_from)} was merged into this one.</p>"
        if merged_from
        else ""
    )
    return _div(f"<h1>Patient summary: {escape(human_name(patient))}</h1><p>{shown}</p>{merged}")


def page(composition: Mapping[str, Any]) -> str:
    """The whole summary as one HTML page, from the Composition's narratives."""
    parts = [_inner(composition.get("text", {}).get("div", ""))]
    for section in composition.get("section") or []:
        parts.append(f"<h2>{escape(str(section.get('title', '')))}</h2>")
        parts.append(_inner(section.get("text", {}).get("div", "")))
    body = "".join(parts)
    title = escape(str(composition.get("title", "Patient summary")))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>{body}</body></html>\n"
    )


_STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#212b32}"
    "table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #d8dde0;"
    "padding:.3em .5em;text-align:left;vertical-align:top}h2{margin-top:1.5em}"
)


def _div(inner: str) -> str:
    return f'<div xmlns="{XHTML}">{inner}</div>'


def _inner(div: str) -> str:
    prefix = f'<div xmlns="{XHTML}">'
    return div[len(prefix) : -len("</div>")] if div.startswith(prefix) else ""
