"""Continuity end to end: touchpoints planned by band and made again when done; an admission
alerting the case manager at once and a follow-up within 72 hours of discharge; a caseload
handed on fairly when its case manager is away; and the team's and case manager's views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared.fhir import terms
from shared.fhir.dates import instant
from tests.caseload.conftest import Neighbourhood, create, eventually, make_team, older_person
from tests.caseload.test_enrolment import enrol, named

Resource = dict[str, Any]
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


async def tasks_of(client: httpx.AsyncClient, patient_id: str, code: str) -> list[Resource]:
    found = await client.get(
        "Task", params={"patient": patient_id, "code": f"{terms.TASK_CODE}|{code}", "_count": "50"}
    )
    return [e["resource"] for e in found.json().get("entry", [])]


async def test_given_a_touchpoint_done_then_the_next_is_planned_by_band(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door)
    person = await older_person(door, team)
    (first,) = named(await enrol(door, person, team, decision="Frail"), "touchpoint")
    due = instant(first["restriction"]["period"]["end"]) - instant(first["authoredOn"])
    assert due == timedelta(days=84)  # no eFI: moderate, every 12 weeks

    done = {k: v for k, v in first.items() if k != "meta"} | {"status": "completed"}
    assert (await door.put(f"Task/{first['id']}", json=done)).status_code == 200

    async def next_one() -> list[Resource]:
        return [
            t
            for t in await tasks_of(door, person, terms.TOUCHPOINT_TASK)
            if t["status"] == "requested"
        ]

    (following,) = await eventually(next_one)
    assert following["owner"] == first["owner"] and following["id"] != first["id"]


async def test_given_an_admission_then_an_alert_at_once_and_a_follow_up_after_discharge(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door)
    person = await older_person(door, team)
    await enrol(door, person, team, decision="Frail")
    admitted = datetime.now(UTC) - timedelta(hours=30)
    stay = await create(
        door,
        {
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {"system": ACT_CODE, "code": "IMP"},
            "subject": {"reference": f"Patient/{person}"},
            "period": {"start": admitted.isoformat()},
        },
    )

    async def alerted() -> list[Resource]:
        return await tasks_of(door, person, terms.ADMISSION_ALERT_TASK)

    (alert,) = await eventually(alerted)
    assert alert["owner"]["reference"] in team.managers
    assert alert["focus"]["reference"] == f"Encounter/{stay['id']}"

    left = datetime.now(UTC) - timedelta(hours=2)
    finished = {k: v for k, v in stay.items() if k != "meta"}
    finished |= {"status": "finished", "period": {**stay["period"], "end": left.isoformat()}}
    assert (await door.put(f"Encounter/{stay['id']}", json=finished)).status_code == 200

    async def followed_up() -> list[Resource]:
        return [
            t
            for t in await tasks_of(door, person, terms.TOUCHPOINT_TASK)
            if "leaving hospital" in str(t.get("description"))
        ]

    (follow_up,) = await eventually(followed_up)
    due = instant(follow_up["restriction"]["period"]["end"])
    assert due - left.replace(microsecond=0) <= timedelta(hours=72, seconds=1)
    assert len(await alerted()) == 1  # the second notification made no second alert


async def test_given_a_case_manager_away_then_their_caseload_is_handed_on_and_totals_kept(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door, capacities=(30, 4, 30))
    people = [await older_person(door, team) for _ in range(3)]
    for person in people:
        await enrol(door, person, team, decision="Frail", careManager=team.managers[0])
    rebalance = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "caseManager", "valueReference": {"reference": team.managers[0]}},
            {"name": "reason", "valueString": "On long-term leave from 1 December"},
        ],
    }

    answer = await door.post(f"{team.reference}/$rebalance", json=rebalance)

    assert answer.status_code == 200, answer.text
    moves = answer.json()["parameter"]
    assert len(moves) == 3
    view = (await door.get(neighbourhood.view(f"teams/{team.id}"))).json()
    assert view["people"] == 3
    load = {m["case_manager"]: m["people"] for m in view["case_managers"]}
    assert load[team.managers[0]] == 0 and sum(load.values()) == 3
    assert load[team.managers[1]] <= 2  # 4 points: room for two people weighing 2
    for person in people:
        (touchpoint,) = await tasks_of(door, person, terms.TOUCHPOINT_TASK)
        assert touchpoint["owner"]["reference"] != team.managers[0]


async def test_given_time_passes_then_the_views_list_overdue_touchpoints(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood, system_token: str
) -> None:
    team = await make_team(door, capacities=(30,))
    person = await older_person(door, team)
    (episode,) = named(await enrol(door, person, team, decision="Frail"), "episode")
    headers = {"Authorization": f"Bearer {system_token}"}

    async with httpx.AsyncClient(headers=headers) as service:
        await service.put(neighbourhood.clock(), json={"offset_seconds": 90 * 24 * 3600})
        try:
            team_view = (await door.get(neighbourhood.view(f"teams/{team.id}"))).json()
            own = (
                await door.get(
                    neighbourhood.view(f"case-managers/{team.managers[0].split('/')[1]}")
                )
            ).json()
        finally:
            await service.put(neighbourhood.clock(), json={"offset_seconds": 0})

    assert team_view["by_band"] == {"moderate": 1}
    assert [p["episode"] for p in team_view["on_caseload"]] == [f"EpisodeOfCare/{episode['id']}"]
    assert [t["patient"] for t in team_view["touchpoints_overdue"]] == [f"Patient/{person}"]
    assert own["touchpoints_overdue"] == team_view["touchpoints_overdue"]
