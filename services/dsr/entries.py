"""The register's operations through the gateway, every resource under the DSR security label:

- ``EpisodeOfCare/$dsr-register``: a person added with their consent (an active Consent) or a
  best-interests decision (recorded as a Consent of its own: who decided, when, why), a
  keyworker and the team around them (CareTeam), the first RAG rating (RiskAssessment, with the
  answers of the rating questionnaire when given), risk factors, what has been tried and the
  action plan (CarePlan), a Flag on the person, and the first review (and, when red, a
  community C(E)TR) as Tasks;
- ``EpisodeOfCare/{id}/$dsr-rate``: a new rating with its reason (a new RiskAssessment: the
  history is every one of them), the next review re-planned.

One transaction each, with a Provenance naming who did it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.dsr import register as rules
from services.dsr import reviews
from shared.domain import provenance
from shared.errors import FhirError, unprocessable
from shared.fhir.dates import instant, stamp
from shared.fhir.entries import created_at, guarded_put, location, new_id, unversioned
from shared.fhir.parameters import read_parameters, required
from shared.fhir.terms import (
    DSR_LABEL,
    DSR_RATING_EXTENSION,
    DSR_RISK_ASSESSMENT,
    DYNAMIC_SUPPORT_REGISTER,
    EPISODE_TYPE,
    RAG_RATING,
    RAG_RATINGS,
    TASK_CODE,
    coding,
    has_coding,
    structure_definition,
)
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
APPLICATION = "onestory-dsr"
RATING_EXTENSION = DSR_RATING_EXTENSION  # valueCoding: the rating now
CONSENT_EXTENSION = structure_definition("dsr-consent")  # valueReference: the entry's Consent
DISCHARGED_EXTENSION = structure_definition("dsr-discharged")  # valueDateTime: last MH discharge
REVIEW_TASK, CETR_TASK = "dsr-review", "cetr"
REGISTER_REVIEW_TASK = "dsr-register-review"  # the whole register, monthly
REGISTER_TAKES = {
    "patient": "Reference",
    "keyworker": "Reference",
    "professional*": "Reference",
    "consent": "Reference",
    "bestInterests": {"decidedBy": "Reference", "decidedAt": "DateTime", "why": "String"},
    "rating": "Code",
    "reason": "String",
    "answers": "Reference",
    "riskFactors": "String",
    "tried": "String",
    "actionPlan": "String",
}
RATE_TAKES = {"rating": "Code", "reason": "String", "answers": "Reference"}


async def register(
    client: FhirClient, body: bytes, *, by: str, now: datetime, cadence: reviews.Cadence
) -> Resource:
    asked = read_parameters(body, "$dsr-register", REGISTER_TAKES)
    patient = required(asked, "patient", "who is added to the register")
    if not str(patient).startswith("Patient/"):
        raise unprocessable(f"{patient!r} must be a Patient reference")
    rating = _rating(required(asked, "rating", "the RAG rating"))
    reason = required(asked, "reason", "why this rating")
    consent = await _consent(client, asked.get("consent"), patient)
    decision = _best_interests(asked.get("bestInterests"))
    try:
        rules.check_entry(
            consent_active=consent is not None,
            best_interests=decision,
            keyworker=asked.get("keyworker"),
            now=now,
        )
    except rules.EntryRefused as refused:
        raise unprocessable(str(refused), code="required") from refused
    if consent is None:
        asked.pop("consent", None)  # an inactive Consent is no basis for the entry
    if await _on_register(client, patient):
        raise FhirError(409, f"{patient} is already on the dynamic support register")
    episode, entries = _entry(asked, patient, rating, reason, decision, by=by, now=now)
    entries += _plans(episode, rating, now=now, cadence=cadence)
    answer = await client.transaction(
        entries, provenance=provenance(by, [reason], now, APPLICATION)
    )
    return await client.read(location(answer["entry"][0]))


async def rate(
    client: FhirClient,
    episode_id: str,
    body: bytes,
    *,
    by: str,
    now: datetime,
    cadence: reviews.Cadence,
) -> Resource:
    asked = read_parameters(body, "$dsr-rate", RATE_TAKES)
    rating = _rating(required(asked, "rating", "the new RAG rating"))
    reason = required(asked, "reason", "why the rating changed")
    episode = await client.read(f"EpisodeOfCare/{episode_id}")
    if not _is_register(episode) or episode.get("status") != "active":
        raise FhirError(409, f"EpisodeOfCare/{episode_id} is not an active register entry")
    registered = instant(str(episode["period"]["start"]))
    if now < registered:
        raise unprocessable("A rating cannot be before the registration")
    _red_after_discharge(episode, rating, now, cadence)
    updated, written = rerated(episode, rating, reason, by, now, answers=asked.get("answers"))
    entries = [guarded_put(updated, episode), *written]
    entries += [guarded_put(_replaced(t), t) for t in await _open_reviews(client, episode_id)]
    entries += _plans(updated, rating, now=now, cadence=cadence)
    await client.transaction(entries, provenance=provenance(by, [reason], now, APPLICATION))
    return await client.read(f"EpisodeOfCare/{episode_id}")


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
    assessment = _assessment(episode["patient"]["reference"], rating, reason, answers, by, now)
    return updated, [created_at(assessment)]


def cetr_task(episode: Resource, due: reviews.Due, now: datetime) -> Resource:
    return _task(episode, CETR_TASK, due, now)


def review_task(episode: Resource, due: reviews.Due, now: datetime) -> Resource:
    return _task(episode, REVIEW_TASK, due, now)


def _red_after_discharge(
    episode: Resource, rating: str, now: datetime, cadence: reviews.Cadence
) -> None:
    """409 for lowering a rating from red too soon after a mental health discharge."""
    left = discharged_at(episode)
    if left is None:
        return
    if reviews.rating_after_discharge(rating, discharged=left, now=now, cadence=cadence) != rating:
        days = cadence.red_after_discharge_days
        until = stamp(left + timedelta(days=days))
        raise FhirError(409, f"Red for at least {days} days after a discharge: until {until}")


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


# --- Reading and checking ------------------------------------------------------------------------


def _rating(code: str) -> str:
    if code not in RAG_RATINGS:
        raise unprocessable(f"{code!r} is not a rating: use one of {', '.join(RAG_RATINGS)}")
    return code


async def _consent(client: FhirClient, reference: str | None, patient: str) -> Resource | None:
    if not reference:
        return None
    try:
        consent = await client.read(reference)
    except FhirError as error:
        if error.status in (404, 410):
            raise unprocessable(f"{reference} is not a Consent the record knows") from error
        raise
    if (
        consent.get("resourceType") != "Consent"
        or (consent.get("patient") or {}).get("reference") != patient
    ):
        raise unprocessable(f"{reference} is not this person's Consent")
    return consent if consent.get("status") == "active" else None


def _best_interests(parts: dict[str, Any] | None) -> rules.BestInterests | None:
    if not parts:
        return None
    try:
        decided_at = instant(str(parts.get("decidedAt")))
    except ValueError as error:
        raise unprocessable("bestInterests.decidedAt must be a date and time") from error
    return rules.BestInterests(
        str(parts.get("decidedBy") or ""), decided_at, str(parts.get("why") or "")
    )


async def _on_register(client: FhirClient, patient: str) -> bool:
    found = await client.search(
        "EpisodeOfCare",
        [
            ("patient", patient),
            ("type", f"{EPISODE_TYPE}|{DYNAMIC_SUPPORT_REGISTER}"),
            ("status", "active"),
        ],
    )
    return bool(found)


async def _open_reviews(client: FhirClient, episode_id: str) -> list[Resource]:
    """The open review (not C(E)TR) Tasks of an entry: a new rating plans the next afresh."""
    return await client.search(
        "Task",
        [
            ("based-on", f"EpisodeOfCare/{episode_id}"),
            ("code", f"{TASK_CODE}|{REVIEW_TASK}"),
            ("status", "requested,received,accepted,ready,in-progress,on-hold"),
        ],
    )


def _replaced(task: Resource) -> Resource:
    return {
        **unversioned(task),
        "status": "cancelled",
        "statusReason": {"text": "Replaced: the rating changed"},
    }


def _is_register(episode: Resource) -> bool:
    return has_coding(episode.get("type") or [], EPISODE_TYPE, DYNAMIC_SUPPORT_REGISTER)


# --- What is written ----------------------------------------------------------------------------


def _entry(
    asked: dict[str, Any],
    patient: str,
    rating: str,
    reason: str,
    decision: rules.BestInterests | None,
    *,
    by: str,
    now: datetime,
) -> tuple[Resource, list[Resource]]:
    keyworker = asked["keyworker"]
    team = labelled(
        {
            "resourceType": "CareTeam",
            "id": new_id(),
            "status": "active",
            "name": "Dynamic support team",
            "subject": {"reference": patient},
            "participant": [
                {"role": [{"text": "Keyworker"}], "member": {"reference": keyworker}},
                *({"member": {"reference": p}} for p in asked.get("professional", [])),
            ],
        }
    )
    episode = labelled(
        {
            "resourceType": "EpisodeOfCare",
            "id": new_id(),
            "status": "active",
            "type": [
                {
                    "coding": [
                        coding(EPISODE_TYPE, DYNAMIC_SUPPORT_REGISTER, "Dynamic support register")
                    ]
                }
            ],
            "patient": {"reference": patient},
            "period": {"start": stamp(now)},
            "careManager": {"reference": keyworker},
            "team": [{"reference": f"CareTeam/{team['id']}"}],
            "extension": [
                {"url": RATING_EXTENSION, "valueCoding": coding(RAG_RATING, rating)},
                *(
                    [{"url": CONSENT_EXTENSION, "valueReference": {"reference": asked["consent"]}}]
                    if asked.get("consent")
                    else []
                ),
            ],
        }
    )
    written = [episode, team, _assessment(patient, rating, reason, asked.get("answers"), by, now)]
    written.append(_plan(episode, asked, now))
    written.append(_flag(patient, keyworker, now))
    if decision is not None:
        written.append(_decision(patient, decision))
    return episode, [created_at(r) for r in written]


def _plans(
    episode: Resource, rating: str, *, now: datetime, cadence: reviews.Cadence
) -> list[Resource]:
    registered = instant(str(episode["period"]["start"]))
    due = reviews.next_review(
        rating,
        registered=registered,
        last_review=now if now > registered else None,
        cadence=cadence,
    )
    tasks = []
    if due is not None:
        tasks.append(_task(episode, REVIEW_TASK, due, now))
    cetr = reviews.community_cetr(rating, rated_at=now, last_cetr=None, cadence=cadence)
    if cetr is not None:
        tasks.append(_task(episode, CETR_TASK, cetr, now))
    return [created_at(t) for t in tasks]


def _task(episode: Resource, code: str, due: reviews.Due, now: datetime) -> Resource:
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


def _assessment(
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


def _plan(episode: Resource, asked: dict[str, Any], now: datetime) -> Resource:
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


def _flag(patient: str, keyworker: str, now: datetime) -> Resource:
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


def _decision(patient: str, decision: rules.BestInterests) -> Resource:
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
