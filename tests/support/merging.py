"""Helpers for the Patient/$merge and $unmerge tests: asking, reading the answers, and a
person recorded twice whose clinical record refers to the duplicate in many ways."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.fhir import condition, observation, patient
from tests.support.search import create

Resource = dict[str, Any]
# The public base a caller behind a proxy sees (the gateway sends these headers): references
# stored under it are absolute, as a client wrote them, and still name this record's patients.
FRONT = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "front.example"}
FRONT_BASE = "https://front.example/fhir"
ABOUT = "https://onestory.example.nhs.uk/StructureDefinition/test-about"


def person(**extra: Any) -> Resource:
    """A Patient registration cannot take for anyone else's: its family name is random
    letters (registration matching ignores digits, so ``unique()`` names can coincide)."""
    family = "".join(random.choices(string.ascii_lowercase, k=12)).capitalize()
    return patient(family=family, **extra)


# --- Asking ----------------------------------------------------------------------------------


def ref(patient_id: str) -> Resource:
    return {"reference": f"Patient/{patient_id}"}


def parameters(*given: Resource) -> Resource:
    return {"resourceType": "Parameters", "parameter": list(given)}


def pair(source_id: str, target_id: str, *more: Resource) -> Resource:
    return parameters(
        {"name": "source-patient", "valueReference": ref(source_id)},
        {"name": "target-patient", "valueReference": ref(target_id)},
        *more,
    )


PREVIEW = {"name": "preview", "valueBoolean": True}


async def merge(
    fhir: httpx.AsyncClient, body: Resource, status: int = 200, **headers: str
) -> Resource:
    response = await fhir.post("Patient/$merge", json=body, headers={**FRONT, **headers})
    assert response.status_code == status, response.text
    answer: Resource = response.json()
    return answer


async def unmerge(fhir: httpx.AsyncClient, body: Resource, status: int = 200) -> Resource:
    response = await fhir.post("Patient/$unmerge", json=body, headers=FRONT)
    assert response.status_code == status, response.text
    answer: Resource = response.json()
    return answer


def out(answer: Resource, name: str) -> Resource:
    (found,) = [p["resource"] for p in answer["parameter"] if p["name"] == name]
    assert isinstance(found, dict)
    return found


async def read(fhir: httpx.AsyncClient, reference: str) -> Resource:
    response = await fhir.get(reference)
    assert response.status_code == 200, response.text
    resource: Resource = response.json()
    return resource


def links(person: Resource) -> list[tuple[str, str]]:
    return [(link["type"], link["other"]["reference"]) for link in person.get("link", [])]


def names(reference: str, patient_id: str) -> bool:
    """Whether a reference (relative or absolute) names Patient/{id}."""
    return reference == f"Patient/{patient_id}" or reference.endswith(f"/Patient/{patient_id}")


# --- A person recorded twice -----------------------------------------------------------------


@dataclass
class Chart:
    """Two records of one person: the source's clinical record refers to it in many ways."""

    source: Resource
    target: Resource
    moved: dict[str, Resource] = field(default_factory=dict)  # label -> resource as created
    untouched: Resource | None = None  # the target's own Observation


async def chart(fhir: httpx.AsyncClient) -> Chart:
    source = await create(fhir, person(active=True))
    target = await create(fhir, person())
    sid, tid = source["id"], target["id"]
    made = Chart(source, target)
    for label, resource in {
        "observation": observation(sid),
        "absolute": {**observation(sid), "subject": {"reference": f"{FRONT_BASE}/Patient/{sid}"}},
        "condition": condition(sid),
        "encounter": {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": ref(sid),
        },
        "careplan": {
            "resourceType": "CarePlan",
            "status": "active",
            "intent": "plan",
            "subject": ref(sid),
        },
        "task": {
            "resourceType": "Task",
            "status": "requested",
            "intent": "order",
            "for": ref(sid),
            "extension": [{"url": ABOUT, "valueReference": ref(sid)}],
        },
        "careteam": {
            "resourceType": "CareTeam",
            "status": "active",
            "subject": ref(tid),
            "participant": [{"member": ref(sid)}],
        },
    }.items():
        made.moved[label] = await create(fhir, resource)
    made.untouched = await create(fhir, observation(tid))
    return made


def where(made: Chart, label: str) -> str:
    resource = made.moved[label]
    return f"{resource['resourceType']}/{resource['id']}"


def patient_references(resource: Resource) -> list[str]:
    """Every reference in the resource that names a Patient, in document order."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                if key == "reference" and isinstance(child, str) and "Patient/" in child:
                    found.append(child)
                else:
                    walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk({k: v for k, v in resource.items() if k != "meta"})
    return found
