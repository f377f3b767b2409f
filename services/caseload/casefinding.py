"""Case finding through the gateway: a person's eFI recomputed from what the record holds and
stored as a RiskAssessment, and a neighbourhood team's list of candidates as a Group.

A person is reassessed when their Conditions or Encounters change (Subscription) and in the
nightly batch. A result the same as the latest stored one writes nothing, so repeats (and
at-least-once notifications) are harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from opentelemetry import metrics

from services.caseload.deficits import DeficitTable
from services.caseload.frailty import (
    Candidate,
    FrailtyIndex,
    NotEligible,
    PersonRisk,
    age_on,
    candidates,
    coded_entry,
    electronic_frailty_index,
    risk_assessment,
    risk_from_assessment,
)
from services.caseload.teams import practices_served
from services.caseload.urgent_care import UrgentCareUse, months_before, urgent_care_use
from shared.fhir.dates import stamp
from shared.fhir.terms import (
    BASE,
    EFI_RISK,
    EPISODE_TYPE,
    PROACTIVE_CASE_MANAGEMENT,
    code_system,
)
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
Clock = Callable[[], datetime]
CANDIDATES_ID = f"{BASE}/Id/case-finding-list"
CASE_FINDING = code_system("case-finding")
_ACTIVE_MEDICINES = "active,intended,on-hold"
_assessed = metrics.get_meter("onestory.caseload").create_counter(
    "onestory.caseload.efi", description="eFI assessments, by outcome (written or unchanged)"
)


@dataclass(frozen=True, slots=True)
class Assessed:
    patient: str
    frailty: FrailtyIndex
    urgent_care: UrgentCareUse
    assessment: Resource  # the RiskAssessment as stored
    written: bool  # False: the latest stored one said the same


async def assess(
    client: FhirClient, patient_id: str, *, table: DeficitTable, now: datetime
) -> Assessed | None:
    """Recompute one person's eFI and store it if it changed; None under 65 (or unknown age)."""
    patient, conditions, statements, requests, encounters, latest = await _batch(
        client, patient_id, since=months_before(now.date(), 12)
    )
    born = _birth_date(patient)
    if born is None:
        return None
    frailty = electronic_frailty_index(
        table,
        conditions=[coded_entry(c) for c in conditions],
        medication_count=_medicines(statements + requests),
        age=age_on(born, now.date()),
    )
    if isinstance(frailty, NotEligible):
        return None
    use = urgent_care_use(encounters, today=now.date())
    reference = f"Patient/{patient_id}"
    assessment = risk_assessment(reference, frailty, use, now=now)
    if latest and _same(latest[0], assessment):
        _assessed.add(1, {"outcome": "unchanged"})
        return Assessed(reference, frailty, use, latest[0], written=False)
    stored = await client.create(assessment)
    _assessed.add(1, {"outcome": "written", "band": frailty.band})
    return Assessed(reference, frailty, use, stored, written=True)


async def adults_to_assess(client: FhirClient, *, today: date, minimum_age: int) -> list[str]:
    """The ids of everyone old enough for the eFI (the nightly batch's population)."""
    born_by = months_before(today, 12 * minimum_age)
    found = await client.search_all(
        "Patient",
        [("birthdate", f"le{born_by.isoformat()}"), ("active:not", "false"), ("_count", "500")],
    )
    return [str(p["id"]) for p in found if p.get("resourceType") == "Patient"]


async def candidate_list(client: FhirClient, team: Resource, *, now: datetime) -> Resource:
    """The team's case-finding list as a Group, stored once per team (updated in place): the
    people registered with the practices it serves whose latest eFI is moderate or severe, or
    whose use of urgent care is high, and who are not on a caseload, most at risk first."""
    practices = ",".join(sorted(practices_served(team)))
    risks = await _risks(client, practices) if practices else []
    group = _group(team, candidates(risks), now=now)
    identifier = group["identifier"][0]
    answer = await client.request(
        "PUT",
        "Group",
        params={"identifier": f"{identifier['system']}|{identifier['value']}"},
        body=group,
    )
    return dict(answer.json())


