"""The single point of access end to end: a referral from any door is triaged on arrival
(learnt of by Subscription), routed to a service with its deadline, and can be confirmed,
overridden, sent back and re-routed. Real processes: the record, triage and the gateway."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.triage.routing import RECEIVED_EXTENSION, TRIAGE_STATUS
from shared.fhir import terms
from tests.support.fhir import patient
from tests.support.services import REPO
from tests.triage.conftest import Spa

Resource = dict[str, Any]
INTAKE = terms.questionnaire("referral-intake")


def referral_bundle(
    *, channel: str = "gp", problems: tuple[str, ...] = ("fall",), red_flags: tuple[str, ...] = ()
) -> Resource:
    person, request, answers = (f"urn:uuid:{uuid.uuid4()}" for _ in range(3))
    items: list[Resource] = [
        {
            "linkId": "presenting-problems",
            "answer": [
                {"valueCoding": terms.coding(terms.PRESENTING_PROBLEM, code)} for code in problems
            ],
        }
    ]
    items += [{"linkId": flag, "answer": [{"valueBoolean": True}]} for flag in red_flags]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": person,
                "resource": patient(),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": request,
                "resource": {
                    "resourceType": "ServiceRequest",
                    "status": "active",
                    "intent": "order",
                    "subject": {"reference": person},
                    "authoredOn": _now(),
                    "extension": [
                        {
                            "url": terms.REFERRAL_CHANNEL_EXTENSION,
                            "valueCoding": terms.coding(terms.REFERRAL_CHANNEL, channel),
                        }
                    ],
                },
                "request": {"method": "POST", "url": "ServiceRequest"},
            },
            {
                "fullUrl": answers,
                "resource": {
                    "resourceType": "QuestionnaireResponse",
                    "questionnaire": INTAKE,
                    "status": "completed",
                    "subject": {"reference": person},
                    "basedOn": [{"reference": request}],
                    "item": items,
                },
                "request": {"method": "POST", "url": "QuestionnaireResponse"},
            },
        ],
    }


async def refer(client: httpx.AsyncClient, bundle: Resource) -> str:
    answer = await client.post("", json=bundle)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["entry"][1]["response"]["location"]).split("/")[1]


async def routings(client: httpx.AsyncClient, request_id: str, count: int = 1) -> list[Resource]:
    """The referral's triage Tasks, newest first, once there are ``count`` of them."""
    for _ in range(150):
        bundle = (
            await client.get(
                "Task", params={"focus": f"ServiceRequest/{request_id}", "_sort": "-authored-on"}
            )
        ).json()
        tasks = [
            e["resource"]
            for e in bundle.get("entry", [])
            if e["resource"]["resourceType"] == "Task"
        ]
        if len(tasks) >= count:
            return tasks
        await asyncio.sleep(0.1)
    raise AssertionError(f"ServiceRequest/{request_id} was not routed {count} time(s)")


async def owner_route(client: httpx.AsyncClient, task: Resource) -> str:
    """The route the service a Task went to takes (other tests' directories may hold other
    services of the same route: the chosen one is whichever is eligible and most specific)."""
    service = (await client.get(task["owner"]["reference"])).json()
    return str(service["type"][0]["coding"][0]["code"])


def status_of(task: Resource) -> str:
    return str(
        next(c["code"] for c in task["businessStatus"]["coding"] if c["system"] == TRIAGE_STATUS)
    )


def inputs(task: Resource, kind: str) -> list[str]:
    return [
        i["valueString"] for i in task.get("input", []) if i["type"]["coding"][0]["code"] == kind
    ]


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


async def test_given_a_fall_referred_by_a_gp_then_urgent_community_response_within_two_hours(
    spa_door: httpx.AsyncClient, directory: dict[str, str]
) -> None:
    request_id = await refer(spa_door, referral_bundle(problems=("fall",)))

    (task,) = await routings(spa_door, request_id)

    assert await owner_route(spa_door, task) == "urgent-community-response"
    assert task["priority"] == "urgent" and status_of(task) == "auto-routed"
    referral = (await spa_door.get(f"ServiceRequest/{request_id}")).json()
    received = datetime.fromisoformat(referral["authoredOn"])
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


def message(channel_sender: str = "NHS 111 (IC24)") -> Resource:
    header_id = str(uuid.uuid4())
    person, request = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    return {
        "resourceType": "Bundle",
        "type": "message",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{header_id}",
                "resource": {
                    "resourceType": "MessageHeader",
                    "id": header_id,
                    "eventCoding": {
                        "system": "https://fhir.nhs.uk/CodeSystem/message-events-bars",
                        "code": "servicerequest-request",
                    },
                    "source": {"name": channel_sender, "endpoint": "urn:nhs-111"},
                    "focus": [{"reference": request}],
                },
            },
            {"fullUrl": person, "resource": patient()},
            {
                "fullUrl": request,
                "resource": {
                    "resourceType": "ServiceRequest",
                    "status": "active",
                    "intent": "order",
                    "subject": {"reference": person},
                    "reasonCode": [
                        {"coding": [terms.coding(terms.PRESENTING_PROBLEM, "confusion-delirium")]}
                    ],
                },
            },
        ],
    }


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

    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {system_token}"}) as client:
        queue = (await client.get(spa.triage.base.removesuffix("/fhir") + "/triage/queue")).json()

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
