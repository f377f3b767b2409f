"""Stopping the record (SIGTERM, as Kubernetes does) lets a notification being delivered
finish and be recorded as delivered, so it is not sent again after the restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from shared.storage.database import Database
from shared.storage.schema import subscription_event
from tests.conftest import FHIR_JSON
from tests.integration.test_subscriptions import FAST_RETRY, subscription
from tests.support.fhir import observation, patient, unique
from tests.support.receiving import Receiver
from tests.support.services import RunningService, record_service

pytestmark = pytest.mark.slow


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    folder = tmp_path / "receiver"
    folder.mkdir()
    endpoint = Receiver(folder).start()
    yield endpoint
    endpoint.stop()


async def _waiting_events(url: str) -> int:
    database = Database(url)
    try:
        async with database.transaction(write=False) as connection:
            counted = await connection.execute(select(func.count()).select_from(subscription_event))
            return int(counted.scalar_one())
    finally:
        await database.dispose()


async def test_given_a_delivery_in_flight_when_the_record_stops_then_it_finishes_and_is_recorded(
    auth_dir: Path, system_token: str, receiver: Receiver, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'record.db'}"
    database = Database(url)
    await database.migrate()
    await database.dispose()
    record: RunningService = record_service(url, data_dir=str(auth_dir), **FAST_RETRY).start()
    headers = {"Content-Type": FHIR_JSON, "Authorization": f"Bearer {system_token}"}
    try:
        async with httpx.AsyncClient(base_url=record.base + "/", headers=headers) as client:
            code = unique("code-")
            created = await client.post("Subscription", json=subscription(receiver, code))
            subscription_id = created.json()["id"]
            for _ in range(200):
                if (await client.get(f"Subscription/{subscription_id}")).json()[
                    "status"
                ] == "active":
                    break
                await asyncio.sleep(0.05)
            receiver.slow(2.0)
            person = (await client.post("Patient", json=patient())).json()["id"]
            await client.post("Observation", json=observation(person, code=code))
        deadline = time.monotonic() + 20
        while receiver.arrivals() == 0:
            assert time.monotonic() < deadline, "the notification never arrived"
            await asyncio.sleep(0.02)
    finally:
        record.stop()  # SIGTERM while the endpoint is still answering

    assert [e.event_number for e in receiver.events(subscription_id)] == [1]
    assert await _waiting_events(url) == 0, "the delivered notification is still in the outbox"
