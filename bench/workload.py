"""What the benchmark asks of a server, drawn from the people already loaded in it: their ids,
NHS numbers and family names, found by searching, so the same phases work on any FHIR R4
server. Every body and path is made here; bench/run.py decides how hard to send them."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from shared.fhir import terms
from shared.nhs_number import NHS_NUMBER_SYSTEM

Resource = dict[str, Any]
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
_HEART_RATE = {"coding": [{"system": LOINC, "code": "8867-4", "display": "Heart rate"}]}
_REFERENCE_DAY = date(2026, 11, 1)  # the population's dates count back from here


@dataclass(frozen=True)
class Sample:
    """Residents to ask about: ids, NHS numbers and family names, in the same order."""

    ids: list[str]
    nhs_numbers: list[str]
    families: list[str]


async def sample(client: httpx.AsyncClient, wanted: int) -> Sample:
    """Up to ``wanted`` residents with an NHS number, following the search's next links."""
    ids: list[str] = []
    numbers: list[str] = []
    families: list[str] = []
    url: str | None = f"Patient?identifier={quote(NHS_NUMBER_SYSTEM)}|&_count=500"
    while url and len(ids) < wanted:
        page = (await client.get(url)).raise_for_status().json()
        for entry in page.get("entry", []):
            patient = entry["resource"]
            number = next(
                (
                    i["value"]
                    for i in patient.get("identifier", [])
                    if i.get("system") == NHS_NUMBER_SYSTEM
                ),
                None,
            )
            family = (patient.get("name") or [{}])[0].get("family")
            if number and family:
                ids.append(patient["id"])
                numbers.append(number)
                families.append(family)
        url = next(
            (link["url"] for link in page.get("link", []) if link["relation"] == "next"), None
        )
    if not ids:
        raise SystemExit("No residents with NHS numbers found: load some first (bench.load)")
    return Sample(ids[:wanted], numbers[:wanted], families[:wanted])


def prefix_of(base: str) -> str:
    """The path of a FHIR base (``/fhir``), which every request line starts with."""
    return urlsplit(base).path.rstrip("/")


def reads(base: str, people: Sample) -> list[str]:
    return [f"{prefix_of(base)}/Patient/{id_}" for id_ in people.ids]


def by_identifier(base: str, people: Sample) -> list[str]:
    system = quote(NHS_NUMBER_SYSTEM, safe="")
    return [f"{prefix_of(base)}/Patient?identifier={system}%7C{n}" for n in people.nhs_numbers]


def by_name_prefix(base: str, people: Sample) -> list[str]:
    """Family names by their first three letters (string search matches on a prefix)."""
    prefixes = sorted({family[:3] for family in people.families})
    return [f"{prefix_of(base)}/Patient?family={quote(p)}" for p in prefixes]


def by_date_range(base: str, seed: int = 1) -> list[str]:
    """Encounters in one week, the weeks spread over the last two years."""
    rng = random.Random(seed)
    lines = []
    for _ in range(200):
        start = _REFERENCE_DAY - timedelta(days=rng.randrange(7, 730))
        end = start + timedelta(days=7)
        lines.append(f"{prefix_of(base)}/Encounter?date=ge{start}&date=lt{end}")
    return lines


def with_include(base: str, people: Sample) -> list[str]:
    return [
        f"{prefix_of(base)}/Condition?subject=Patient/{id_}&_include=Condition:subject"
        for id_ in people.ids
    ]


def summaries(base: str, people: Sample) -> list[str]:
    return [f"{prefix_of(base)}/Patient/{id_}/$summary" for id_ in people.ids]


def heart_rates(people: Sample, count: int, seed: int = 2) -> list[Resource]:
    """New heart rate Observations for residents, one per request."""
    rng = random.Random(seed)
    return [_heart_rate(rng, rng.choice(people.ids)) for _ in range(count)]


