"""Subscriptions: changes reach a partner's endpoint, in order, and none is ever lost."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import FHIR_JSON, _migrated, make_postgres_database
from tests.support.fhir import observation, patient, unique
from tests.support.receiving import Receiver
from tests.support.services import RunningService, record_service

FAST_RETRY = {
    "subscription_attempts": "2",
    "subscription_backoff_seconds": "0.1",
    "subscription_max_backoff_seconds": "0.3",
    "subscription_poll_seconds": "0.1",
}
PAYLOAD_CONTENT = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content"
)


@pytest.fixture(scope="module")
def own_database(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    """A database for this module alone: its record processes are killed and restarted."""
    if database_url.startswith("sqlite"):
        path = tmp_path_factory.mktemp("subscriptions") / "record.db"
        return asyncio.run(_migrated(f"sqlite+aiosqlite:///{path}"))
    return make_postgres_database(request.getfixturevalue("postgres_admin"), "subscriptions")


@pytest.fixture(scope="module")
def notifying_record(own_database: str, auth_dir: Path, issuer: Any) -> Iterator[RunningService]:
    service = record_service(own_database, data_dir=str(auth_dir), **FAST_RETRY).start()
    yield service
    service.stop()


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    endpoint = Receiver(tmp_path).start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
async def client(
    notifying_record: RunningService, system_token: str
) -> AsyncIterator[httpx.AsyncClient]:
    headers = {
        "Accept": FHIR_JSON,
        "Content-Type": FHIR_JSON,
        "Authorization": f"Bearer {system_token}",
    }
    async with httpx.AsyncClient(
        base_url=notifying_record.base + "/", headers=headers, timeout=30
    ) as http:
        yield http


def subscription(
    receiver: Receiver, code: str, *, content: str = "full-resource", status: str = "requested"
) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "type": "rest-hook",
        "endpoint": receiver.endpoint,
        "header": ["Authorization: Bearer partner-secret"],
    }
    if content != "empty":
        channel["payload"] = "application/fhir+json"
        channel["_payload"] = {"extension": [{"url": PAYLOAD_CONTENT, "valueCode": content}]}
    return {
        "resourceType": "Subscription",
        "status": status,
        "reason": "A partner follows heart-rate readings",
        "criteria": f"Observation?code={code}",
        "channel": channel,
    }


async def _subscribe(
    client: httpx.AsyncClient, receiver: Receiver, code: str, **options: str
) -> str:
    created = await client.post("Subscription", json=subscription(receiver, code, **options))
    assert created.status_code == 201, created.text
    subscription_id: str = created.json()["id"]
    await _wait_status(client, subscription_id, "active")
    return subscription_id


async def _wait_status(client: httpx.AsyncClient, subscription_id: str, status: str) -> None:
    for _ in range(200):
        current = (await client.get(f"Subscription/{subscription_id}")).json()
        if current["status"] == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"Subscription/{subscription_id} never became {status}: {current}")


async def _person(client: httpx.AsyncClient) -> str:
    return str((await client.post("Patient", json=patient())).json()["id"])


async def test_given_requested_subscription_then_handshake_then_active(
    client: httpx.AsyncClient,
    receiver: Receiver,
) -> None:
    subscription_id = await _subscribe(client, receiver, unique("code-"))
    handshakes = [
        d for d in receiver.deliveries() if d["body"]["entry"][0]["resource"]["type"] == "handshake"
    ]
    assert handshakes and handshakes[0]["headers"]["authorization"] == "Bearer partner-secret"
    assert subscription_id


async def test_given_subscription_when_created_updated_deleted_then_each_arrives_in_order(
    client: httpx.AsyncClient,
    receiver: Receiver,
) -> None:
    code = unique("code-")
    subscription_id = await _subscribe(client, receiver, code)
    person = await _person(client)
    other = (await client.post("Observation", json=observation(person, code="8867-4"))).json()
    made = (await client.post("Observation", json=observation(person, code=code))).json()
    await client.put(f"Observation/{made['id']}", json={**made, "status": "amended"})
    await client.delete(f"Observation/{made['id']}")
    events = await receiver.wait_for(subscription_id, 3)
    assert [e.method for e in events] == ["POST", "PUT", "DELETE"]
    assert [e.event_number for e in events] == [1, 2, 3]
    assert events[0].resource is not None and events[0].resource["status"] == "final"
    assert events[1].resource is not None and events[1].resource["status"] == "amended"
    assert events[2].resource is None
    assert all(other["id"] not in str(e.focus) for e in events)
    assert events[1].focus == f"Observation/{made['id']}/_history/2"


@pytest.mark.parametrize("content", ["id-only", "empty"])
async def test_given_smaller_payload_when_change_then_resource_not_sent(
    client: httpx.AsyncClient,
    receiver: Receiver,
    content: str,
) -> None:
    code = unique("code-")
    subscription_id = await _subscribe(client, receiver, code, content=content)
    person = await _person(client)
    await client.post("Observation", json=observation(person, code=code))
    for _ in range(200):
        bodies = [
            d
            for d in receiver.deliveries()
            if d["body"] is None
            or d["body"]["entry"][0]["resource"]["type"] == "event-notification"
        ]
        if bodies:
            break
        await asyncio.sleep(0.05)
    assert bodies, "no notification arrived"
    if content == "empty":
        assert bodies[0]["body"] is None
    else:
        events = receiver.events(subscription_id)
        assert events[0].resource is None and events[0].focus is not None


async def test_given_endpoint_down_when_changes_then_error_and_all_arrive_once_back(
    client: httpx.AsyncClient,
    receiver: Receiver,
) -> None:
    code = unique("code-")
    subscription_id = await _subscribe(client, receiver, code)
    receiver.failing(True)
    person = await _person(client)
    made = [
        (await client.post("Observation", json=observation(person, code=code))).json()
        for _ in range(3)
    ]
    for reading in made:
        await client.put(f"Observation/{reading['id']}", json={**reading, "status": "amended"})
    await _wait_status(client, subscription_id, "error")
    error = (await client.get(f"Subscription/{subscription_id}")).json()["error"]
    assert "503" in error
    receiver.failing(False)
    events = await receiver.wait_for(subscription_id, 6, seconds=30)
    numbers = [e.event_number for e in events]
    assert sorted(set(numbers)) == [1, 2, 3, 4, 5, 6]
    assert numbers == sorted(numbers), "delivered out of commit order"
    await _wait_status(client, subscription_id, "active")


async def test_given_record_killed_after_commit_then_notification_arrives_after_restart(
    notifying_record: RunningService,
    client: httpx.AsyncClient,
    receiver: Receiver,
) -> None:
    code = unique("code-")
    subscription_id = await _subscribe(client, receiver, code)
    receiver.failing(True)
    person = await _person(client)
    await client.post("Observation", json=observation(person, code=code))
    assert notifying_record.process is not None
    os.kill(notifying_record.process.pid, signal.SIGKILL)
    notifying_record.process.wait()
    receiver.failing(False)
    notifying_record.start()
    events = await receiver.wait_for(subscription_id, 1, seconds=30)
    assert [e.event_number for e in events][:1] == [1]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"channel": {"type": "email", "endpoint": "mailto:x@example.org"}}, "channel.type"),
        ({"criteria": "Observation?code=%%%&&=="}, "criteria"),
        ({"criteria": "NotAType?code=1"}, "criteria"),
        ({"criteria": "Observation?favourite-colour=blue"}, "criteria"),
        (
            {"channel": {"type": "rest-hook", "endpoint": "ftp://example.org/hook"}},
            "channel.endpoint",
        ),
    ],
)
async def test_given_bad_subscription_when_created_then_422_naming_the_problem(
    client: httpx.AsyncClient,
    receiver: Receiver,
    change: dict[str, Any],
    where: str,
) -> None:
    bad = {**subscription(receiver, "x"), **change}
    response = await client.post("Subscription", json=bad)
    assert response.status_code in (400, 422), response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert where in str(outcome)


@pytest.fixture
def replicas(postgres_admin: str, auth_dir: Path, issuer: Any) -> Iterator[list[RunningService]]:
    """Two record processes on one PostgreSQL database, as in a scaled-out deployment."""
    url = make_postgres_database(postgres_admin, "replicas")
    services = [record_service(url, data_dir=str(auth_dir), **FAST_RETRY).start() for _ in range(2)]
    yield services
    for service in services:
        service.stop()


async def test_given_two_replicas_on_postgres_then_each_notification_delivered_once(
    replicas: list[RunningService],
    receiver: Receiver,
    system_token: str,
) -> None:
    headers = {"Content-Type": FHIR_JSON, "Authorization": f"Bearer {system_token}"}
    clients = [
        httpx.AsyncClient(base_url=r.base + "/", headers=headers, timeout=30) for r in replicas
    ]
    try:
        code = unique("code-")
        subscription_id = await _subscribe(clients[0], receiver, code)
        person = await _person(clients[0])
        answers = await asyncio.gather(
            *(
                clients[i % 2].post("Observation", json=observation(person, code=code))
                for i in range(40)
            )
        )
        failed = [a.text for a in answers if a.status_code != 201]
        assert not failed, failed[:2]
        events = await receiver.wait_for(subscription_id, 40, seconds=30)
    finally:
        for http in clients:
            await http.aclose()
    numbers = [e.event_number for e in events]
    assert sorted(numbers) == list(range(1, 41)), "an event was lost or delivered twice"


async def test_given_subscription_when_status_asked_then_events_and_waiting_counted(
    client: httpx.AsyncClient,
    receiver: Receiver,
) -> None:
    code = unique("code-")
    subscription_id = await _subscribe(client, receiver, code)
    person = await _person(client)
    await client.post("Observation", json=observation(person, code=code))
    await receiver.wait_for(subscription_id, 1)
    answer = await client.get(f"Subscription/{subscription_id}/$status")
    assert answer.status_code == 200, answer.text
    status = answer.json()["entry"][0]["resource"]
    assert status["resourceType"] == "SubscriptionStatus"
    assert status["eventsSinceSubscriptionStart"] == "1"
    assert status["extension"][0]["valueInteger"] == 0
