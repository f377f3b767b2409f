"""What the register writes, as FHIR resources under the DSR security label (pure): the rating
on the entry and the RiskAssessment that keeps its history, the action plan, the Flag, a
best-interests decision, the review and C(E)TR Tasks, and how they are read back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.dsr import register as rules
from services.dsr import reviews
from shared.fhir.dates import instant, stamp
from shared.fhir.entries import created_at, new_id, unversioned
from shared.fhir.terms import (
    DSR_LABEL,
    DSR_RATING_EXTENSION,
    DSR_RISK_ASSESSMENT,
    RAG_RATING,
    RAG_RATINGS,
    TASK_CODE,
    coding,
    structure_definition,
)

Resource = dict[str, Any]
APPLICATION = "onestory-dsr"
RATING_EXTENSION = DSR_RATING_EXTENSION  # valueCoding: the rating now
CONSENT_EXTENSION = structure_definition("dsr-consent")  # valueReference: the entry's Consent
DISCHARGED_EXTENSION = structure_definition("dsr-discharged")  # valueDateTime: last MH discharge
REVIEW_TASK, CETR_TASK = "dsr-review", "cetr"
REGISTER_REVIEW_TASK = "dsr-register-review"  # the whole register, monthly


def rerated(
    episode: Resource,
    rating: str,
    reason: str,
    by: str,
    now: datetime,
    *,
    answers: str | None = None,
) -> tuple[Resource, list[Resource]]:
    """The entry with its new rating, and the RiskAssessment that records it (the history)."""
    updated = {**unversioned(episode), "extension": _with_rating(episode, rating)}
    assessment = rating_assessment(
        episode["patient"]["reference"], rating, reason, answers, by, now
    )
    return updated, [created_at(assessment)]


def cetr_task(episode: Resource, due: reviews.Due, now: datetime) -> Resource:
    return _planned_task(episode, CETR_TASK, due, now)


def review_task(episode: Resource, due: reviews.Due, now: datetime) -> Resource:
    return _planned_task(episode, REVIEW_TASK, due, now)


def discharged_at(episode: Resource) -> datetime | None:
    """When the person last left a mental health inpatient unit, if they have."""
    for extension in episode.get("extension") or []:
        if extension.get("url") == DISCHARGED_EXTENSION and extension.get("valueDateTime"):
            return instant(str(extension["valueDateTime"]))
    return None


def with_discharge(episode: Resource, at: datetime) -> Resource:
    kept = [e for e in episode.get("extension") or [] if e.get("url") != DISCHARGED_EXTENSION]
    return {
        **episode,
        "extension": [*kept, {"url": DISCHARGED_EXTENSION, "valueDateTime": stamp(at)}],
    }


def consent_of(episode: Resource) -> str | None:
    """The Consent the entry rests on (None for a best-interests entry)."""
    for extension in episode.get("extension") or []:
        if extension.get("url") == CONSENT_EXTENSION:
            return str((extension.get("valueReference") or {}).get("reference"))
    return None


def labelled(resource: Resource) -> Resource:
    return {**resource, "meta": {"security": [DSR_LABEL]}}


def rating_of(episode: Resource) -> str | None:
    for extension in episode.get("extension") or []:
        if extension.get("url") == RATING_EXTENSION:
            return str((extension.get("valueCoding") or {}).get("code"))
    return None


def _planned_task(episode: Resource, code: str, due: reviews.Due, now: datetime) -> Resource:
    return labelled(
        {
            "resourceType": "Task",
            "id": new_id(),
            "status": "requested",
            "intent": "plan",
            "code": {"coding": [coding(TASK_CODE, code)], "text": due.what},
            "description": due.why,
            "for": episode["patient"],
            "basedOn": [{"reference": f"EpisodeOfCare/{episode['id']}"}],
            "owner": episode["careManager"],
            "authoredOn": stamp(now),
            "restriction": {"period": {"end": stamp(due.due)}},
        }
    )


def rating_assessment(
    patient: str, rating: str, reason: str, answers: str | None, by: str, now: datetime
) -> Resource:
    outcome = coding(RAG_RATING, rating, RAG_RATINGS[rating])
    assessment: Resource = {
        "resourceType": "RiskAssessment",
        "id": new_id(),
        "status": "final",
        "code": {"coding": [dict(DSR_RISK_ASSESSMENT)], "text": "DSR RAG rating"},
        "subject": {"reference": patient},
        "occurrenceDateTime": stamp(now),
        "prediction": [{"outcome": {"coding": [outcome], "text": rating}, "rationale": reason}],
    }
    if by.startswith("Practitioner/"):
        assessment["performer"] = {"reference": by}
    if answers:
        assessment["basis"] = [{"reference": answers}]
    return labelled(assessment)


def action_plan(episode: Resource, asked: dict[str, Any], now: datetime) -> Resource:
    parts = [
        ("Risk factors", asked.get("riskFactors")),
        ("What has been tried", asked.get("tried")),
        ("Action plan", asked.get("actionPlan")),
    ]
    return labelled(
        {
            "resourceType": "CarePlan",
            "id": new_id(),
            "status": "active",
            "intent": "plan",
            "title": "Dynamic support register: risks and action plan",
            "description": "\n".join(f"{title}: {text}" for title, text in parts if text)
            or "To be agreed",
            "subject": episode["patient"],
            "created": stamp(now),
            "careTeam": episode["team"],
            "supportingInfo": [{"reference": f"EpisodeOfCare/{episode['id']}"}],
        }
    )


def register_flag(patient: str, keyworker: str, now: datetime) -> Resource:
    return labelled(
        {
            "resourceType": "Flag",
            "id": new_id(),
            "status": "active",
            "code": {"text": "On the dynamic support register: talk to their keyworker first"},
            "subject": {"reference": patient},
            "period": {"start": stamp(now)},
            "author": {"reference": keyworker},
        }
    )


def best_interests_consent(patient: str, decision: rules.BestInterests) -> Resource:
    return labelled(
        {
            "resourceType": "Consent",
            "id": new_id(),
            "status": "active",
            "scope": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                        "code": "treatment",
                    }
                ]
            },
            "category": [{"text": "Best-interests decision: the dynamic support register"}],
            "patient": {"reference": patient},
            "dateTime": stamp(decision.decided_at),
            "performer": [{"reference": decision.decided_by}],
            "policyRule": {"text": f"Best interests (Mental Capacity Act 2005): {decision.why}"},
            "provision": {"type": "permit"},
        }
    )


def _with_rating(episode: Resource, rating: str) -> list[Resource]:
    kept = [e for e in episode.get("extension") or [] if e.get("url") != RATING_EXTENSION]
    return [*kept, {"url": RATING_EXTENSION, "valueCoding": coding(RAG_RATING, rating)}]