def consultations(people: Sample, entries: int, seed: int) -> Resource:
    """A transaction of ``entries`` entries: for each of ten residents, a consultation
    (Encounter), what was diagnosed in it (Condition) and what was measured (Observations)."""
    rng = random.Random(seed)
    bundle: list[Resource] = []
    while len(bundle) < entries:
        subject = f"Patient/{rng.choice(people.ids)}"
        encounter = f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
        bundle.append(_post(_encounter(subject), encounter))
        bundle.append(_post(_condition(subject, encounter)))
        for _ in range(8):
            bundle.append(
                _post(
                    {
                        **_heart_rate(rng, subject.split("/")[1]),
                        "encounter": {"reference": encounter},
                    }
                )
            )
    return {"resourceType": "Bundle", "type": "transaction", "entry": bundle[:entries]}


def a_long_story(resources: int) -> Resource:
    """One person with ``resources`` resources in all: years of encounters, conditions and
    observations (for $everything)."""
    person = f"urn:uuid:{uuid.uuid4()}"
    entries = [
        _post(
            {
                "resourceType": "Patient",
                "name": [{"family": "Longstory", "given": ["Bench"]}],
                "birthDate": "1938-05-01",
                "gender": "female",
            },
            person,
        )
    ]
    rng = random.Random(3)
    while len(entries) < resources:
        kind = len(entries) % 8
        if kind == 0:
            entries.append(_post(_encounter(person)))
        elif kind == 1:
            entries.append(_post(_condition(person)))
        else:
            entries.append(_post(_heart_rate(rng, person)))
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def referral(person_id: str) -> Resource:
    """A GP's referral of a resident to the single point of access, with the intake answers."""
    request = f"urn:uuid:{uuid.uuid4()}"
    subject = {"reference": f"Patient/{person_id}"}
    service_request = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "category": [{"coding": [terms.REFERRAL_CATEGORY]}],
        "subject": subject,
        "authoredOn": _REFERENCE_DAY.isoformat(),
        "extension": [
            {
                "url": terms.REFERRAL_CHANNEL_EXTENSION,
                "valueCoding": terms.coding(terms.REFERRAL_CHANNEL, "gp"),
            }
        ],
    }
    answers = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": terms.questionnaire("referral-intake"),
        "status": "completed",
        "subject": subject,
        "basedOn": [{"reference": request}],
        "item": [
            {
                "linkId": "presenting-problems",
                "answer": [{"valueCoding": terms.coding(terms.PRESENTING_PROBLEM, "fall")}],
            }
        ],
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [_post(service_request, request), _post(answers)],
    }


def _post(resource: Resource, full_url: str | None = None) -> Resource:
    entry: Resource = {
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def _heart_rate(rng: random.Random, person: str) -> Resource:
    subject = person if person.startswith("urn:") else f"Patient/{person}"
    when = _REFERENCE_DAY - timedelta(days=rng.randrange(730), minutes=rng.randrange(1440))
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": _HEART_RATE,
        "subject": {"reference": subject},
        "effectiveDateTime": f"{when.isoformat()}T10:00:00Z",
        "valueQuantity": {
            "value": rng.randrange(50, 110),
            "unit": "/min",
            "system": "http://unitsofmeasure.org",
            "code": "/min",
        },
    }


def _encounter(subject: str) -> Resource:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": terms.ACT_CODE, "code": "AMB", "display": "ambulatory"},
        "subject": {"reference": subject},
        "period": {"start": "2026-10-01T09:00:00Z", "end": "2026-10-01T09:15:00Z"},
    }


def _condition(subject: str, encounter: str | None = None) -> Resource:
    condition: Resource = {
        "resourceType": "Condition",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {
            "coding": [{"system": SNOMED, "code": "38341003", "display": "Hypertensive disorder"}]
        },
        "subject": {"reference": subject},
    }
    if encounter:
        condition["encounter"] = {"reference": encounter}
    return condition
