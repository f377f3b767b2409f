"""Gathering what triage decides from: the referral, its intake answers and what the record
knows of the person, read through the gateway in one batch.

``facts_from`` is pure (tested on its own); ``gather`` does the reading.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.triage.facts import ReferralFacts
from shared.fhir.terms import (
    CLINICAL_FRAILTY_SCALE,
    DYNAMIC_SUPPORT_REGISTER,
    EFI_RISK,
    EPISODE_TYPE,
    FRAILTY_BAND,
    FRAILTY_BANDS,
    PRESENTING_PROBLEM,
    PROACTIVE_CASE_MANAGEMENT,
    REFERRAL_CHANNEL_EXTENSION,
    REFERRAL_SERVICE,
    SNOMED,
    has_coding,
)
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
# Coded diagnoses that make a person eligible for the dynamic support register (SNOMED CT).
LEARNING_DISABILITY_OR_AUTISM = frozenset(
    {
        "408856003",  # autistic disorder
        "43614003",  # autism spectrum disorder (childhood autism)
        "35919005",  # pervasive developmental disorder
        "110359009",  # intellectual disability
        "1855002",  # developmental academic disorder
        "91138005",  # mild intellectual disability
        "61152003",  # moderate intellectual disability
        "31216003",  # profound intellectual disability
    }
)
_OPEN_EPISODE = "active,planned,waitlist,onhold"


@dataclass(frozen=True, slots=True)
class Referral:
    """A referral as triage sees it: the request, the person and the facts decided from."""

    request: Resource
    patient: Resource
    facts: ReferralFacts


async def gather(client: FhirClient, request_id: str, *, today: date) -> Referral:
    request = await client.read(f"ServiceRequest/{request_id}")
    patient_ref = str((request.get("subject") or {}).get("reference", ""))
    patient_id = patient_ref.removeprefix("Patient/")
    answers, conditions, episodes, observations, stays, frailty = await _batch(
        client, request_id, patient_id
    )
    patient = await client.read(patient_ref)
    facts = facts_from(
        request,
        patient,
        answers=answers[:1],
        conditions=conditions,
        episodes=episodes,
        observations=observations,
        stays=stays,
        frailty=frailty,
        today=today,
    )
    return Referral(request, patient, facts)


async def _batch(client: FhirClient, request_id: str, patient_id: str) -> list[list[Resource]]:
    searches = [
        f"QuestionnaireResponse?based-on=ServiceRequest/{request_id}&_sort=-authored&_count=1",
        f"Condition?patient={patient_id}&clinical-status=active&_count=200",
        f"EpisodeOfCare?patient={patient_id}&status={_OPEN_EPISODE}&_count=50",
        f"Observation?patient={patient_id}&code={SNOMED}|{CLINICAL_FRAILTY_SCALE}"
        "&_sort=-date&_count=1",
        f"Encounter?patient={patient_id}&class=IMP&status=finished&_sort=-date&_count=1",
        f"RiskAssessment?patient={patient_id}&{EFI_RISK[0]}={EFI_RISK[1]}&_sort=-date&_count=1",
    ]
    return await client.searches(searches)


def facts_from(
    request: Resource,
    patient: Resource,
    *,
    answers: list[Resource],
    conditions: Iterable[Resource],
    episodes: Iterable[Resource],
    observations: Iterable[Resource],
    stays: Iterable[Resource],
    frailty: Iterable[Resource] = (),
    today: date,
) -> ReferralFacts:
    """The facts triage decides from (pure)."""
    answered = answers_by_link_id(answers[0]) if answers else {}
    episodes = list(episodes)
    return ReferralFacts(
        channel=channel_of(request) or _first_code(answered.get("channel", ())),
        problems=frozenset(
            _codes(answered.get("presenting-problems", ())) | _problem_codes(request)
        ),
        red_flags=frozenset(
            link
            for link, values in answered.items()
            if link.startswith("red-flag") and True in values
        ),
        answers=answered,
        requested_service=_requested_service(request),
        age=_age(patient.get("birthDate"), today),
        frailty=_frailty_band(frailty),
        clinical_frailty_scale=_latest_score(observations),
        on_caseload=any(_episode_is(e, PROACTIVE_CASE_MANAGEMENT) for e in episodes),
        on_register=any(_episode_is(e, DYNAMIC_SUPPORT_REGISTER) for e in episodes),
        learning_disability_or_autism=any(_is_ld_or_autism(c) for c in conditions),
        discharged_days_ago=_days_since_discharge(stays, today),
    )


def channel_of(request: Resource) -> str | None:
    for extension in request.get("extension") or []:
        if extension.get("url") == REFERRAL_CHANNEL_EXTENSION:
            return (extension.get("valueCoding") or {}).get("code")
    return None


def answers_by_link_id(response: Resource) -> dict[str, tuple[Any, ...]]:
    """Every answer in a QuestionnaireResponse by linkId; a Coding stands as its code."""
    found: dict[str, tuple[Any, ...]] = {}
    for item in _items(response.get("item") or []):
        values = tuple(_value(answer) for answer in item.get("answer") or [])
        if values:
            found[str(item.get("linkId"))] = found.get(str(item.get("linkId")), ()) + values
    return found


def _items(items: Iterable[Resource]) -> Iterable[Resource]:
    for item in items:
        yield item
        yield from _items(item.get("item") or [])
        for answer in item.get("answer") or []:
            yield from _items(answer.get("item") or [])


def _value(answer: Mapping[str, Any]) -> Any:
    for key, value in answer.items():
        if key.startswith("value"):
            return value.get("code") if key == "valueCoding" and isinstance(value, dict) else value
    return None


def _codes(values: Iterable[Any]) -> set[str]:
    return {v for v in values if isinstance(v, str)}


def _first_code(values: Iterable[Any]) -> str | None:
    return next(iter(sorted(_codes(values))), None)


def _problem_codes(request: Resource) -> set[str]:
    return {
        str(coding["code"])
        for concept in request.get("reasonCode") or []
        for coding in concept.get("coding") or []
        if coding.get("system") == PRESENTING_PROBLEM and coding.get("code")
    }


def _requested_service(request: Resource) -> str | None:
    for coding in (request.get("code") or {}).get("coding") or []:
        if coding.get("system") == REFERRAL_SERVICE:
            return str(coding.get("code"))
    return None


def _age(birth_date: Any, today: date) -> int | None:
    try:
        born = date.fromisoformat(str(birth_date))
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _latest_score(observations: Iterable[Resource]) -> int | None:
    for observation in observations:
        value = observation.get("valueInteger")
        if value is None:
            value = (observation.get("valueQuantity") or {}).get("value")
        if isinstance(value, int | float):
            return int(value)
    return None


def _frailty_band(assessments: Iterable[Resource]) -> str | None:
    """The band of the latest electronic Frailty Index in the record."""
    for assessment in assessments:
        for prediction in assessment.get("prediction") or []:
            for found in (prediction.get("qualitativeRisk") or {}).get("coding") or []:
                if found.get("system") == FRAILTY_BAND and found.get("code") in FRAILTY_BANDS:
                    return str(found["code"])
    return None


def _episode_is(episode: Resource, kind: str) -> bool:
    return has_coding(episode.get("type") or [], EPISODE_TYPE, kind)


def _is_ld_or_autism(condition: Resource) -> bool:
    return any(
        c.get("system") == SNOMED and c.get("code") in LEARNING_DISABILITY_OR_AUTISM
        for c in (condition.get("code") or {}).get("coding") or []
    )


def _days_since_discharge(stays: Iterable[Resource], today: date) -> int | None:
    for stay in stays:
        ended = (stay.get("period") or {}).get("end")
        if ended:
            try:
                return (
                    today - datetime.fromisoformat(str(ended).replace("Z", "+00:00")).date()
                ).days
            except ValueError:
                return None
    return None