async def _risks(client: FhirClient, practices: str) -> list[PersonRisk]:
    """The latest eFI of everyone registered with the practices, and who is on a caseload."""
    assessments = await client.search_all(
        "RiskAssessment",
        [
            EFI_RISK,
            ("patient.general-practitioner", practices),
            ("_sort", "-date"),
            ("_count", "1000"),
        ],
    )
    episodes = await client.search_all(
        "EpisodeOfCare",
        [
            ("type", f"{EPISODE_TYPE}|{PROACTIVE_CASE_MANAGEMENT}"),
            ("status", "active"),
            ("patient.general-practitioner", practices),
            ("_count", "1000"),
        ],
    )
    enrolled = {str(e["patient"]["reference"]) for e in episodes if e.get("patient")}
    latest: dict[str, Resource] = {}
    for assessment in assessments:  # newest first: the first of each person is their latest
        latest.setdefault(str(assessment["subject"]["reference"]), assessment)
    found = (
        risk_from_assessment(patient, assessment, on_caseload=patient in enrolled)
        for patient, assessment in latest.items()
    )
    return [risk for risk in found if risk is not None]


def _group(team: Resource, listed: tuple[Candidate, ...], *, now: datetime) -> Resource:
    return {
        "resourceType": "Group",
        "identifier": [{"system": CANDIDATES_ID, "value": str(team["id"])}],
        "active": True,
        "type": "person",
        "actual": True,
        "code": {"coding": [{"system": CASE_FINDING, "code": "candidates"}]},
        "name": f"Case finding: {team.get('name', 'neighbourhood team')} ({stamp(now)[:10]})",
        "managingEntity": {"reference": f"CareTeam/{team['id']}"},
        "quantity": len(listed),
        "member": [
            {
                "entity": {
                    "reference": candidate.patient,
                    "display": f"{candidate.rank}. " + "; ".join(candidate.reasons),
                },
                "period": {"start": stamp(now)},
            }
            for candidate in listed
        ],
    }


async def _batch(client: FhirClient, patient_id: str, *, since: date) -> list[list[Resource]]:
    searches = [
        f"Patient?_id={patient_id}",
        f"Condition?patient={patient_id}&clinical-status=active&_count=500",
        f"MedicationStatement?patient={patient_id}&status={_ACTIVE_MEDICINES}&_count=200",
        f"MedicationRequest?patient={patient_id}&status=active&_count=200",
        f"Encounter?patient={patient_id}&date=ge{since.isoformat()}&_count=500",
        f"RiskAssessment?patient={patient_id}&{EFI_RISK[0]}={EFI_RISK[1]}&_sort=-date&_count=1",
    ]
    return await client.searches(searches)


def _birth_date(patients: list[Resource]) -> date | None:
    try:
        return date.fromisoformat(str(patients[0]["birthDate"])) if patients else None
    except (KeyError, ValueError):
        return None


def _medicines(entries: list[Resource]) -> int:
    """Distinct current medicines: one per coded medication (or per text when uncoded)."""
    seen = set()
    for entry in entries:
        concept = entry.get("medicationCodeableConcept") or {}
        codes = [f"{c.get('system')}|{c.get('code')}" for c in concept.get("coding") or []]
        reference = (entry.get("medicationReference") or {}).get("reference")
        seen.add(codes[0] if codes else reference or concept.get("text") or entry.get("id"))
    return len(seen)


def _same(stored: Resource, fresh: Resource) -> bool:
    """Does the latest stored eFI already say what the fresh one says?"""

    def essence(assessment: Resource) -> tuple[Any, ...]:
        prediction = (assessment.get("prediction") or [{}])[0]
        basis = sorted(str(b.get("reference")) for b in assessment.get("basis") or [])
        notes = [n.get("text") for n in assessment.get("note") or []]
        return prediction.get("probabilityDecimal"), prediction.get("qualitativeRisk"), basis, notes

    return essence(stored) == essence(fresh)
