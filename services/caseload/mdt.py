"""Multidisciplinary team reviews: ``CareTeam/{id}/$mdt-review`` records a meeting's outcome
for each person discussed, and the actions that follow.

For each person: an Encounter (the review, with the meeting's participants), a
ClinicalImpression holding the outcome (R4's Encounter has no note), and a Task per action for
their case manager, tracked like any other. Everyone reviewed must be on the team's caseload;
the whole meeting is one transaction, so a mistake leaves nothing half-recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.caseload.views import team_caseload
from shared.errors import unprocessable
from shared.fhir.dates import instant, stamp
from shared.fhir.entries import created_at, new_id
from shared.fhir.parameters import read_parameters, required
from shared.fhir.terms import ACT_CODE, TASK_CODE, coding
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
MDT_ACTION_TASK = "mdt-action"
MDT_TAKES = {
    "date": "DateTime",
    "participant*": "Reference",
    "review*": {"patient": "Reference", "outcome": "String", "action*": "String"},
}


async def record_review(
    client: FhirClient, team_id: str, body: bytes, *, clinician: str, now: datetime
) -> Resource:
    """Record the meeting; the answer is a Bundle of what was written (transaction-response)."""
    asked = read_parameters(body, "$mdt-review", MDT_TAKES)
    held = _when(required(asked, "date", "when the meeting was held"), now)
    participants = required(asked, "participant", "who took part")
    reviews = required(asked, "review", "each person discussed, with the outcome")
    episodes = await _episodes(client, team_id)
    entries: list[Resource] = []
    for position, review in enumerate(reviews):
        patient = required(review, "patient", f"whom review {position + 1} is about")
        outcome = required(review, "outcome", f"what was decided for {patient}")
        episode = episodes.get(patient)
        if episode is None:
            raise unprocessable(f"{patient} is not on the caseload of CareTeam/{team_id}")
        meeting = _encounter(episode, participants, held)
        entries += [created_at(meeting), created_at(_impression(meeting, outcome, clinician, held))]
        entries += [
            created_at(_action(episode, meeting, text, now)) for text in review.get("action", [])
        ]
    return await client.transaction(entries)


async def _episodes(client: FhirClient, team_id: str) -> Mapping[str, Resource]:
    """The team's active caseload episodes by patient reference."""
    _, episodes, _ = await team_caseload(client, team_id)
    return {
        str(e["patient"]["reference"]): e
        for e in episodes
        if f"CareTeam/{team_id}" in {str(t.get("reference")) for t in e.get("team") or []}
    }


def _when(text: str, now: datetime) -> datetime:
    try:
        held = instant(text)
    except ValueError as error:
        raise unprocessable(f"date must be a date and time, not {text!r}") from error
    if held > now:
        raise unprocessable("The meeting's date is in the future: record it once it has been held")
    return held


def _encounter(episode: Resource, participants: list[str], held: datetime) -> Resource:
    return {
        "resourceType": "Encounter",
        "id": new_id(),
        "status": "finished",
        "class": coding(ACT_CODE, "AMB", "ambulatory"),
        "type": [{"text": "Multidisciplinary team review"}],
        "subject": episode["patient"],
        "episodeOfCare": [{"reference": f"EpisodeOfCare/{episode['id']}"}],
        "participant": [{"individual": {"reference": who}} for who in participants],
        "period": {"start": stamp(held), "end": stamp(held)},
    }


def _impression(meeting: Resource, outcome: str, clinician: str, held: datetime) -> Resource:
    impression: Resource = {
        "resourceType": "ClinicalImpression",
        "id": new_id(),
        "status": "completed",
        "description": "Multidisciplinary team review",
        "subject": meeting["subject"],
        "encounter": {"reference": f"Encounter/{meeting['id']}"},
        "date": stamp(held),
        "summary": outcome,
    }
    if clinician.startswith("Practitioner/"):
        impression["assessor"] = {"reference": clinician}
    return impression


def _action(episode: Resource, meeting: Resource, text: str, now: datetime) -> Resource:
    task: Resource = {
        "resourceType": "Task",
        "id": new_id(),
        "status": "requested",
        "intent": "plan",
        "code": {"coding": [coding(TASK_CODE, MDT_ACTION_TASK, "MDT action")]},
        "description": text,
        "for": episode["patient"],
        "encounter": {"reference": f"Encounter/{meeting['id']}"},
        "basedOn": [{"reference": f"EpisodeOfCare/{episode['id']}"}],
        "authoredOn": stamp(now),
    }
    if episode.get("careManager"):
        task["owner"] = episode["careManager"]
    return task
