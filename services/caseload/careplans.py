"""The personalised care and support plan of a person on a caseload
(``EpisodeOfCare/{id}/$care-plan``), starting from what matters to them in the record.

The plan is drafted from the person's own latest "About me" (when they are happy for the people
supporting them to read it): what matters to them opens the plan, and their own goals become
Goals expressed by them. The clinician adds goals of their own and, always, a contingency plan
for a crisis (a CarePlan of its own, part of the main one). The plans are the person's: they
read them with their own access to their record, like everything about them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.caseload.teams import is_caseload_episode
from shared.errors import FhirError, unprocessable
from shared.fhir.dates import stamp
from shared.fhir.entries import created_at, location, new_id
from shared.fhir.parameters import read_parameters, required
from shared.fhir.terms import ABOUT_ME, code_system, coding
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
PLAN_KIND = code_system("care-plan-kind")
CARE_PLAN_TAKES = {"contingency": "String", "goal*": "String", "note": "String"}


async def start_plan(
    client: FhirClient, episode_id: str, body: bytes, *, clinician: str, now: datetime
) -> Resource:
    """Write the plan, its goals and its contingency plan; the plan as stored."""
    asked = read_parameters(body, "$care-plan", CARE_PLAN_TAKES)
    contingency = required(asked, "contingency", "what to do in a crisis, and whom to call")
    episode = await client.read(f"EpisodeOfCare/{episode_id}")
    if not is_caseload_episode(episode) or episode.get("status") != "active":
        raise FhirError(409, f"EpisodeOfCare/{episode_id} is not an active caseload episode")
    patient = str(episode["patient"]["reference"])
    if await _active_plans(client, patient, episode_id):
        raise FhirError(409, f"{patient} already has an active plan for this episode: update it")
    about_me = await _about_me(client, patient)
    own_goals = _answers(about_me, "my-goals")
    if not own_goals and not asked.get("goal"):
        raise unprocessable(
            "A plan needs at least one goal: the person's own (in their 'About me') or a goal "
            "agreed with them (goal)",
            code="required",
        )
    plan_id = new_id()
    goals = [_goal(patient, text, by_person=True, now=now) for text in own_goals]
    goals += [_goal(patient, text, by_person=False, now=now) for text in asked.get("goal", [])]
    plan = _plan(plan_id, episode, goals, about_me, clinician, asked.get("note"), now)
    crisis = _contingency(plan_id, episode, contingency, clinician, now)
    entries = [created_at(plan), created_at(crisis), *(created_at(g) for g in goals)]
    answer = await client.transaction(entries)
    return await client.read(location(answer["entry"][0]))


async def _active_plans(client: FhirClient, patient: str, episode_id: str) -> list[Resource]:
    plans = await client.search(
        "CarePlan", [("subject", patient), ("status", "active"), ("_count", "50")]
    )
    return [
        p
        for p in plans
        if {"reference": f"EpisodeOfCare/{episode_id}"} in (p.get("supportingInfo") or [])
        and not p.get("partOf")
    ]


async def _about_me(client: FhirClient, patient: str) -> Resource | None:
    """The person's latest 'About me', if they have said the people supporting them may read it."""
    found = await client.search(
        "QuestionnaireResponse",
        [
            ("subject", patient),
            ("questionnaire", ABOUT_ME),
            ("status", "completed,amended"),
            ("_sort", "-authored"),
            ("_count", "1"),
        ],
    )
    if not found or False in _answers(found[0], "share-with-services"):
        return None
    return found[0]


def _answers(response: Resource | None, link_id: str) -> list[Any]:
    if response is None:
        return []
    return [
        next((v for k, v in answer.items() if k.startswith("value")), None)
        for item in response.get("item") or []
        if item.get("linkId") == link_id
        for answer in item.get("answer") or []
    ]


def _goal(patient: str, text: str, *, by_person: bool, now: datetime) -> Resource:
    goal: Resource = {
        "resourceType": "Goal",
        "id": new_id(),
        "lifecycleStatus": "active",
        "description": {"text": str(text)},
        "subject": {"reference": patient},
        "startDate": stamp(now)[:10],
    }
    if by_person:
        goal["expressedBy"] = {"reference": patient}
    return goal


def _plan(
    plan_id: str,
    episode: Resource,
    goals: list[Resource],
    about_me: Resource | None,
    clinician: str,
    note: str | None,
    now: datetime,
) -> Resource:
    matters = "; ".join(str(a) for a in _answers(about_me, "what-matters-to-me"))
    plan: Resource = {
        "resourceType": "CarePlan",
        "id": plan_id,
        "status": "active",
        "intent": "plan",
        "category": [{"coding": [coding(PLAN_KIND, "personalised-care-and-support")]}],
        "title": "Personalised care and support plan",
        "description": f"What matters to me: {matters}" if matters else "Agreed with the person",
        "subject": episode["patient"],
        "period": {"start": stamp(now)[:10]},
        "created": stamp(now),
        "author": _who(clinician),
        "careTeam": [{"reference": t["reference"]} for t in episode.get("team") or []],
        "goal": [{"reference": f"Goal/{g['id']}"} for g in goals],
        "supportingInfo": [{"reference": f"EpisodeOfCare/{episode['id']}"}],
    }
    if about_me is not None:
        plan["supportingInfo"].append({"reference": f"QuestionnaireResponse/{about_me['id']}"})
    if note:
        plan["note"] = [{"text": note, "time": stamp(now)}]
    return plan


def _contingency(
    plan_id: str, episode: Resource, contingency: str, clinician: str, now: datetime
) -> Resource:
    return {
        "resourceType": "CarePlan",
        "id": new_id(),
        "status": "active",
        "intent": "plan",
        "category": [{"coding": [coding(PLAN_KIND, "contingency")]}],
        "title": "Contingency plan: what to do in a crisis",
        "description": contingency,
        "subject": episode["patient"],
        "partOf": [{"reference": f"CarePlan/{plan_id}"}],
        "created": stamp(now),
        "author": _who(clinician),
        "supportingInfo": [{"reference": f"EpisodeOfCare/{episode['id']}"}],
    }


def _who(clinician: str) -> Resource:
    return (
        {"reference": clinician}
        if clinician.startswith("Practitioner/")
        else {"display": clinician}
    )
