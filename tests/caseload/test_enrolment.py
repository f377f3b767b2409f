"""Enrolment end to end: clinical confirmation needed, the case manager allocated by room,
continuity and availability (with the reasons recorded), a lead's override, the first
touchpoint planned; and leaving the caseload with a reason."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import pytest

from shared.fhir import terms
from tests.caseload.conftest import (
    Neighbourhood,
    Team,
    create,
    frailty_scale,
    make_team,
    older_person,
)
from tests.support.services import REPO

Resource = dict[str, Any]


def enrolment(patient_id: str, team: Team, **more: str) -> Resource:
    parameters: list[Resource] = [
        {"name": "patient", "valueReference": {"reference": f"Patient/{patient_id}"}},
        {"name": "team", "valueReference": {"reference": team.reference}},
    ]
    for name, value in more.items():
        kind = "valueReference" if "/" in value and " " not in value else "valueString"
        parameters.append(
            {"name": name, kind: {"reference": value} if kind == "valueReference" else value}
        )
    return {"resourceType": "Parameters", "parameter": parameters}


def named(answer: Resource, name: str) -> list[Any]:
    return [
        p.get("resource", p.get("valueString")) for p in answer["parameter"] if p["name"] == name
    ]


async def enrol(client: httpx.AsyncClient, patient_id: str, team: Team, **more: str) -> Resource:
    answer = await client.post("EpisodeOfCare/$enrol", json=enrolment(patient_id, team, **more))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def confirmed(client: httpx.AsyncClient, patient_id: str, score: int = 6) -> str:
    return f"Observation/{(await create(client, frailty_scale(patient_id, score)))['id']}"


async def test_given_no_confirmation_then_enrolment_is_refused_with_what_is_missing(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door)
    person = await older_person(door, team)

    answer = await door.post("EpisodeOfCare/$enrol", json=enrolment(person, team))

    assert answer.status_code == 422, answer.text
    assert "clinician's confirmation" in answer.json()["issue"][0]["diagnostics"]
    episodes = await door.get("EpisodeOfCare", params={"patient": person})
    assert not episodes.json().get("entry")


async def test_given_a_cfs_then_enrolled_with_the_case_manager_who_has_most_room(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door, capacities=(10, 20))
    person = await older_person(door, team)

    answer = await enrol(door, person, team, confirmation=await confirmed(door, person, 7))

    (episode,) = named(answer, "episode")
    assert episode["status"] == "active" and episode["careManager"]["reference"] == team.managers[1]
    assert episode["team"][0]["reference"] == team.reference
    assert terms.has_coding(episode["type"], terms.EPISODE_TYPE, terms.PROACTIVE_CASE_MANAGEMENT)
    reasons = " ".join(named(answer, "allocation"))
    assert "Most room" in reasons and named(answer, "passedOver")
    (touchpoint,) = named(answer, "touchpoint")
    assert touchpoint["owner"]["reference"] == team.managers[1]
    assert touchpoint["basedOn"] == [{"reference": f"EpisodeOfCare/{episode['id']}"}]
    assert touchpoint["restriction"]["period"]["end"] > episode["period"]["start"]
    provenance = await door.get("Provenance", params={"target": f"EpisodeOfCare/{episode['id']}"})
    (record,) = [e["resource"] for e in provenance.json()["entry"]]
    assert "Most room" in " ".join(r["text"] for r in record["reason"])


async def test_given_a_clinicians_decision_then_enrolled_and_a_second_enrolment_is_409(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door)
    person = await older_person(door, team)
    await enrol(door, person, team, decision="Housebound, carer struggling: MDT agreed")

    again = await door.post(
        "EpisodeOfCare/$enrol",
        json=enrolment(person, team, decision="Referred again by the GP"),
    )

    assert again.status_code == 409 and "already on a caseload" in again.text


async def test_given_the_case_manager_with_room_is_away_then_the_other_is_chosen(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door, capacities=(5, 50), away=1)
    person = await older_person(door, team)

    answer = await enrol(door, person, team, decision="Frail after a fall")

    (episode,) = named(answer, "episode")
    assert episode["careManager"]["reference"] == team.managers[0]
    assert any("Away" in passed for passed in named(answer, "passedOver"))


async def test_given_nobody_has_room_then_a_lead_may_override_only_with_a_reason(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door, capacities=(1,))
    person = await older_person(door, team)  # no eFI: weighs as moderate (2 points)

    nobody = await door.post("EpisodeOfCare/$enrol", json=enrolment(person, team, decision="Frail"))
    no_reason = await door.post(
        "EpisodeOfCare/$enrol",
        json=enrolment(person, team, decision="Frail", careManager=team.managers[0]),
    )
    overridden = await enrol(
        door,
        person,
        team,
        decision="Frail",
        careManager=team.managers[0],
        overrideReason="Knows the family well; a colleague returns next week",
    )

    assert nobody.status_code == 409 and "team lead" in nobody.text
    assert no_reason.status_code == 422 and "needs a reason" in no_reason.text
    (episode,) = named(overridden, "episode")
    assert episode["careManager"]["reference"] == team.managers[0]
    assert any("Knows the family" in reason for reason in named(overridden, "allocation"))


@pytest.mark.parametrize(
    ("change", "status", "text"),
    [
        ({"team": "CareTeam/no-such-team"}, 422, "not a neighbourhood team"),
        ({"team": "Patient/someone"}, 422, "CareTeam reference"),
        ({"confirmation": "Observation/no-such-observation"}, 422, "not an Observation"),
    ],
)
async def test_given_a_reference_to_nothing_right_then_422(
    door: httpx.AsyncClient,
    neighbourhood: Neighbourhood,
    change: dict[str, str],
    status: int,
    text: str,
) -> None:
    change = dict(change)  # each engine's run gets its own copy
    team = await make_team(door)
    person = await older_person(door, team)
    body = enrolment(person, team, decision="Frail")
    for parameter in body["parameter"]:
        if parameter["name"] in change:
            parameter["valueReference"] = {"reference": change.pop(parameter["name"])}
    body["parameter"] += [
        {"name": name, "valueReference": {"reference": value}} for name, value in change.items()
    ]

    answer = await door.post("EpisodeOfCare/$enrol", json=body)

    assert answer.status_code == status and text in answer.text, answer.text


async def test_given_someone_elses_cfs_then_it_does_not_confirm(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door)
    person, neighbour = await older_person(door, team), await older_person(door, team)

    answer = await door.post(
        "EpisodeOfCare/$enrol",
        json=enrolment(person, team, confirmation=await confirmed(door, neighbour)),
    )

    assert answer.status_code == 422 and "is not about" in answer.text


async def test_given_a_person_leaves_then_the_episode_ends_with_the_reason_and_touchpoints_stop(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door)
    person = await older_person(door, team)
    answer = await enrol(door, person, team, decision="Frail")
    (episode,) = named(answer, "episode")
    (touchpoint,) = named(answer, "touchpoint")
    leave = f"EpisodeOfCare/{episode['id']}/$leave"

    unknown = await door.post(
        leave,
        json={
            "resourceType": "Parameters",
            "parameter": [{"name": "reason", "valueCode": "bored"}],
        },
    )
    left = await door.post(
        leave,
        json={
            "resourceType": "Parameters",
            "parameter": [{"name": "reason", "valueCode": "moved"}],
        },
    )
    twice = await door.post(
        leave,
        json={
            "resourceType": "Parameters",
            "parameter": [{"name": "reason", "valueCode": "moved"}],
        },
    )

    assert unknown.status_code == 422 and "bored" in unknown.text
    assert left.status_code == 200, left.text
    ended = left.json()
    assert ended["status"] == "finished" and ended["period"]["end"]
    (why,) = [e for e in ended["extension"] if e["url"] == terms.LEAVING_REASON_EXTENSION]
    assert why["valueCoding"]["code"] == "moved"
    assert (await door.get(f"Task/{touchpoint['id']}")).json()["status"] == "cancelled"
    assert twice.status_code == 409


async def test_given_someone_who_knew_the_person_then_they_are_chosen_over_more_room(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door, capacities=(10, 40))
    person = await older_person(door, team)
    await create(
        door,
        {
            "resourceType": "EpisodeOfCare",
            "status": "finished",
            "patient": {"reference": f"Patient/{person}"},
            "careManager": {"reference": team.managers[0]},
            "period": {"start": "2025-01-10", "end": "2025-06-30"},
        },
    )

    answer = await enrol(door, person, team, decision="Frail again after a winter of falls")

    (episode,) = named(answer, "episode")
    assert episode["careManager"]["reference"] == team.managers[0]
    assert any("continuity" in reason for reason in named(answer, "allocation"))


@pytest.mark.parametrize(
    ("variable", "value", "fault"),
    [
        (
            "ONESTORY_CASELOAD_WEIGHTS",
            '{"severe": 0, "moderate": 2, "mild": 1, "fit": 1}',
            "severe",
        ),
        ("ONESTORY_TOUCHPOINT_DAYS", '{"severe": 28}', "'fit'"),
    ],
)
def test_given_settings_that_make_no_sense_then_caseload_refuses_to_start(
    variable: str, value: str, fault: str
) -> None:
    started = subprocess.run(
        [sys.executable, "-c", "from services.caseload.app import create_app; create_app()"],
        cwd=REPO,
        env={variable: value, "ONESTORY_ENVIRONMENT": "test", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert started.returncode != 0
    assert "caseload will not start" in started.stderr and fault in started.stderr
