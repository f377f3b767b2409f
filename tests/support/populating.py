"""A person the record knows well, and how to ask ``Questionnaire/$populate`` about them:
the builders and fixture the $populate tests share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.record.sdc.extensions import PREFILL_SOURCE
from shared.fhir.validation import validate
from shared.nhs_number import NHS_NUMBER_SYSTEM
from tests.support.fhir import unique
from tests.support.search import create, fresh_nhs_number

Resource = dict[str, Any]

SITE = "https://onestory.example.nhs.uk/"
INTAKE = SITE + "Questionnaire/referral-intake"
SHIPPED = ("referral-intake", "holistic-assessment", "dsr-risk-review", "about-me")
SNOMED = "http://snomed.info/sct"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
UK_ROLE = "https://fhir.hl7.org.uk/CodeSystem/UKCore-AdditionalPersonRelationshipRole"
CFS = {"system": SNOMED, "code": "763264000"}
WEIGHT = {"system": "http://loinc.org", "code": "29463-7"}
AF = {"system": SNOMED, "code": "49436004", "display": "Atrial fibrillation"}
DIABETES = {"system": SNOMED, "code": "44054006", "display": "Type 2 diabetes mellitus"}
ASTHMA = {"system": SNOMED, "code": "195967001", "display": "Asthma"}
PENICILLIN = {"system": SNOMED, "code": "91936005", "display": "Allergy to penicillin"}


# --- The person and what the record knows about them ---------------------------------------


def ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def subject(patient: Resource) -> Resource:
    return {"reference": f"Patient/{patient['id']}"}


def condition(patient: Resource, code: Resource, status: str = "active") -> Resource:
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": status}]},
        "code": {"coding": [code], "text": code["display"]},
        "subject": subject(patient),
    }


def observation(
    patient: Resource, code: Resource, when: str, status: str = "final", **value: Any
) -> Resource:
    return {
        "resourceType": "Observation",
        "status": status,
        "code": {"coding": [code]},
        "subject": subject(patient),
        "effectiveDateTime": when,
        **value,
    }


def score(value: int) -> dict[str, Any]:
    return {"valueInteger": value}


def related(patient: Resource, given: str, family: str, phone: str, role: Resource) -> Resource:
    return {
        "resourceType": "RelatedPerson",
        "patient": subject(patient),
        "relationship": [{"coding": [role]}],
        "name": [{"given": [given], "family": family}],
        "telecom": [{"system": "phone", "value": phone}],
    }


def response(patient: Resource, status: str, authored: str, items: list[Resource]) -> Resource:
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": INTAKE + "|1.0.0",
        "status": status,
        "subject": subject(patient),
        "authored": authored,
        "item": items,
    }


def text_item(link_id: str, text: str) -> Resource:
    return {"linkId": link_id, "answer": [{"valueString": text}]}


async def known_person(fhir: httpx.AsyncClient) -> dict[str, Resource]:
    """A resident the record knows well: demographics, GP practice, a carer (and a neighbour
    who is not one), conditions, an allergy, observations, and a referral answered before."""
    practice = await create(fhir, {"resourceType": "Organization", "name": "Southsea Green"})
    patient = await create(
        fhir,
        {
            "resourceType": "Patient",
            "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": await fresh_nhs_number(fhir)}],
            "name": [
                {"use": "nickname", "given": ["Dot"]},
                {"use": "official", "family": unique("Family"), "given": ["Doreen", "May"]},
            ],
            "gender": "female",
            "birthDate": "1938-04-02",
            "address": [
                {"use": "work", "line": ["Civic Offices"], "city": "Portsmouth"},
                {
                    "use": "home",
                    "line": ["Flat 2", "12 Albert Road"],
                    "city": "Southsea",
                    "postalCode": "PO4 0LE",
                },
            ],
            "telecom": [
                {"system": "phone", "use": "home", "value": "023 9200 0001"},
                {"system": "phone", "use": "mobile", "value": "07700 900123"},
            ],
            "generalPractitioner": [{"reference": f"Organization/{practice['id']}"}],
        },
    )
    carer_role = {"system": UK_ROLE, "code": "Carer"}
    neighbour_role = {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "NBOR"}
    known = {
        "practice": practice,
        "patient": patient,
        "neighbour": await create(
            fhir, related(patient, "Nora", "Byrne", "07700 900999", neighbour_role)
        ),
        "carer": await create(fhir, related(patient, "Alan", "Hughes", "07700 900456", carer_role)),
        "af": await create(fhir, condition(patient, AF)),
        "diabetes": await create(fhir, condition(patient, DIABETES)),
        "asthma": await create(fhir, condition(patient, ASTHMA, status="resolved")),
        "allergy": await create(
            fhir,
            {
                "resourceType": "AllergyIntolerance",
                "clinicalStatus": {"coding": [{"system": ALLERGY_CLINICAL, "code": "active"}]},
                "code": {"coding": [PENICILLIN]},
                "patient": subject(patient),
            },
        ),
        "frailty": await create(fhir, observation(patient, CFS, ago(60), **score(6))),
        "frailty-old": await create(fhir, observation(patient, CFS, ago(240), **score(4))),
        "frailty-draft": await create(
            fhir, observation(patient, CFS, ago(2), status="preliminary", **score(7))
        ),
        "weight-old": await create(
            fhir,
            observation(
                patient,
                WEIGHT,
                ago(365),
                valueQuantity={
                    "value": 61.5,
                    "unit": "kg",
                    "system": "http://unitsofmeasure.org",
                    "code": "kg",
                },
            ),
        ),
    }
    known["previous"] = await create(
        fhir,
        response(
            patient,
            "completed",
            ago(30),
            [
                {"linkId": "referral", "item": [text_item("reason", "Fell in the garden")]},
                {
                    "linkId": "person",
                    "item": [
                        text_item(
                            "communication-needs", "Hard of hearing: face her and speak clearly"
                        ),
                        text_item("access-notes", "Key safe by the back door; code from Alan"),
                        text_item("family-name", "Maiden-name"),
                    ],
                },
                {
                    "linkId": "consent",
                    "item": [{"linkId": "consent-to-share", "answer": [{"valueBoolean": True}]}],
                },
            ],
        ),
    )
    # A newer form never finished: not what the person told us.
    await create(
        fhir,
        response(patient, "in-progress", ago(1), [text_item("access-notes", "half-typed draft")]),
    )
    return known


# --- Asking, and reading the answer -------------------------------------------------------------


def parameters(*given: Resource) -> Resource:
    return {"resourceType": "Parameters", "parameter": list(given)}


def subject_parameter(patient: Resource) -> Resource:
    return {"name": "subject", "valueReference": subject(patient)}


async def populate(
    fhir: httpx.AsyncClient, path: str, body: Resource
) -> tuple[Resource, list[Resource]]:
    answer = await fhir.post(path, json=body)
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["resourceType"] == "Parameters"
    found = {p["name"]: p["resource"] for p in out["parameter"]}
    assert set(found) <= {"response", "issues"}
    validate({**found["response"], "id": "check"})
    return found["response"], found.get("issues", {}).get("issue", [])


def answers(questionnaire_response: Resource) -> dict[str, list[tuple[Any, str, str | None]]]:
    """linkId -> [(value, kind, source reference)] for every answered question."""
    found: dict[str, list[tuple[Any, str, str | None]]] = {}

    def walk(items: list[Resource]) -> None:
        for item in items:
            for answer in item.get("answer", []):
                (value,) = [v for k, v in answer.items() if k.startswith("value")]
                (source,) = [e for e in answer["extension"] if e["url"] == PREFILL_SOURCE]
                parts = {p["url"]: p for p in source["extension"]}
                reference = parts.get("source", {}).get("valueReference", {}).get("reference")
                found.setdefault(item["linkId"], []).append(
                    (value, parts["kind"]["valueCode"], reference)
                )
            walk(item.get("item", []))

    walk(questionnaire_response.get("item", []))
    return found


def link_ids(items: list[Resource]) -> list[str]:
    return [i["linkId"] for i in items] + [x for i in items for x in link_ids(i.get("item", []))]
