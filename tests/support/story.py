"""A person whose story runs through every service: triage, caseload, discharge, the dynamic
support register, consent, carers and what matters to them; written through the gateway."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from shared.auth.devissuer import DevIssuer
from shared.fhir import terms
from tests.conftest import gateway_client
from tests.support.fhir import condition, observation, patient, unique
from tests.support.gateway import (
    Staff,
    about_me,
    carer,
    consent,
    create,
    new_staff,
    organization,
    ref,
)
from tests.support.services import RunningService

Resource = dict[str, Any]
ALLERGY_STATUS = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"


def subject(patient_id: str) -> Resource:
    return {"reference": f"Patient/{patient_id}"}


def labelled_dsr(resource: Resource) -> Resource:
    return {**resource, "meta": {"security": [terms.DSR_LABEL]}}


def episode(patient_id: str, kind: str, manager: str, **extra: Any) -> Resource:
    return {
        "resourceType": "EpisodeOfCare",
        "status": "active",
        "type": [{"coding": [terms.coding(terms.EPISODE_TYPE, kind)]}],
        "patient": subject(patient_id),
        "careManager": {"reference": manager},
        "period": {"start": "2026-10-02"},
        **extra,
    }


@dataclass
class Story:
    """A person who has been through triage, caseload, discharge and the DSR."""

    patient_id: str
    case_manager: Staff
    problem_text: str
    rating_id: str


async def seed_story(
    system: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> Story:
    person = await create(system, patient())
    pid = person["id"]
    manager = await new_staff(system, issuer)
    await create(
        system,
        episode(pid, terms.PROACTIVE_CASE_MANAGEMENT, manager.reference),
    )
    problem_text = unique("Heart failure ")
    # The case manager records the problem through the front door: its Provenance names them.
    async with gateway_client(gateway, manager.token) as client:
        problem = condition(pid)
        problem["code"] = {"text": problem_text}
        await create(client, problem)
    referral = await create(
        system,
        {
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "priority": "urgent",
            "code": {"text": "Fall at home, no serious injury"},
            "subject": subject(pid),
            "authoredOn": "2026-11-20T10:00:00Z",
        },
    )
    await create(
        system,
        {
            "resourceType": "Task",
            "status": "accepted",
            "intent": "order",
            "code": {"coding": [terms.coding(terms.TASK_CODE, terms.TRIAGE_TASK, "Triage")]},
            "businessStatus": {"text": "Routed to urgent community response (2-hour)"},
            "focus": {"reference": ref(referral)},
            "for": subject(pid),
        },
    )
    goal = await create(
        system,
        {
            "resourceType": "Goal",
            "lifecycleStatus": "active",
            "description": {"text": "To walk to the shops on Albert Road again"},
            "subject": subject(pid),
        },
    )
    await create(
        system,
        {
            "resourceType": "CarePlan",
            "status": "active",
            "intent": "plan",
            "title": "Care and support plan",
            "subject": subject(pid),
            "goal": [{"reference": ref(goal)}],
        },
    )
    d2a_state = {"url": terms.D2A_STATE_EXTENSION}
    d2a_state["valueCoding"] = terms.coding(
        terms.D2A_STATE, "awaiting-capacity", "Awaiting capacity"
    )
    pathway = {"url": terms.D2A_PATHWAY_EXTENSION}
    pathway["valueCoding"] = terms.coding(terms.D2A_PATHWAY, "1", "Pathway 1: home with support")
    await create(
        system,
        episode(pid, terms.DISCHARGE_TO_ASSESS, manager.reference, extension=[pathway, d2a_state]),
    )
    await create(
        system, labelled_dsr(episode(pid, terms.DYNAMIC_SUPPORT_REGISTER, manager.reference))
    )
    rating = await create(
        system,
        labelled_dsr(
            {
                "resourceType": "RiskAssessment",
                "status": "final",
                "code": {"coding": [terms.DSR_RISK_ASSESSMENT]},
                "subject": subject(pid),
                "occurrenceDateTime": "2026-11-01T09:00:00Z",
                "prediction": [
                    {
                        "outcome": {"coding": [terms.coding(terms.RAG_RATING, "amber", "Amber")]},
                        "rationale": "Placement at risk of breaking down",
                    }
                ],
            }
        ),
    )
    await create(
        system,
        {
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                        "code": "active",
                    }
                ]
            },
            "code": {"text": "Penicillin"},
            "patient": subject(pid),
        },
    )
    await create(
        system,
        {
            "resourceType": "MedicationStatement",
            "status": "active",
            "medicationCodeableConcept": {"text": "Furosemide 40 mg tablets"},
            "subject": subject(pid),
            "dosage": [{"text": "One each morning"}],
        },
    )
    await create(system, observation(pid))
    await create(
        system,
        {
            "resourceType": "Flag",
            "status": "active",
            "code": {"text": "Key safe: code held by the care team"},
            "subject": subject(pid),
        },
    )
    await create(
        system,
        {
            "resourceType": "CareTeam",
            "status": "active",
            "name": "Southsea neighbourhood team",
            "subject": subject(pid),
            "participant": [{"member": {"reference": manager.reference}}],
        },
    )
    refused = await create(system, organization())
    await create(system, consent(pid, deny_actor=ref(refused)))
    await create(system, carer(pid))
    await create(system, {**about_me(pid), "questionnaire": terms.ABOUT_ME})
    return Story(pid, manager, problem_text, rating["id"])
