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

from services.dsr import records, reviews
from services.dsr import register as rules
from shared.domain import provenance
from shared.errors import FhirError, unprocessable
from shared.fhir.dates import instant, stamp
from shared.fhir.entries import created_at, guarded_put, location, new_id, unversioned
from shared.fhir.parameters import read_parameters, required
from shared.fhir.terms import (
    DYNAMIC_SUPPORT_REGISTER,
    EPISODE_TYPE,
    RAG_RATING,
    RAG_RATINGS,
    TASK_CODE,
    coding,
    has_coding,
)
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
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
        entries, provenance=provenance(by, [reason], now, records.APPLICATION)
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
    updated, written = records.rerated(
        episode, rating, reason, by, now, answers=asked.get("answers")
    )
    entries = [guarded_put(updated, episode), *written]
    entries += [guarded_put(_replaced(t), t) for t in await _open_reviews(client, episode_id)]
    entries += _plans(updated, rating, now=now, cadence=cadence)
    await client.transaction(entries, provenance=provenance(by, [reason], now, records.APPLICATION))
    return await client.read(f"EpisodeOfCare/{episode_id}")


def _red_after_discharge(
    episode: Resource, rating: str, now: datetime, cadence: reviews.Cadence
) -> None:
    """409 for lowering a rating from red too soon after a mental health discharge."""
    left = records.discharged_at(episode)
    if left is None:
        return
    if reviews.rating_after_discharge(rating, discharged=left, now=now, cadence=cadence) != rating:
        days = cadence.red_after_discharge_days
        until = stamp(left + timedelta(days=days))
        raise FhirError(409, f"Red for at least {days} days after a discharge: until {until}")


# --- Reading and checking ------------------------------------------------------------------------


def _rating(code: str) -> str:
    if code not in RAG_RATINGS:
        raise unprocessable(f"{code!r} is not a rating: use one of {', '.join(RAG_RATINGS)}")
    return code


async def _consent(client: FhirClient, reference: str | None, patient: str) -> Resource | None:
    if not reference:
        return None
    consent = await client.read_named(reference, "a Consent")
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
            ("code", f"{TASK_CODE}|{records.REVIEW_TASK}"),
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
    team = records.labelled(
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
    episode = records.labelled(
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
                {"url": records.RATING_EXTENSION, "valueCoding": coding(RAG_RATING, rating)},
                *(
                    [
                        {
                            "url": records.CONSENT_EXTENSION,
                            "valueReference": {"reference": asked["consent"]},
                        }
                    ]
                    if asked.get("consent")
                    else []
                ),
            ],
        }
    )
    written = [
        episode,
        team,
        records.rating_assessment(patient, rating, reason, asked.get("answers"), by, now),
    ]
    written.append(records.action_plan(episode, asked, now))
    written.append(records.register_flag(patient, keyworker, now))
    if decision is not None:
        written.append(records.best_interests_consent(patient, decision))
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
        tasks.append(records.review_task(episode, due, now))
    cetr = reviews.community_cetr(rating, rated_at=now, last_cetr=None, cadence=cadence)
    if cetr is not None:
        tasks.append(records.cetr_task(episode, cetr, now))
    return [created_at(t) for t in tasks]
