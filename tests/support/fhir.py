"""Builders of realistic test resources, each unique so tests never see each other's data."""

from __future__ import annotations

import random
import string
from typing import Any

from shared.nhs_number import NHS_NUMBER_SYSTEM, generate

_rng = random.Random()
_unique_rng = random.SystemRandom()
_issued: set[str] = set()


def nhs_number() -> str:
    """A valid NHS number no other test of this process has had: registration would find
    that test's patient under it. (Each test process has a database of its own.)"""
    while (number := generate(_rng)) in _issued:
        pass
    _issued.add(number)
    return number


def unique(prefix: str = "") -> str:
    """A token unlikely to appear in any other test: for names, codes and identifiers. Letters
    only: registration compares names by their letters, so digits would not tell two apart."""
    return prefix + "".join(_unique_rng.choices(string.ascii_lowercase, k=10))


def patient(
    *,
    nhs: str | None = None,
    family: str | None = None,
    given: str = "Margaret",
    birth_date: str = "1941-06-14",
    postcode: str = "PO4 0LE",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": nhs or nhs_number()}],
        "name": [{"family": family or unique("Family"), "given": [given]}],
        "gender": "female",
        "birthDate": birth_date,
        "address": [{"line": ["12 Albert Road"], "city": "Portsmouth", "postalCode": postcode}],
        **extra,
    }


def observation(
    patient_id: str,
    *,
    code: str = "8867-4",
    value: float = 72,
    effective: str = "2026-10-01T09:30:00Z",
    unit: str = "/min",
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": effective,
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def condition(
    patient_id: str, *, code: str = "44054006", onset: str = "2019-03-02"
) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "onsetDateTime": onset,
    }


def refused(answer: Any, status: int, text: str = "") -> None:
    """The answer is an OperationOutcome with ``status`` whose first issue mentions ``text``."""
    assert answer.status_code == status, answer.text
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert text in outcome["issue"][0].get("diagnostics", ""), outcome
