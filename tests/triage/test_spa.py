"""The single point of access end to end: a referral from any door is triaged on arrival
(learnt of by Subscription), routed to a service with its deadline, and can be confirmed,
overridden, sent back and re-routed. Real processes: the record, triage and the gateway."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.triage.routing import RECEIVED_EXTENSION
from shared.fhir import terms
from tests.support.gateway import wait_for_audit
from tests.support.services import REPO
from tests.triage.conftest import Spa
from tests.triage.referrals import (
    Resource,
    inputs,
    message,
    owner_route,
    refer,
    referral_bundle,
    routings,
    status_of,
)


async def test_given_a_fall_referred_by_a_gp_then_urgent_community_response_within_two_hours(
    spa_door: httpx.AsyncClient, directory: dict[str, str]
) -> None:
    request_id = await refer(spa_door, referral_bundle(problems=("fall",)))

    (task,) = await routings(spa_door, request_id)

    assert await owner_route(spa_door, task) == "urgent-community-response"
    assert task["priority"] == "urgent" and status_of(task) == "auto-routed"
    referral = (await spa_door.get(f"ServiceRequest/{request_id}")).json()
    (received_stamp,) = [e for e in referral["extension"] if e["url"] == RECEIVED_EXTENSION]
    received = datetime.fromisoformat(received_stamp["valueDateTime"].replace("Z", "+00:00"))
    assert received >= datetime.fromisoformat(referral["authoredOn"])
    deadline = datetime.fromisoformat(task["restriction"]["period"]["end"].replace("Z", "+00:00"))
    assert deadline - received == timedelta(hours=2)
    assert referral["performer"][0]["reference"] == task["owner"]["reference"]
    assert referral["priority"] == "urgent"
    assert inputs(task, "decision-table-version") and inputs(task, "rule-fired")


async def test_given_a_red_flag_then_advice_to_call_999_is_recorded_and_nobody_is_sent(
    spa_door: httpx.AsyncClient, directory: dict[str, str]
) -> None:
    bundle = referral_bundle(problems=("fall",), red_flags=("red-flag-chest-pain",))
    request_id = await refer(spa_door, bundle)

    (task,) = await routings(spa_door, request_id)

    assert task["status"] == "completed" and "owner" not in task
    assert status_of(task) == "auto-routed"
    assert "999" in task["note"][0]["text"]


async def test_given_an_order_that_is_not_a_referral_then_triage_leaves_it_alone(
    spa_door: httpx.AsyncClient, directory: dict[str, str]
) -> None:
    bundle = referral_bundle(problems=("fall",))
    order = bundle["entry"][1]["resource"]
    order.pop("category")  # say, a GP asking the hospital for a blood test
    request_id = await refer(spa_door, bundle)
    await asyncio.sleep(1.5)

    tasks = (await spa_door.get("Task", params={"focus": f"ServiceRequest/{request_id}"})).json()
    untouched = (await spa_door.get(f"ServiceRequest/{request_id}")).json()

    assert not tasks.get("entry") and "performer" not in untouched


async def test_given_a_repeated_notification_then_one_routing(
    spa_door: httpx.AsyncClient, directory: dict[str, str]
) -> None:
    request_id = await refer(spa_door, referral_bundle())
    await routings(spa_door, request_id)
    referral = (await spa_door.get(f"ServiceRequest/{request_id}")).json()

    touched = {**referral, "note": [{"text": "Daughter called again"}]}
    assert (await spa_door.put(f"ServiceRequest/{request_id}", json=touched)).status_code == 200
    await asyncio.sleep(1.0)

    assert len(await routings(spa_door, request_id)) == 1


async def test_given_a_clinician_when_overriding_then_a_reason_is_needed_and_a_new_routing(
    spa_door: httpx.AsyncClient, directory: dict[str, str]
) -> None:
    request_id = await refer(spa_door, referral_bundle())
    (first,) = await routings(spa_door, request_id)

    def triage(**values: str) -> Resource:
        parameters = [{"name": "decision", "valueCode": values.pop("decision")}]
        parameters += [
            {"name": name, ("valueCode" if name == "route" else "valueString"): value}
            for name, value in values.items()
        ]
        return {"resourceType": "Parameters", "parameter": parameters}

    path = f"ServiceRequest/{request_id}/$triage"
    without_reason = await spa_door.post(path, json=triage(decision="override", route="wellbeing"))
    overridden = await spa_door.post(
        path, json=triage(decision="override", route="wellbeing", reason="Needs company, not care")
    )

    assert without_reason.status_code == 422, without_reason.text
    assert overridden.status_code == 200, overridden.text
    assert await owner_route(spa_door, overridden.json()) == "wellbeing"
    assert status_of(overridden.json()) == "overridden"
    cancelled = (await spa_door.get(f"Task/{first['id']}")).json()
    assert (
        cancelled["status"] == "cancelled" and "Needs company" in cancelled["statusReason"]["text"]
    )
    confirmed = await spa_door.post(path, json=triage(decision="confirm"))
    assert confirmed.status_code == 200 and status_of(confirmed.json()) == "confirmed"


async def test_given_a_team_rejects_the_referral_then_it_returns_to_the_spa_queue(
    spa_door: httpx.AsyncClient, directory: dict[str, str]
) -> None:
    request_id = await refer(spa_door, referral_bundle())
    (task,) = await routings(spa_door, request_id)

    rejected = {**task, "status": "rejected", "statusReason": {"text": "Out of our area"}}
    rejected.pop("meta")
    assert (await spa_door.put(f"Task/{task['id']}", json=rejected)).status_code == 200
    (returned,) = [
        t for t in await routings(spa_door, request_id, count=2) if t["id"] != task["id"]
    ]

    assert await owner_route(spa_door, returned) == "clinical-review"
    assert status_of(returned) == "returned"
    assert "Out of our area" in returned["reasonCode"]["text"]


async def test_given_a_bars_message_and_its_repeat_then_one_referral_from_111(
    spa_door: httpx.AsyncClient, directory: dict[str, str]
) -> None:
    sent = message()
    headers = {"X-Request-Id": str(uuid.uuid4())}

    first = await spa_door.post("$process-message", json=sent, headers=headers)
    repeat = await spa_door.post("$process-message", json=sent, headers=headers)
    resent = await spa_door.post("$process-message", json=sent)  # same message, new request id

    assert first.status_code == 200, first.text
    answer = first.json()["entry"][0]["resource"]
    assert answer["response"] == {"identifier": sent["entry"][0]["resource"]["id"], "code": "ok"}
    focus = answer["focus"][0]["reference"]
    assert repeat.json()["entry"][0]["resource"]["focus"][0]["reference"] == focus
    assert resent.json()["entry"][0]["resource"]["focus"][0]["reference"] == focus
    referral = (await spa_door.get(focus)).json()
    extensions = {e["url"]: e for e in referral["extension"]}
    assert extensions[terms.REFERRAL_CHANNEL_EXTENSION]["valueCoding"]["code"] == "111"
    assert RECEIVED_EXTENSION in extensions
    (task,) = await routings(spa_door, focus.split("/")[1])
    assert await owner_route(spa_door, task) == "urgent-community-response"


@pytest.mark.parametrize(
    ("change", "status"),
    [
        (lambda m: m.update(type="transaction"), 400),
        (lambda m: m["entry"][0]["resource"]["eventCoding"].update(code="other-event"), 422),
        (lambda m: m["entry"].pop(2), 422),
        (lambda m: m["entry"][0]["resource"].update(resourceType="Patient"), 400),
    ],
)
async def test_given_a_message_that_is_not_a_referral_then_refused(
    spa_door: httpx.AsyncClient, change: Any, status: int
) -> None:
    sent = message()
    change(sent)

    answer = await spa_door.post("$process-message", json=sent)

    assert answer.status_code == status, answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"


async def test_given_an_unknown_channel_then_422(spa_door: httpx.AsyncClient) -> None:
    sent = message()
    sent["entry"][2]["resource"]["extension"] = [
        {
            "url": terms.REFERRAL_CHANNEL_EXTENSION,
            "valueCoding": {"system": terms.REFERRAL_CHANNEL, "code": "carrier-pigeon"},
        }
    ]

    answer = await spa_door.post("$process-message", json=sent)

    assert answer.status_code == 422 and "carrier-pigeon" in answer.text


async def test_given_a_queue_then_soonest_deadline_first(
    spa: Spa, spa_door: httpx.AsyncClient, system_token: str, directory: dict[str, str]
) -> None:
    for problems in (("other",), ("fall",)):
        await routings(spa_door, await refer(spa_door, referral_bundle(problems=problems)))

    queue = (await spa_door.get(spa.view("queue"))).json()

    deadlines = [item["deadline"] for item in queue["waiting"] if item["deadline"]]
    assert deadlines == sorted(deadlines) and len(deadlines) >= 2


def test_given_a_decision_table_that_does_not_parse_then_triage_refuses_to_start(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "table.yaml"
    broken.write_text("version: [unclosed\n")

    started = subprocess.run(
        [sys.executable, "-c", "from services.triage.app import create_app; create_app()"],
        cwd=REPO,
        env={"ONESTORY_DECISION_TABLE": str(broken), "ONESTORY_ENVIRONMENT": "test", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert started.returncode != 0
    assert "triage will not start" in started.stderr and "table.yaml" in started.stderr


async def test_given_two_hours_pass_then_the_routing_is_breached_and_escalated_once(
    spa: Spa, spa_door: httpx.AsyncClient, system_token: str, directory: dict[str, str]
) -> None:
    (task,) = await routings(spa_door, await refer(spa_door, referral_bundle(problems=("fall",))))
    triage = spa.triage.base.removesuffix("/fhir")
    headers = {"Authorization": f"Bearer {system_token}"}

    async with httpx.AsyncClient(headers=headers) as client:
        before = (await client.get(f"{triage}/triage/breaches")).json()
        await client.put(f"{triage}/triage/clock", json={"offset_seconds": 2 * 3600 + 60})
        try:
            after = (await client.get(f"{triage}/triage/breaches")).json()
            again = (await client.get(f"{triage}/triage/breaches")).json()
        finally:
            await client.put(f"{triage}/triage/clock", json={"offset_seconds": 0})

    assert f"Task/{task['id']}" not in {item["task"] for item in before["breached"]}
    assert f"Task/{task['id']}" in {item["task"] for item in after["breached"]}
    assert f"Task/{task['id']}" in {item["task"] for item in again["breached"]}
    escalations = (await spa_door.get("Task", params={"part-of": f"Task/{task['id']}"})).json()
    (escalation,) = [e["resource"] for e in escalations["entry"]]
    assert escalation["priority"] == "stat" and escalation["owner"] == task["owner"]


async def test_given_the_queue_is_read_through_the_gateway_then_each_person_listed_is_audited(
    spa: Spa, spa_door: httpx.AsyncClient, directory: dict[str, str]
) -> None:
    (task,) = await routings(spa_door, await refer(spa_door, referral_bundle(problems=("other",))))
    person = task["for"]["reference"].removeprefix("Patient/")

    queue = (await spa_door.get(spa.view("queue"))).json()

    assert f"Patient/{person}" in {item["patient"] for item in queue["waiting"]}
    event = await wait_for_audit(spa_door, person, lambda e: e["subtype"][0]["code"] == "operation")
    asked = base64.b64decode(next(e["query"] for e in event["entity"] if "query" in e))
    assert asked.decode() == "/triage/queue" and event["agent"][1]["who"]["display"] == "test-suite"


async def test_given_a_message_with_a_correlation_id_then_the_whole_conversation_carries_it(
    spa_door: httpx.AsyncClient, directory: dict[str, str]
) -> None:
    conversation = f"bars-{uuid.uuid4()}"

    answer = await spa_door.post(
        "$process-message", json=message(), headers={"X-Correlation-Id": conversation}
    )

    assert answer.status_code == 200 and answer.headers["x-correlation-id"] == conversation
    referral = await spa_door.get(answer.json()["entry"][0]["resource"]["focus"][0]["reference"])
    person = referral.json()["subject"]["reference"].removeprefix("Patient/")

    def written_by_triage_in_this_conversation(event: Resource) -> bool:
        ids = [
            e["what"]["identifier"]["value"]
            for e in event["entity"]
            if "identifier" in e.get("what", {})
        ]
        return event["agent"][1]["who"]["display"] == "onestory-triage" and conversation in ids

    await wait_for_audit(spa_door, person, written_by_triage_in_this_conversation)
