"""Plans and MDT reviews end to end: a care and support plan that starts from what matters to
the person, with their own goals and a contingency plan, which they can read themselves; and an
MDT meeting's outcomes and actions recorded for each person discussed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared.auth.devissuer import DevIssuer
from shared.fhir import terms
from tests.caseload.conftest import Neighbourhood, create, make_team, older_person
from tests.caseload.test_enrolment import enrol, named
from tests.conftest import gateway_client

Resource = dict[str, Any]


def about_me(patient_id: str, *, share: bool = True) -> Resource:
    def said(link_id: str, value: Any) -> Resource:
        kind = "valueBoolean" if isinstance(value, bool) else "valueString"
        return {"linkId": link_id, "answer": [{kind: value}]}

    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": terms.ABOUT_ME,
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authored": "2026-11-20T10:00:00Z",
        "item": [
            said("what-matters-to-me", "Getting to my granddaughter's wedding in June"),
            said("my-goals", "Walk to the shops on Albert Road again"),
            said("share-with-services", share),
        ],
    }


def plan_parameters(**values: Any) -> Resource:
    parameters = []
    for name, value in values.items():
        for one in value if isinstance(value, list) else [value]:
            parameters.append({"name": name, "valueString": one})
    return {"resourceType": "Parameters", "parameter": parameters}


async def test_given_what_matters_then_the_plan_starts_from_it_with_a_contingency_plan(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood, issuer: DevIssuer
) -> None:
    team = await make_team(door)
    person = await older_person(door, team)
    await create(door, about_me(person))
    (episode,) = named(await enrol(door, person, team, decision="Frail"), "episode")
    crisis = "If Mary falls at night, her daughter calls the UCR team on 023 9268 4600"

    answer = await door.post(
        f"EpisodeOfCare/{episode['id']}/$care-plan",
        json=plan_parameters(contingency=crisis, goal="Fewer falls this winter"),
    )
    again = await door.post(
        f"EpisodeOfCare/{episode['id']}/$care-plan", json=plan_parameters(contingency=crisis)
    )

    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert "granddaughter's wedding" in plan["description"]
    goals = [(await door.get(g["reference"])).json() for g in plan["goal"]]
    assert {g["description"]["text"] for g in goals} == {
        "Walk to the shops on Albert Road again",
        "Fewer falls this winter",
    }
    own = next(g for g in goals if g["description"]["text"].startswith("Walk"))
    assert own["expressedBy"] == {"reference": f"Patient/{person}"}
    assert again.status_code == 409
    token = issuer.issue(scope="patient/*.rs", patient=person, client_id="resident-app")
    async with gateway_client(neighbourhood.gateway, token) as resident:
        theirs = (await resident.get("CarePlan", params={"subject": f"Patient/{person}"})).json()
    plans = {e["resource"]["title"]: e["resource"] for e in theirs["entry"]}
    contingency = plans["Contingency plan: what to do in a crisis"]
    assert contingency["description"] == crisis
    assert contingency["partOf"] == [{"reference": f"CarePlan/{plan['id']}"}]


async def test_given_no_goal_anywhere_or_no_contingency_then_422(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door)
    person = await older_person(door, team)
    await create(door, about_me(person, share=False))  # not to be read: no goals from it
    (episode,) = named(await enrol(door, person, team, decision="Frail"), "episode")
    path = f"EpisodeOfCare/{episode['id']}/$care-plan"

    no_goal = await door.post(path, json=plan_parameters(contingency="Call the GP"))
    no_contingency = await door.post(path, json=plan_parameters(goal="Stay at home"))

    assert no_goal.status_code == 422 and "goal" in no_goal.text
    assert no_contingency.status_code == 422 and "contingency" in no_contingency.text


async def test_given_an_mdt_meeting_then_outcomes_and_actions_are_recorded_for_each_person(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door)
    first, second = await older_person(door, team), await older_person(door, team)
    for person in (first, second):
        await enrol(door, person, team, decision="Frail")
    held = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat()

    def review(patient_id: str, outcome: str, *actions: str) -> Resource:
        parts: list[Resource] = [
            {"name": "patient", "valueReference": {"reference": f"Patient/{patient_id}"}},
            {"name": "outcome", "valueString": outcome},
        ]
        parts += [{"name": "action", "valueString": action} for action in actions]
        return {"name": "review", "part": parts}

    meeting = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "date", "valueDateTime": held},
            *(
                {"name": "participant", "valueReference": {"reference": manager}}
                for manager in team.managers
            ),
            review(first, "Medication review needed", "Ask the pharmacist to review medicines"),
            review(second, "Stable: continue the plan"),
        ],
    }

    answer = await door.post(f"{team.reference}/$mdt-review", json=meeting)

    assert answer.status_code == 200, answer.text
    impressions = (
        await door.get("ClinicalImpression", params={"subject": f"Patient/{first}"})
    ).json()
    (impression,) = [e["resource"] for e in impressions["entry"]]
    assert impression["summary"] == "Medication review needed"
    encounter = (await door.get(impression["encounter"]["reference"])).json()
    assert {p["individual"]["reference"] for p in encounter["participant"]} == set(team.managers)
    actions = (
        await door.get("Task", params={"patient": first, "code": f"{terms.TASK_CODE}|mdt-action"})
    ).json()
    (action,) = [e["resource"] for e in actions["entry"]]
    assert action["description"] == "Ask the pharmacist to review medicines"
    assert action["owner"]["reference"] in team.managers


async def test_given_a_person_not_on_the_caseload_then_the_meeting_is_refused_whole(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door)
    on_it, not_on_it = await older_person(door, team), await older_person(door, team)
    await enrol(door, on_it, team, decision="Frail")
    held = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat()
    meeting = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "date", "valueDateTime": held},
            {"name": "participant", "valueReference": {"reference": team.managers[0]}},
            *(
                {
                    "name": "review",
                    "part": [
                        {"name": "patient", "valueReference": {"reference": f"Patient/{who}"}},
                        {"name": "outcome", "valueString": "Discussed"},
                    ],
                }
                for who in (on_it, not_on_it)
            ),
        ],
    }

    answer = await door.post(f"{team.reference}/$mdt-review", json=meeting)

    assert answer.status_code == 422 and not_on_it in answer.text
    impressions = await door.get("ClinicalImpression", params={"subject": f"Patient/{on_it}"})
    assert not impressions.json().get("entry")
