"""The clinical history of one demo resident: conditions, encounters and observations.

Part of the demo population (``demo.py``). Older and frailer people get more conditions,
more contacts with community services and, for the frailest, emergency attendances and
admissions to Queen Alexandra Hospital. Vital signs are recorded at GP and home visits;
people with type 2 diabetes also have HbA1c results from the hospital laboratory.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.record import demo_data as data
from services.record.demo_builder import (
    BundleBuilder,
    Directory,
    History,
    Person,
    Reference,
    Resource,
    concept,
    moment,
)
from shared.fhir import terms

_ENCOUNTER_CLASSES = {
    "AMB": "ambulatory",
    "EMER": "emergency",
    "IMP": "inpatient encounter",
    "HH": "home health",
}
_ENCOUNTER_LABELS = {
    "AMB": "GP appointment",
    "EMER": "Emergency department attendance",
    "IMP": "Emergency admission",
    "HH": "Home visit",
}
_LAST_TWO_YEARS = 730
_BP_PANEL = "Blood pressure panel with all children optional"


@dataclass(frozen=True)
class Vitals:
    """A person's usual readings; each measurement varies around them."""

    systolic: int
    diastolic: int
    heart_rate: int
    heart_rate_spread: int
    weight_kg: float


@dataclass(frozen=True)
class Diagnosis:
    spec: data.ConditionSpec
    condition: Reference


def add_clinical_history(builder: BundleBuilder, directory: Directory, person: Person) -> History:
    rng = builder.rng
    gp = rng.choice(directory.people(person.practice_key, "gp"))
    specs = _pick_conditions(rng, person.age)
    diagnoses = [Diagnosis(spec, add_condition(builder, person, spec, gp)) for spec in specs]
    codes = {spec.code for spec in specs}
    vitals = _usual_vitals(rng, person, codes)
    frailty = sum(spec.frailty for spec in specs) + (person.age >= 75) + 2 * (person.age >= 85)
    _add_gp_appointments(builder, directory, person, gp, vitals, diagnoses)
    if person.age >= 75 or frailty >= 4:
        _add_home_visits(builder, directory, person, vitals, diagnoses, frailty)
    admissions = _add_emergencies(builder, directory, person, diagnoses, frailty)
    if data.DIABETES in codes:
        _add_hba1c_results(builder, directory, person)
    by_frailty = sorted(diagnoses, key=lambda d: -d.spec.frailty)
    return History(person, frailty, tuple(d.condition for d in by_frailty), admissions)


# --- Conditions -----------------------------------------------------------------------------


def _pick_conditions(rng: random.Random, age: int) -> list[data.ConditionSpec]:
    """1-6 distinct conditions, more for older people, drawn by age-specific prevalence."""
    if age >= 65:
        count = rng.choices(range(1, 7), weights=(1, 3, 4, 3, 2, 2))[0]
    else:
        count = rng.choices(range(1, 4), weights=(5, 3, 1))[0]
    pool = [
        (spec, spec.weight_older if age >= 65 else spec.weight_younger) for spec in data.CONDITIONS
    ]
    chosen: list[data.ConditionSpec] = []
    for _ in range(count):
        candidates = [(spec, weight) for spec, weight in pool if weight and spec not in chosen]
        specs, weights = zip(*candidates, strict=True)
        chosen.append(rng.choices(specs, weights=weights)[0])
    return chosen


