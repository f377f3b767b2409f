"""Helpers for the gateway's end-to-end tests: the people and relationships a test needs in the
record, consents, and waiting for the audit trail (written shortly after each request)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from shared.auth.devissuer import DevIssuer
from tests.support.fhir import observation, patient, unique

Resource = dict[str, Any]
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
BREAK_GLASS_TAG = "break-glass"


async def create(client: httpx.AsyncClient, resource: Resource) -> Resource:
    """POST ``resource`` and answer what the server stored (asserting 201)."""
    answer = await client.post(resource["resourceType"], json=resource)
    assert answer.status_code == 201, answer.text
    stored: Resource = answer.json()
    return stored


def ref(resource: Resource) -> str:
    return f"{resource['resourceType']}/{resource['id']}"


def matches(bundle: Resource) -> list[Resource]:
    """The resources a search answered (not included ones, not OperationOutcomes)."""
    return [
        e["resource"]
        for e in bundle.get("entry", [])
        if e.get("search", {}).get("mode", "match") == "match"
        and e["resource"]["resourceType"] != "OperationOutcome"
    ]


def withheld_notes(bundle: Resource) -> list[str]:
    """The diagnostics of the OperationOutcome entries that say resources were withheld."""
    return [
        issue.get("diagnostics", "")
        for e in bundle.get("entry", [])
        if e["resource"]["resourceType"] == "OperationOutcome"
        for issue in e["resource"].get("issue", [])
        if issue.get("code") == "suppressed"
    ]


# --- people and organisations ---------------------------------------------------------------


def organization() -> Resource:
    return {"resourceType": "Organization", "name": unique("Team "), "active": True}


def practitioner() -> Resource:
    return {
        "resourceType": "Practitioner",
        "name": [{"family": unique("Nurse"), "given": ["Alex"]}],
        "active": True,
    }


def practitioner_role(practitioner_ref: str, organization_ref: str) -> Resource:
    return {
        "resourceType": "PractitionerRole",
        "active": True,
        "practitioner": {"reference": practitioner_ref},
        "organization": {"reference": organization_ref},
    }


def care_team(*members: str, patient_id: str | None = None) -> Resource:
    team: Resource = {
        "resourceType": "CareTeam",
        "status": "active",
        "name": unique("Neighbourhood team "),
        "participant": [{"member": {"reference": m}} for m in members],
    }
    if patient_id:
        team["subject"] = {"reference": f"Patient/{patient_id}"}
    return team


# --- relationships --------------------------------------------------------------------------


def episode_of_care(
    patient_id: str,
    *,
    care_manager: str | None = None,
    team: str | None = None,
    status: str = "active",
) -> Resource:
    episode: Resource = {
        "resourceType": "EpisodeOfCare",
        "status": status,
        "patient": {"reference": f"Patient/{patient_id}"},
    }
    if care_manager:
        episode["careManager"] = {"reference": care_manager}
    if team:
        episode["team"] = [{"reference": team}]
    return episode


def service_request(patient_id: str, performer: str, *, status: str = "active") -> Resource:
    return {
        "resourceType": "ServiceRequest",
        "status": status,
        "intent": "order",
        "priority": "urgent",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1325241000000107"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "performer": [{"reference": performer}],
    }


def task(patient_id: str, owner: str, *, status: str = "requested") -> Resource:
    return {
        "resourceType": "Task",
        "status": status,
        "intent": "order",
        "for": {"reference": f"Patient/{patient_id}"},
        "owner": {"reference": owner},
        "description": "Review after discharge",
    }


def encounter(patient_id: str, service_provider: str, *, status: str = "in-progress") -> Resource:
    return {
        "resourceType": "Encounter",
        "status": status,
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "IMP",
            "display": "inpatient encounter",
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "serviceProvider": {"reference": service_provider},
    }


# --- a resident's own story and choices -----------------------------------------------------


def consent(
    patient_id: str,
    *,
    deny_actor: str | None = None,
    deny_labels: tuple[str, ...] = (),
    status: str = "active",
) -> Resource:
    """A sharing choice: deny ``deny_actor`` (everyone when None) resources with the labels
    (every resource when none), under a base rule that permits direct care."""
    provision: Resource = {"type": "deny"}
    if deny_actor:
        provision["actor"] = [
            {
                "role": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                            "code": "IRCP",
                        }
                    ]
                },
                "reference": {"reference": deny_actor},
            }
        ]
    if deny_labels:
        provision["securityLabel"] = [{"system": V3_ACT_CODE, "code": c} for c in deny_labels]
    return {
        "resourceType": "Consent",
        "status": status,
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{patient_id}"},
        "dateTime": "2026-10-01T09:00:00Z",
        "policyRule": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}
            ]
        },
        "provision": {"type": "permit", "provision": [provision]},
    }


def about_me(patient_id: str, text: str = "I like my tea strong and my radio on") -> Resource:
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        "author": {"reference": f"Patient/{patient_id}"},
        "item": [
            {
                "linkId": "what-matters",
                "text": "What matters to me",
                "answer": [{"valueString": text}],
            }
        ],
    }


def carer(patient_id: str) -> Resource:
    return {
        "resourceType": "RelatedPerson",
        "active": True,
        "patient": {"reference": f"Patient/{patient_id}"},
        "relationship": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                        "code": "DAU",
                        "display": "natural daughter",
                    }
                ]
            }
        ],
        "name": [{"family": unique("Carer"), "given": ["Jo"]}],
    }


def labelled(resource: Resource, *codes: str) -> Resource:
    """``resource`` with security labels (v3 ActCode), e.g. PSY for mental health."""
    return {**resource, "meta": {"security": [{"system": V3_ACT_CODE, "code": c} for c in codes]}}


# --- a member of staff ----------------------------------------------------------------------


@dataclass
class Staff:
    """A practitioner made for one test (relationship answers are cached per practitioner)."""

    practitioner: Resource
    organization: Resource
    token: str

    @property
    def reference(self) -> str:
        return ref(self.practitioner)

    @property
    def organization_reference(self) -> str:
        return ref(self.organization)


async def new_staff(
    system: httpx.AsyncClient,
    issuer: DevIssuer,
    *,
    scope: str = "user/*.cruds",
    organization_claim: bool = True,
    roles: tuple[str, ...] = (),
) -> Staff:
    """A Practitioner working for a new Organization, with a user/ token naming both."""
    org = await create(system, organization())
    person = await create(system, practitioner())
    token = issuer.issue(
        scope=scope,
        subject=unique("staff-"),
        client_id="neighbourhood-app",
        fhir_user=ref(person),
        organization=ref(org) if organization_claim else None,
        extra={"roles": list(roles)} if roles else None,
    )
    return Staff(person, org, token)


@dataclass
class Person:
    """A resident with a heart-rate Observation (the given code) in their record."""

    patient: Resource
    observation: Resource

    @property
    def id(self) -> str:
        return str(self.patient["id"])


async def new_person(system: httpx.AsyncClient, code: str | None = None) -> Person:
    person = await create(system, patient())
    seen = await create(system, observation(person["id"], code=code or unique("code-")))
    return Person(person, seen)


def resident_token(issuer: DevIssuer, patient_id: str, scope: str = "patient/*.rs") -> str:
    return issuer.issue(
        scope=scope,
        subject=unique("resident-"),
        client_id="my-care-record-app",
        patient=patient_id,
        fhir_user=f"Patient/{patient_id}",
    )


# --- the audit trail ------------------------------------------------------------------------

AuditTest = Callable[[Resource], bool]


async def audit_events(client: httpx.AsyncClient, patient_id: str) -> list[Resource]:
    bundle = (await client.get("AuditEvent", params={"patient": patient_id, "_count": 200})).json()
    return [r for r in matches(bundle) if r["resourceType"] == "AuditEvent"]


async def wait_for_audit(
    client: httpx.AsyncClient, patient_id: str, test: AuditTest, patience: float = 10.0
) -> Resource:
    """The first AuditEvent about the patient that passes ``test``; they arrive shortly after
    the request (the gateway queues them), so keep looking for a while."""
    deadline = time.monotonic() + patience
    events: list[Resource] = []
    while time.monotonic() < deadline:
        events = await audit_events(client, patient_id)
        found = next((e for e in events if test(e)), None)
        if found is not None:
            return found
        await asyncio.sleep(0.1)
    summary = json.dumps([_summary(e) for e in events], indent=1)
    raise AssertionError(f"no matching AuditEvent about Patient/{patient_id}; saw {summary}")


def _summary(event: Resource) -> Resource:
    return {
        "who": requestor(event),
        "outcome": event.get("outcome"),
        "subtype": [s.get("code") for s in event.get("subtype", [])],
    }


def requestor(event: Resource) -> str:
    """The person (or client) the event says made the request."""
    for agent in event.get("agent", []):
        if agent.get("requestor"):
            who = agent.get("who", {})
            return str(who.get("reference") or who.get("identifier", {}).get("value"))
    return ""


def by(who: str, *, outcome: str | None = None, interaction: str | None = None) -> AuditTest:
    """An AuditEvent test: made by ``who``, with this outcome ("0", "4") and interaction."""

    def test(event: Resource) -> bool:
        return (
            requestor(event) == who
            and (outcome is None or event.get("outcome") == outcome)
            and (interaction is None or interaction in subtypes(event))
        )

    return test


def subtypes(event: Resource) -> set[str]:
    return {s.get("code", "") for s in event.get("subtype", [])}


def patients_in(event: Resource) -> set[str]:
    """The patients an AuditEvent is about (its Patient entities)."""
    return {
        what.removeprefix("Patient/")
        for entity in event.get("entity", [])
        if (what := entity.get("what", {}).get("reference", "")).startswith("Patient/")
    }


def tags(resource: Resource) -> set[str]:
    return {t.get("code", "") for t in resource.get("meta", {}).get("tag", [])}


def purposes(event: Resource) -> Iterator[str]:
    for purpose in event.get("purposeOfEvent", []):
        for coding in purpose.get("coding", []):
            yield coding.get("code", "")
