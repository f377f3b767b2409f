"""The sections of a patient summary and which facts belong in each.

The first ones are the International Patient Summary's (problems, allergies and medicines are
required there, so they appear even when empty); the rest are what care coordination in
Portsmouth adds: open referrals and their triage, the caseload and case manager, the care and
support plan, the discharge pathway, the dynamic support register, sharing choices, carers and
what matters to the person. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared.fhir.terms import (
    DISCHARGE_TO_ASSESS,
    DSR_LABEL,
    DSR_RISK_ASSESSMENT,
    DYNAMIC_SUPPORT_REGISTER,
    EPISODE_TYPE,
    LOINC,
    PROACTIVE_CASE_MANAGEMENT,
    SUMMARY_SECTION,
    has_coding,
    has_label,
)

Resource = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SectionSpec:
    key: str
    title: str
    code: dict[str, str]
    empty: str  # what the narrative says when nothing is recorded
    required: bool = False  # shown even when empty (IPS)


def _loinc(code: str, display: str) -> dict[str, str]:
    return {"system": LOINC, "code": code, "display": display}


def _ours(code: str, display: str) -> dict[str, str]:
    return {"system": SUMMARY_SECTION, "code": code, "display": display}


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        "problems",
        "Problems",
        _loinc("11450-4", "Problem list - Reported"),
        "No current problems recorded",
        required=True,
    ),
    SectionSpec(
        "allergies",
        "Allergies and intolerances",
        _loinc("48765-2", "Allergies and adverse reactions Document"),
        "No allergies recorded",
        required=True,
    ),
    SectionSpec(
        "medications",
        "Medicines",
        _loinc("10160-0", "History of Medication use Narrative"),
        "No current medicines recorded",
        required=True,
    ),
    SectionSpec(
        "results",
        "Recent observations",
        _loinc("30954-2", "Relevant diagnostic tests/laboratory data Narrative"),
        "No recent observations",
    ),
    SectionSpec("alerts", "Alerts", _loinc("104605-1", "Alert"), "No alerts"),
    SectionSpec(
        "care-team",
        "Care team",
        _loinc("85847-2", "Patient Care team information"),
        "No care team recorded",
    ),
    SectionSpec(
        "referrals",
        "Open referrals and triage",
        _ours("referrals", "Open referrals and their triage"),
        "No open referrals",
    ),
    SectionSpec(
        "caseload",
        "Proactive case management",
        _ours("caseload", "Caseload and case manager"),
        "Not on a caseload",
    ),
    SectionSpec(
        "care-plan",
        "Care and support plan",
        _loinc("18776-5", "Plan of care note"),
        "No care and support plan",
    ),
    SectionSpec(
        "discharge",
        "Discharge to assess",
        _ours("discharge-to-assess", "Discharge pathway and status"),
        "No discharge in progress",
    ),
    SectionSpec(
        "dsr",
        "Dynamic support register",
        _ours("dynamic-support-register", "Dynamic support register"),
        "Not on the register",
    ),
    SectionSpec(
        "consent",
        "Sharing choices",
        _ours("sharing-choices", "Consent and sharing choices"),
        "No sharing choices recorded: shared for direct care",
    ),
    SectionSpec("carers", "Carers", _ours("carers", "Carers and family"), "No carers recorded"),
    SectionSpec(
        "what-matters",
        "What matters to me",
        _ours("what-matters-to-me", "About me and what matters to me"),
        "Not yet told us",
    ),
)

_BY_TYPE = {
    "Condition": "problems",
    "AllergyIntolerance": "allergies",
    "MedicationStatement": "medications",
    "MedicationRequest": "medications",
    "Observation": "results",
    "Flag": "alerts",
    "CareTeam": "care-team",
    "ServiceRequest": "referrals",
    "Task": "referrals",
    "CarePlan": "care-plan",
    "Goal": "care-plan",
    "RiskAssessment": "caseload",  # case finding (frailty); the DSR's rating is labelled
    "Consent": "consent",
    "RelatedPerson": "carers",
    "QuestionnaireResponse": "what-matters",
}
_EPISODES = {
    PROACTIVE_CASE_MANAGEMENT: "caseload",
    DISCHARGE_TO_ASSESS: "discharge",
    DYNAMIC_SUPPORT_REGISTER: "dsr",
}


def section_of(resource: Resource) -> str | None:
    """The key of the section a fact belongs in; None when it belongs in none."""
    if has_label(resource, DSR_LABEL):
        return "dsr"
    resource_type = resource.get("resourceType", "")
    if resource_type == "EpisodeOfCare":
        for code, key in _EPISODES.items():
            if has_coding(resource.get("type") or [], EPISODE_TYPE, code):
                return key
        return "caseload"
    if resource_type == "RiskAssessment" and _is_dsr_rating(resource):
        return "dsr"
    if resource_type == "AllergyIntolerance" and _refuted(resource):
        return None
    return _BY_TYPE.get(resource_type)


def sort_into_sections(resources: Iterable[Resource]) -> dict[str, list[Resource]]:
    """Each section's facts, newest first; of a register's ratings only the current one."""
    sorted_out: dict[str, list[Resource]] = {spec.key: [] for spec in SECTIONS}
    for resource in resources:
        key = section_of(resource)
        if key is not None:
            sorted_out[key].append(resource)
    for facts in sorted_out.values():
        facts.sort(key=_when, reverse=True)
    sorted_out["dsr"] = _current_rating_only(sorted_out["dsr"])
    return sorted_out


def _is_dsr_rating(resource: Resource) -> bool:
    return has_coding(
        resource.get("code"), DSR_RISK_ASSESSMENT["system"], DSR_RISK_ASSESSMENT["code"]
    )


def _refuted(resource: Resource) -> bool:
    status = resource.get("verificationStatus") or {}
    return any(c.get("code") in ("refuted", "entered-in-error") for c in status.get("coding", []))


_WHEN = (
    "effectiveDateTime",
    "occurrenceDateTime",
    "authoredOn",
    "authored",
    "recordedDate",
    "onsetDateTime",
    "dateTime",
)


def _when(resource: Resource) -> str:
    """When the fact happened, as FHIR writes it (so that it sorts as text)."""
    for name in _WHEN:
        if isinstance(resource.get(name), str):
            return str(resource[name])
    return str((resource.get("meta") or {}).get("lastUpdated", ""))


def _current_rating_only(facts: list[Resource]) -> list[Resource]:
    ratings = [f for f in facts if f.get("resourceType") == "RiskAssessment" and _is_dsr_rating(f)]
    return [f for f in facts if f not in ratings[1:]]
