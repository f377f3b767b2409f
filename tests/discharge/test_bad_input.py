"""Bad input at the discharge hub's doors: refused whole with an OperationOutcome and the right
4xx, nothing written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.auth.devissuer import DevIssuer
from tests.conftest import gateway_client
from tests.discharge.conftest import DischargeHub, ago, in_hospital, parameters
from tests.discharge.test_journey import identified, moved
from tests.support.fhir import refused

Resource = dict[str, Any]


@pytest.fixture
async def resident(hub: DischargeHub, issuer: DevIssuer) -> AsyncIterator[httpx.AsyncClient]:
    token = issuer.issue(scope="patient/*.cruds", patient="someone", client_id="resident-app")
    async with gateway_client(hub.gateway, token) as client:
        yield client


async def test_given_an_unknown_pathway_then_422_and_the_state_unchanged(
    desk: httpx.AsyncClient, hub: DischargeHub
) -> None:
    stay = await in_hospital(desk)
    episode = await identified(desk, stay.spell["id"], ago(days=1))

    answer = await desk.post(
        f"EpisodeOfCare/{episode['id']}/$d2a-transition",
        json=parameters(("state", "Code", "pathway-proposed"), ("pathway", "Code", "5")),
    )

    refused(answer, 422, "'5'")
    assert (await desk.get(f"EpisodeOfCare/{episode['id']}")).json()["meta"]["versionId"] == "1"


async def test_given_an_unknown_delay_reason_then_422(
    desk: httpx.AsyncClient, hub: DischargeHub
) -> None:
    stay = await in_hospital(desk)
    episode = await identified(desk, stay.spell["id"], ago(days=1))

    answer = await desk.post(
        f"EpisodeOfCare/{episode['id']}/$d2a-delay", json=parameters(("reason", "Code", "weather"))
    )

    refused(answer, 422, "weather")


async def test_given_a_discharge_before_the_admission_then_422_and_nothing_written(
    desk: httpx.AsyncClient, hub: DischargeHub
) -> None:
    stay = await in_hospital(desk, days=3)
    episode = await identified(desk, stay.spell["id"], ago(days=1))
    episode = await moved(desk, episode, "pathway-proposed", ("pathway", "Code", "1"))
    episode = await moved(desk, episode, "pathway-agreed")

    answer = await desk.post(
        f"EpisodeOfCare/{episode['id']}/$d2a-transition",
        json=parameters(("state", "Code", "discharged"), ("at", "DateTime", ago(days=5))),
    )

    refused(answer, 422, "before the admission")
    assert (await desk.get(f"Encounter/{stay.spell['id']}")).json()["status"] == "in-progress"
    tasks = (await desk.get("Task", params={"based-on": f"EpisodeOfCare/{episode['id']}"})).json()
    assert not tasks.get("entry")


@pytest.mark.parametrize(
    ("when", "fault"),
    [
        (lambda: (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds"), "future"),
        (lambda: ago(days=30), "before the admission"),
        (lambda: "yesterday", "date and time"),
    ],
)
async def test_given_an_impossible_discharge_ready_date_then_422(
    desk: httpx.AsyncClient, hub: DischargeHub, when: Any, fault: str
) -> None:
    stay = await in_hospital(desk)

    answer = await desk.post(
        "EpisodeOfCare/$d2a-identify",
        json=parameters(
            ("spell", "Reference", f"Encounter/{stay.spell['id']}"),
            ("readyDate", "DateTime", when()),
        ),
    )

    assert answer.status_code in (400, 422) and fault in answer.text, answer.text
    spell = (await desk.get(f"Encounter/{stay.spell['id']}")).json()
    assert not spell.get("episodeOfCare")


async def test_given_a_stay_identified_twice_or_not_a_stay_then_refused(
    desk: httpx.AsyncClient, hub: DischargeHub
) -> None:
    stay = await in_hospital(desk)
    await identified(desk, stay.spell["id"], ago(days=1))

    again = await desk.post(
        "EpisodeOfCare/$d2a-identify",
        json=parameters(("spell", "Reference", f"Encounter/{stay.spell['id']}")),
    )
    nothing = await desk.post(
        "EpisodeOfCare/$d2a-identify",
        json=parameters(("spell", "Reference", "Encounter/no-such-stay")),
    )
    wrong_kind = await desk.post(
        "EpisodeOfCare/$d2a-identify", json=parameters(("spell", "Reference", stay.patient))
    )

    refused(again, 409, "already has an open D2A episode")
    refused(nothing, 422, "not a stay")
    refused(wrong_kind, 422, "inpatient Encounter")


@pytest.mark.parametrize(
    ("params", "fault"),
    [
        ({"pathway": "9"}, "not a pathway"),
        ({"status": "lost"}, "not a status"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_given_a_board_filter_that_does_not_exist_then_400(
    desk: httpx.AsyncClient, hub: DischargeHub, params: dict[str, str], fault: str
) -> None:
    refused(await desk.get(hub.board(), params=params), 400, fault)


@pytest.mark.parametrize(
    "body",
    [
        b'{"resourceType": "Parameters", "parameter": [',
        b'{"resourceType": "Bundle"}',
        b'{"resourceType": "Parameters", "parameter": [{"name": "state", "valueInteger": 3}]}',
    ],
)
async def test_given_a_malformed_request_then_400(
    desk: httpx.AsyncClient, hub: DischargeHub, body: bytes
) -> None:
    answer = await desk.post("EpisodeOfCare/any/$d2a-transition", content=body)

    assert answer.status_code == 400, answer.text


async def test_given_no_token_then_401_and_a_residents_token_then_403(
    hub: DischargeHub, resident: httpx.AsyncClient
) -> None:
    async with gateway_client(hub.gateway, None) as stranger:
        anonymous = await stranger.get(hub.board())
        operation = await stranger.post("EpisodeOfCare/$d2a-identify", json=parameters())
    theirs = await resident.get(hub.board())
    their_operation = await resident.post("EpisodeOfCare/$d2a-identify", json=parameters())

    assert anonymous.status_code == 401 and operation.status_code == 401
    assert theirs.status_code == 403 and their_operation.status_code == 403


async def test_given_a_body_over_the_limit_then_413(
    desk: httpx.AsyncClient, hub: DischargeHub
) -> None:
    big = parameters(("reason", "String", "x" * 2_000_000), ("state", "Code", "closed"))

    answer = await desk.post("EpisodeOfCare/any/$d2a-transition", json=big)

    assert answer.status_code == 413, answer.text


async def test_given_the_front_door_then_its_capability_statement_lists_the_hubs_operations(
    hub: DischargeHub,
) -> None:
    async with gateway_client(hub.gateway, None) as stranger:
        statement = (await stranger.get("metadata")).json()

    by_type = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {"d2a-identify", "d2a-transition", "criteria-to-reside", "d2a-delay"} <= {
        o["name"] for o in by_type["EpisodeOfCare"]["operation"]
    }
    measures = by_type["Measure"]["operation"]
    assert any("discharge-figures" in o.get("documentation", "") for o in measures)
