"""The discharge to assess journey end to end through the gateway: identified with a discharge
ready date, a pathway proposed and agreed, waiting for capacity with a coded delay, discharged
(the stay ends, the GP practice and neighbourhood team are told, the assessment is due in 4
weeks), assessed and closed; and the board showing each step."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from shared.fhir import terms
from shared.fhir.dates import instant
from tests.caseload.conftest import eventually
from tests.discharge.conftest import DischargeHub, ago, in_hospital, parameters
from tests.support.receiving import Receiver

Resource = dict[str, Any]


async def operate(client: httpx.AsyncClient, path: str, *given: tuple[str, str, Any]) -> Resource:
    answer = await client.post(path, json=parameters(*given))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def identified(client: httpx.AsyncClient, spell_id: str, ready: str) -> Resource:
    return await operate(
        client,
        "EpisodeOfCare/$d2a-identify",
        ("spell", "Reference", f"Encounter/{spell_id}"),
        ("readyDate", "DateTime", ready),
    )


def move(
    episode: Resource, state: str, *more: tuple[str, str, Any]
) -> tuple[str, tuple[tuple[str, str, Any], ...]]:
    return f"EpisodeOfCare/{episode['id']}/$d2a-transition", (("state", "Code", state), *more)


async def moved(
    client: httpx.AsyncClient, episode: Resource, state: str, *more: tuple[str, str, Any]
) -> Resource:
    path, given = move(episode, state, *more)
    return await operate(client, path, *given)


async def board_row(
    client: httpx.AsyncClient, hub: DischargeHub, episode: Resource, **filters: str
) -> Resource | None:
    board = (await client.get(hub.board(), params=filters)).json()
    return next(
        (r for r in board["waiting"] if r["episode"] == f"EpisodeOfCare/{episode['id']}"), None
    )


async def test_given_a_pathway_1_journey_then_each_step_is_recorded_and_the_board_follows_it(
    desk: httpx.AsyncClient, hub: DischargeHub
) -> None:
    stay = await in_hospital(desk)
    episode = await identified(desk, stay.spell["id"], ago(days=2))

    assert episode["status"] == "active" and episode["patient"]["reference"] == stay.patient
    spell = (await desk.get(f"Encounter/{stay.spell['id']}")).json()
    assert {"reference": f"EpisodeOfCare/{episode['id']}"} in spell["episodeOfCare"]
    episode = await moved(desk, episode, "pathway-proposed", ("pathway", "Code", "1"))
    episode = await moved(desk, episode, "pathway-agreed")
    episode = await moved(desk, episode, "awaiting-capacity")
    episode = await operate(
        desk, f"EpisodeOfCare/{episode['id']}/$d2a-delay", ("reason", "Code", "care-package")
    )

    row = await board_row(desk, hub, episode, ward=stay.ward)
    assert row is not None and row["status"] == "awaiting-capacity" and row["pathway"] == "1"
    assert row["delay"] == "care-package" and 1.9 <= row["days_since_ready"] <= 2.1
    assert row["next"] == ["discharged", "pathway-proposed", "closed"]
    assert row["criteria_checked"] and row["recheck_due"]  # last checked two days ago
    assert await board_row(desk, hub, episode, pathway="2") is None
    assert await board_row(desk, hub, episode, delay="care-package") is not None

    episode = await moved(desk, episode, "discharged")

    spell = (await desk.get(f"Encounter/{stay.spell['id']}")).json()
    assert spell["status"] == "finished" and spell["period"]["end"]
    assert await board_row(desk, hub, episode) is None
    tasks = (await desk.get("Task", params={"based-on": f"EpisodeOfCare/{episode['id']}"})).json()
    (assessment,) = [e["resource"] for e in tasks["entry"]]
    due = instant(assessment["restriction"]["period"]["end"]) - instant(spell["period"]["end"])
    assert due == timedelta(days=28) and assessment["owner"]["reference"] == stay.team
    told = (await desk.get("Communication", params={"subject": stay.patient})).json()
    (notice,) = [e["resource"] for e in told["entry"]]
    assert {r["reference"] for r in notice["recipient"]} == {stay.practice, stay.team}
    board = (await desk.get(hub.board())).json()
    assert f"Task/{assessment['id']}" in {a["task"] for a in board["assessments_due"]}

    episode = await moved(desk, episode, "assessment-in-progress")
    assert (await desk.get(f"Task/{assessment['id']}")).json()["status"] == "in-progress"
    episode = await moved(desk, episode, "assessment-complete")
    assert (await desk.get(f"Task/{assessment['id']}")).json()["status"] == "completed"
    episode = await moved(desk, episode, "closed")
    assert episode["status"] == "finished"
    history = [e for e in episode["extension"] if e["url"] == terms.D2A_HISTORY_EXTENSION]
    assert len(history) == 8  # identified and seven moves


async def test_given_an_impossible_move_then_409_with_the_states_that_may_follow(
    desk: httpx.AsyncClient, hub: DischargeHub
) -> None:
    stay = await in_hospital(desk)
    episode = await identified(desk, stay.spell["id"], ago(days=1))
    path, given = move(episode, "assessment-complete")

    answer = await desk.post(path, json=parameters(*given))

    assert answer.status_code == 409, answer.text
    said = answer.json()["issue"][0]["diagnostics"]
    assert "pathway-proposed" in said and "closed" in said


async def test_given_pathway_0_then_discharged_and_closed_with_nothing_to_assess(
    desk: httpx.AsyncClient, hub: DischargeHub
) -> None:
    stay = await in_hospital(desk)
    episode = await identified(desk, stay.spell["id"], ago(hours=5))
    episode = await moved(desk, episode, "pathway-proposed", ("pathway", "Code", "0"))
    episode = await moved(desk, episode, "pathway-agreed")
    episode = await moved(desk, episode, "discharged")

    tasks = (await desk.get("Task", params={"based-on": f"EpisodeOfCare/{episode['id']}"})).json()
    assert not tasks.get("entry")
    assert (await moved(desk, episode, "closed"))["status"] == "finished"


async def test_given_the_criteria_met_again_then_the_date_is_cleared_and_a_later_one_set(
    desk: httpx.AsyncClient, hub: DischargeHub
) -> None:
    stay = await in_hospital(desk)
    episode = await identified(desk, stay.spell["id"], ago(days=3))
    path = f"EpisodeOfCare/{episode['id']}/$criteria-to-reside"

    rechecked = await operate(
        desk, path, ("meetsCriteria", "Boolean", False), ("at", "DateTime", ago(days=2, hours=12))
    )
    cleared = await operate(
        desk, path, ("meetsCriteria", "Boolean", True), ("at", "DateTime", ago(days=2))
    )
    reset = await operate(
        desk, path, ("meetsCriteria", "Boolean", False), ("at", "DateTime", ago(hours=6))
    )

    ready = terms.DISCHARGE_READY_EXTENSION
    first = [e["valueDateTime"] for e in rechecked["extension"] if e["url"] == ready]
    assert first == [e["valueDateTime"] for e in episode["extension"] if e["url"] == ready]
    assert ready not in {e["url"] for e in cleared["extension"]}
    (date,) = [e["valueDateTime"] for e in reset["extension"] if e["url"] == ready]
    assert 5.9 <= (instant(ago()) - instant(date)).total_seconds() / 3600 <= 6.1
    kept = (await desk.get("Observation", params={"subject": stay.patient, "_count": "10"})).json()
    assert sorted(e["resource"]["valueBoolean"] for e in kept["entry"]) == [False] * 3 + [True]


async def test_given_four_weeks_pass_then_the_assessment_is_overdue_on_the_board(
    desk: httpx.AsyncClient, hub: DischargeHub, system_token: str
) -> None:
    stay = await in_hospital(desk)
    episode = await identified(desk, stay.spell["id"], ago(days=1))
    for state, *more in (
        ("pathway-proposed", ("pathway", "Code", "2")),
        ("pathway-agreed",),
        ("discharged",),
    ):
        episode = await moved(desk, episode, state, *more)
    (assessment,) = [
        e["resource"]
        for e in (
            await desk.get("Task", params={"based-on": f"EpisodeOfCare/{episode['id']}"})
        ).json()["entry"]
    ]

    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {system_token}"}) as service:
        await service.put(hub.clock(), json={"offset_seconds": 29 * 24 * 3600})
        try:
            board = (await desk.get(hub.board())).json()
        finally:
            await service.put(hub.clock(), json={"offset_seconds": 0})

    assert f"Task/{assessment['id']}" in {a["task"] for a in board["assessments_overdue"]}
    assert f"Task/{assessment['id']}" not in {a["task"] for a in board["assessments_due"]}


async def test_given_a_subscriber_to_the_persons_news_then_the_discharge_reaches_it(
    desk: httpx.AsyncClient, hub: DischargeHub, tmp_path: Path
) -> None:
    stay = await in_hospital(desk)
    practice_system = Receiver(tmp_path).start()
    try:
        created = await desk.post(
            "Subscription",
            json={
                "resourceType": "Subscription",
                "status": "requested",
                "reason": "The GP practice hears of its patients' discharges",
                "criteria": f"Communication?subject={stay.patient}",
                "channel": {
                    "type": "rest-hook",
                    "endpoint": practice_system.endpoint,
                    "payload": "application/fhir+json",
                },
            },
        )
        assert created.status_code == 201, created.text
        episode = await identified(desk, stay.spell["id"], ago(days=1))
        episode = await moved(desk, episode, "pathway-proposed", ("pathway", "Code", "1"))
        episode = await moved(desk, episode, "pathway-agreed")
        await moved(desk, episode, "discharged")

        (event,) = await practice_system.wait_for(created.json()["id"], 1)
    finally:
        practice_system.stop()

    assert event.focus is not None and event.focus.startswith("Communication/")


async def test_given_the_hospital_moves_the_person_then_the_board_shows_the_new_ward(
    desk: httpx.AsyncClient, hub: DischargeHub
) -> None:
    stay = await in_hospital(desk)
    episode = await identified(desk, stay.spell["id"], ago(days=1))
    spell = (await desk.get(f"Encounter/{stay.spell['id']}")).json()
    moved_ward = {k: v for k, v in spell.items() if k != "meta"}
    moved_ward["location"] = [{"location": {"display": f"Discharge lounge {episode['id'][:6]}"}}]
    assert (await desk.put(f"Encounter/{spell['id']}", json=moved_ward)).status_code == 200

    async def on_the_new_ward() -> Resource | None:
        row = await board_row(desk, hub, episode)
        return row if row and str(row["ward"]).startswith("Discharge lounge") else None

    assert await eventually(on_the_new_ward)
