"""Reviews and Care (Education) and Treatment Reviews as they are held:

- ``EpisodeOfCare/{id}/$dsr-review``: a review held, with its outcome; the open review Task is
  done and the next is planned by the rating;
- ``EpisodeOfCare/{id}/$cetr``: a C(E)TR held, with its panel, when the person was asked for
  their consent to share the planner (at least 24 hours before) and its recommendations, each
  a Task tracked to completion; the open C(E)TR Task is done and, for an inpatient, the next
  one is planned.

A meeting cannot be dated in the future nor before the registration.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.dsr import records, reviews
from shared.domain import provenance
from shared.errors import FhirError, unprocessable
from shared.fhir.dates import instant, stamp
from shared.fhir.entries import created_at, guarded_put, new_id, unversioned
from shared.fhir.parameters import read_parameters, required
from shared.fhir.terms import ACT_CODE, ENCOUNTER_TYPE, TASK_CODE, coding
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
RECOMMENDATION_TASK = "cetr-recommendation"
REVIEW_TAKES = {"held": "DateTime", "outcome": "String"}
CETR_TAKES = {
    "held": "DateTime",
    "panel*": "Reference",
    "plannerConsentAsked": "DateTime",
    "recommendation*": "String",
}
OPEN = "requested,received,accepted,ready,in-progress,on-hold"


async def review_held(
    client: FhirClient,
    episode_id: str,
    body: bytes,
    *,
    by: str,
    now: datetime,
    cadence: reviews.Cadence,
) -> Resource:
    asked = read_parameters(body, "$dsr-review", REVIEW_TAKES)
    outcome = required(asked, "outcome", "what the review found")
    episode = await _entry(client, episode_id)
    held = _held(asked, episode, now)
    rating = records.rating_of(episode) or "green"
    done = [
        guarded_put(_done(t, held), t) for t in await _open(client, episode_id, records.REVIEW_TASK)
    ]
    due = reviews.next_review(
        rating, registered=_registered(episode), last_review=held, cadence=cadence
    )
    planned = [created_at(records.review_task(episode, due, now))] if due else []
    await client.transaction(
        [*done, *planned], provenance=provenance(by, [outcome], now, records.APPLICATION)
    )
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": "outcome", "valueString": outcome}],
    }


async def register_reviewed(client: FhirClient, body: bytes, *, by: str, now: datetime) -> Resource:
    """The whole register reviewed (monthly): a completed Task, which the register's view
    counts from."""
    asked = read_parameters(body, "$dsr-register-review", REVIEW_TAKES)
    outcome = required(asked, "outcome", "what the review found")
    held = _instant(required(asked, "held", "when it was held"))
    if held > now:
        raise unprocessable("It is dated in the future: record it once it has been held")
    review = records.labelled(
        {
            "resourceType": "Task",
            "id": new_id(),
            "status": "completed",
            "intent": "plan",
            "code": {
                "coding": [coding(TASK_CODE, records.REGISTER_REVIEW_TASK, "Register review")]
            },
            "description": outcome,
            "authoredOn": stamp(now),
            "executionPeriod": {"start": stamp(held), "end": stamp(held)},
        }
    )
    await client.transaction(
        [created_at(review)], provenance=provenance(by, [outcome], now, records.APPLICATION)
    )
    return await client.read(f"Task/{review['id']}")


async def cetr_held(
    client: FhirClient,
    episode_id: str,
    body: bytes,
    *,
    by: str,
    now: datetime,
    cadence: reviews.Cadence,
) -> Resource:
    asked = read_parameters(body, "$cetr", CETR_TAKES)
    panel = required(asked, "panel", "who sat on the panel")
    asked_at = _instant(
        required(asked, "plannerConsentAsked", "when consent to share the planner was asked")
    )
    episode = await _entry(client, episode_id)
    held = _held(asked, episode, now)
    if asked_at > reviews.planner_consent_by(held, cadence):
        raise unprocessable(
            "Consent to share the planner must be asked for at least 24 hours before"
        )
    meeting = _meeting(episode, panel, held)
    recommendations = [
        _recommendation(episode, meeting, text, now) for text in asked.get("recommendation", [])
    ]
    done = [
        guarded_put(_done(t, held), t) for t in await _open(client, episode_id, records.CETR_TASK)
    ]
    planned = await _next_inpatient_cetr(client, episode, held, now, cadence)
    written = [created_at(meeting), *(created_at(r) for r in recommendations), *done, *planned]
    await client.transaction(
        written, provenance=provenance(by, ["C(E)TR held"], now, records.APPLICATION)
    )
    return await client.read(f"Encounter/{meeting['id']}")


async def _next_inpatient_cetr(
    client: FhirClient, episode: Resource, held: datetime, now: datetime, cadence: reviews.Cadence
) -> list[Resource]:
    if records.rating_of(episode) != "blue":
        return []
    born = reviews.born_on(await client.read(episode["patient"]["reference"]))
    (due,) = reviews.cetrs_due(
        rating="blue", rated_at=held, admitted=held, last_cetr=held, born=born, cadence=cadence
    )
    return [created_at(records.cetr_task(episode, due, now))]


async def _entry(client: FhirClient, episode_id: str) -> Resource:
    episode = await client.read(f"EpisodeOfCare/{episode_id}")
    if episode.get("status") != "active" or records.rating_of(episode) is None:
        raise FhirError(409, f"EpisodeOfCare/{episode_id} is not an active register entry")
    return episode


def _registered(episode: Resource) -> datetime:
    return instant(str(episode["period"]["start"]))


def _held(asked: dict[str, Any], episode: Resource, now: datetime) -> datetime:
    held = _instant(required(asked, "held", "when it was held"))
    if held > now:
        raise unprocessable("It is dated in the future: record it once it has been held")
    if held < _registered(episode):
        raise unprocessable("It is dated before the registration")
    return held


def _instant(text: str) -> datetime:
    try:
        return instant(text)
    except ValueError as error:
        raise unprocessable(f"{text!r} is not a date and time") from error


async def _open(client: FhirClient, episode_id: str, code: str) -> list[Resource]:
    return await client.search(
        "Task",
        [
            ("based-on", f"EpisodeOfCare/{episode_id}"),
            ("code", f"{TASK_CODE}|{code}"),
            ("status", OPEN),
        ],
    )


def _done(task: Resource, held: datetime) -> Resource:
    period = {**(task.get("executionPeriod") or {}), "end": stamp(held)}
    return {**unversioned(task), "status": "completed", "executionPeriod": period}


def _meeting(episode: Resource, panel: list[str], held: datetime) -> Resource:
    return records.labelled(
        {
            "resourceType": "Encounter",
            "id": new_id(),
            "status": "finished",
            "class": coding(ACT_CODE, "AMB", "ambulatory"),
            "type": [
                {
                    "coding": [
                        coding(ENCOUNTER_TYPE, "cetr", "Care (Education) and Treatment Review")
                    ]
                }
            ],
            "subject": episode["patient"],
            "episodeOfCare": [{"reference": f"EpisodeOfCare/{episode['id']}"}],
            "participant": [{"individual": {"reference": who}} for who in panel],
            "period": {"start": stamp(held), "end": stamp(held)},
        }
    )


def _recommendation(episode: Resource, meeting: Resource, text: str, now: datetime) -> Resource:
    return records.labelled(
        {
            "resourceType": "Task",
            "id": new_id(),
            "status": "requested",
            "intent": "plan",
            "code": {"coding": [coding(TASK_CODE, RECOMMENDATION_TASK, "C(E)TR recommendation")]},
            "description": text,
            "for": episode["patient"],
            "encounter": {"reference": f"Encounter/{meeting['id']}"},
            "basedOn": [{"reference": f"EpisodeOfCare/{episode['id']}"}],
            "owner": episode["careManager"],
            "authoredOn": stamp(now),
        }
    )