def add_condition(
    builder: BundleBuilder, person: Person, spec: data.ConditionSpec, gp: Reference
) -> Reference:
    rng = builder.rng
    if spec.code == "161898004":  # falls are recent events
        onset = data.REFERENCE_DATE - timedelta(days=rng.randrange(14, _LAST_TWO_YEARS))
    else:
        years = rng.randint(1, max(1, min(30, person.age - 20)))
        onset = data.REFERENCE_DATE - timedelta(days=years * 365 + rng.randrange(365))
    recorded = min(onset + timedelta(days=rng.randrange(0, 60)), data.REFERENCE_DATE)
    resource: Resource = {
        "resourceType": "Condition",
        "clinicalStatus": concept(data.CONDITION_CLINICAL, "active", "Active"),
        "verificationStatus": concept(data.CONDITION_VERIFICATION, "confirmed", "Confirmed"),
        "category": [concept(data.CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
        "code": {**concept(data.SNOMED, spec.code, spec.display), "text": spec.display},
        "subject": person.patient.ref(),
        "onsetDateTime": onset.isoformat(),
        "recordedDate": recorded.isoformat(),
        "recorder": gp.ref(),
    }
    return Reference(builder.add(resource), spec.display)


# --- Encounters -----------------------------------------------------------------------------


def _add_gp_appointments(
    builder: BundleBuilder,
    directory: Directory,
    person: Person,
    gp: Reference,
    vitals: Vitals,
    diagnoses: list[Diagnosis],
) -> None:
    rng = builder.rng
    for _ in range(rng.randint(1, 4) + (person.age >= 75)):
        start = moment(rng, 1, _LAST_TWO_YEARS)
        encounter = _add_encounter(
            builder,
            person,
            "AMB",
            (start, start + timedelta(minutes=rng.choice((10, 15, 20)))),
            provider=directory.orgs[person.practice_key],
            practitioner=gp,
            reasons=[rng.choice(diagnoses).condition],
        )
        _add_vital_signs(builder, person, vitals, start, encounter, weigh=rng.random() < 0.5)


def _add_home_visits(
    builder: BundleBuilder,
    directory: Directory,
    person: Person,
    vitals: Vitals,
    diagnoses: list[Diagnosis],
    frailty: int,
) -> None:
    rng = builder.rng
    nurses = directory.people("community", "nurse")
    case_managers = directory.people("community", "case-manager")
    for _ in range(rng.randint(1, 3) + (frailty >= 6)):
        start = moment(rng, 1, _LAST_TWO_YEARS)
        visitor = rng.choice(case_managers if frailty >= 6 and rng.random() < 0.5 else nurses)
        encounter = _add_encounter(
            builder,
            person,
            "HH",
            (start, start + timedelta(minutes=rng.choice((30, 45, 60)))),
            provider=directory.orgs["community"],
            practitioner=visitor,
            reasons=[rng.choice(diagnoses).condition],
        )
        _add_vital_signs(builder, person, vitals, start, encounter, weigh=False)


def _add_emergencies(
    builder: BundleBuilder,
    directory: Directory,
    person: Person,
    diagnoses: list[Diagnosis],
    frailty: int,
) -> int:
    """Emergency attendances at QA; the frailest have several and are often admitted.
    Returns the number of admissions."""
    rng = builder.rng
    frail = frailty >= 6
    if frail:
        attendances = rng.randint(1, 3)
    else:
        attendances = int(rng.random() < (0.08 if person.age >= 65 else 0.04))
    admissions = 0
    for _ in range(attendances):
        arrival = moment(rng, 30, _LAST_TWO_YEARS, first_hour=0, last_hour=23)
        seen = arrival + timedelta(hours=rng.randint(2, 9))
        reason = _emergency_reason(rng, diagnoses)
        _add_encounter(
            builder,
            person,
            "EMER",
            (arrival, seen),
            provider=directory.orgs["acute"],
            reasons=[reason],
            location=directory.locations["qa"],
        )
        if rng.random() < (0.7 if frail else 0.3):
            _add_admission(builder, directory, person, seen, reason, frail=frail)
            admissions += 1
    return admissions


def _add_admission(
    builder: BundleBuilder,
    directory: Directory,
    person: Person,
    start: datetime,
    reason: Reference,
    *,
    frail: bool,
) -> None:
    """An emergency admission under a geriatrician, straight from the emergency department."""
    rng = builder.rng
    stay = timedelta(days=rng.randint(2, 21 if frail else 7), hours=rng.randint(0, 8))
    _add_encounter(
        builder,
        person,
        "IMP",
        (start, start + stay),
        provider=directory.orgs["acute"],
        practitioner=rng.choice(directory.people("acute", "geriatrician")),
        reasons=[reason],
        location=directory.locations["qa"],
        emergency=True,
    )


def add_recent_stay(
    builder: BundleBuilder,
    directory: Directory,
    history: History,
    period: tuple[datetime, datetime | None],
    episode: Reference,
) -> None:
    """The emergency admission a discharge-to-assess episode follows: still in hospital
    (no end) or discharged in the last few weeks."""
    _add_encounter(
        builder,
        history.person,
        "IMP",
        period,
        provider=directory.orgs["acute"],
        practitioner=builder.rng.choice(directory.people("acute", "geriatrician")),
        reasons=list(history.conditions[:1]),
        location=directory.locations["qa"],
        episode=episode,
    )


def _emergency_reason(rng: random.Random, diagnoses: list[Diagnosis]) -> Reference:
    """Falls, heart failure and COPD are the usual reasons a frail person comes in."""
    urgent = [d for d in diagnoses if d.spec.frailty >= 2]
    return rng.choice(urgent or diagnoses).condition


def _add_encounter(
    builder: BundleBuilder,
    person: Person,
    class_code: str,
    period: tuple[datetime, datetime | None],
    *,
    provider: Reference,
    reasons: list[Reference],
    practitioner: Reference | None = None,
    location: Reference | None = None,
    episode: Reference | None = None,
    emergency: bool = False,
) -> Reference:
    start, end = period
    resource: Resource = {
        "resourceType": "Encounter",
        "status": "finished" if end else "in-progress",
        "class": {
            "system": data.ACT_CODE,
            "code": class_code,
            "display": _ENCOUNTER_CLASSES[class_code],
        },
        "subject": person.patient.ref(),
        "period": {"start": start.isoformat(), **({"end": end.isoformat()} if end else {})},
        "reasonReference": [reason.ref() for reason in reasons],
        "serviceProvider": provider.ref(),
    }
    if practitioner is not None:
        resource["participant"] = [{"individual": practitioner.ref()}]
    if location is not None:
        resource["location"] = [{"location": location.ref()}]
    if episode is not None:
        resource["episodeOfCare"] = [episode.ref()]
    if emergency:  # admitted as an emergency, from the emergency department
        resource["priority"] = {"coding": [{"system": terms.ACT_PRIORITY, "code": "EM"}]}
        resource["hospitalization"] = {
            "admitSource": {"coding": [{"system": terms.ADMIT_SOURCE, "code": "emd"}]}
        }
    label = f"{_ENCOUNTER_LABELS[class_code]} {start.date().isoformat()}"
    return Reference(builder.add(resource), label)


# --- Observations ---------------------------------------------------------------------------


def _usual_vitals(rng: random.Random, person: Person, codes: set[str]) -> Vitals:
    hypertensive = data.HYPERTENSION in codes
    heavy = person.sex == "male"
    return Vitals(
        systolic=rng.randint(138, 158) if hypertensive else rng.randint(112, 136),
        diastolic=rng.randint(78, 92) if hypertensive else rng.randint(64, 82),
        heart_rate=rng.randint(62, 84),
        heart_rate_spread=20 if data.ATRIAL_FIBRILLATION in codes else 6,
        weight_kg=rng.uniform(62, 105) if heavy else rng.uniform(48, 88),
    )


def _add_vital_signs(
    builder: BundleBuilder,
    person: Person,
    vitals: Vitals,
    when: datetime,
    encounter: Reference,
    *,
    weigh: bool,
) -> None:
    rng = builder.rng
    systolic = vitals.systolic + rng.randint(-10, 10)
    diastolic = min(vitals.diastolic + rng.randint(-6, 6), systolic - 30)
    panel = _observation(person, "vital-signs", "85354-9", _BP_PANEL, when)
    panel["component"] = [
        _component("8480-6", "Systolic blood pressure", _quantity(systolic, "mmHg", "mm[Hg]")),
        _component("8462-4", "Diastolic blood pressure", _quantity(diastolic, "mmHg", "mm[Hg]")),
    ]
    readings = [panel, _observation(person, "vital-signs", "8867-4", "Heart rate", when)]
    spread = vitals.heart_rate_spread
    pulse = vitals.heart_rate + rng.randint(-spread, spread)
    readings[1]["valueQuantity"] = _quantity(pulse, "beats/minute", "/min")
    if weigh:
        weight = round(vitals.weight_kg + rng.uniform(-2.5, 2.5), 1)
        readings.append(_observation(person, "vital-signs", "29463-7", "Body weight", when))
        readings[-1]["valueQuantity"] = _quantity(weight, "kg", "kg")
    for reading in readings:
        reading["encounter"] = encounter.ref()
        builder.add(reading)


def _add_hba1c_results(builder: BundleBuilder, directory: Directory, person: Person) -> None:
    """Six-monthly HbA1c results from the hospital laboratory, over the last two years."""
    rng = builder.rng
    usual = rng.uniform(6.4, 8.8)
    for index in range(rng.randint(2, 4)):
        days_back = 20 + index * 180 + rng.randrange(30)
        when = moment(rng, days_back, days_back)
        result = _observation(
            person, "laboratory", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", when
        )
        value = round(usual + rng.uniform(-0.5, 0.5), 1)
        result["valueQuantity"] = _quantity(value, "%", "%")
        result["performer"] = [directory.orgs["acute"].ref()]
        builder.add(result)


def _observation(
    person: Person, category: str, code: str, display: str, when: datetime
) -> Resource:
    category_display = "Vital Signs" if category == "vital-signs" else "Laboratory"
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [concept(data.OBSERVATION_CATEGORY, category, category_display)],
        "code": {**concept(data.LOINC, code, display), "text": display},
        "subject": person.patient.ref(),
        "effectiveDateTime": when.isoformat(),
    }


def _component(code: str, display: str, quantity: Resource) -> Resource:
    return {"code": concept(data.LOINC, code, display), "valueQuantity": quantity}


# --- Small helpers --------------------------------------------------------------------------


def _quantity(value: float, unit: str, ucum_code: str) -> Resource:
    return {"value": value, "unit": unit, "system": data.UCUM, "code": ucum_code}
