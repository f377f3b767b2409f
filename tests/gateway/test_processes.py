"""The gateway as a process among processes: idempotent POSTs that survive its restart, a
stopped service answered with 503 at once, bodies over the limit refused before any service
sees them, and a per-client rate limit. Tests that start processes of their own are slow."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from shared.auth.devissuer import DevIssuer
from tests.conftest import gateway_client
from tests.support.fhir import patient, unique
from tests.support.gateway import matches
from tests.support.services import RunningService, gateway_service, record_service

MIB = 1024 * 1024


def _oversized(family: str) -> dict[str, object]:
    return patient(family=family, text={"status": "generated", "div": "x" * (MIB + 1)})


async def test_given_body_over_the_limit_when_posting_then_413_and_nothing_stored(
    front_door: httpx.AsyncClient,
) -> None:
    family = unique("Family")
    declared = await front_door.post("Patient", json=_oversized(family))
    assert declared.status_code == 413, declared.text[:300]
    assert declared.json()["issue"][0]["code"] == "too-costly"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(17):
            yield b" " * (64 * 1024)
        yield b'{"resourceType": "Patient"}'

    streamed = await front_door.post("Patient", content=chunks())
    assert streamed.status_code == 413, streamed.text[:300]
    assert matches((await front_door.get("Patient", params={"family": family})).json()) == []


@pytest.mark.slow
async def test_given_x_request_id_when_post_repeated_across_gateway_restart_then_one_resource(
    record: RunningService,
    spare_gateway_database: str,
    auth_dir: Path,
    front_door: httpx.AsyncClient,
    system_token: str,
) -> None:
    family = unique("Family")
    headers = {"X-Request-Id": unique("booking-")}
    answers = []
    for _ in range(2):
        gateway = gateway_service(record, spare_gateway_database, str(auth_dir)).start()
        try:
            async with gateway_client(gateway, system_token) as client:
                answers.append(
                    await client.post("Patient", json=patient(family=family), headers=headers)
                )
        finally:
            gateway.stop()
    first, again = answers
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["x-request-id"] == headers["X-Request-Id"]
    stored = matches((await front_door.get("Patient", params={"family": family})).json())
    assert [r["id"] for r in stored] == [first.json()["id"]]


@pytest.fixture
def stopped_record(
    database_url: str, spare_gateway_database: str, auth_dir: Path
) -> Iterator[RunningService]:
    """A gateway whose record has been stopped after the gateway learned its routes."""
    record = record_service(database_url, data_dir=str(auth_dir)).start()
    gateway = gateway_service(
        record, spare_gateway_database, str(auth_dir), max_body_bytes=str(MIB)
    ).start()
    record.stop()
    yield gateway
    gateway.stop()


@pytest.mark.slow
async def test_given_stopped_service_when_calling_then_503_at_once_and_413_still_first(
    stopped_record: RunningService, system_token: str
) -> None:
    async with gateway_client(stopped_record, system_token) as client:
        for method, path, body in (
            ("GET", "Patient/someone", None),
            ("GET", "Observation?code=8867-4", None),
            ("POST", "Patient", patient()),
        ):
            started = time.monotonic()
            answer = await client.request(method, path, json=body)
            elapsed = time.monotonic() - started
            assert answer.status_code == 503, answer.text
            outcome = answer.json()
            assert outcome["resourceType"] == "OperationOutcome"
            assert outcome["issue"][0]["code"] == "transient"
            assert elapsed < 5, f"{method} {path} took {elapsed:.1f} s"  # the route allows 30
        # refused by the gateway itself: no service was there to refuse it
        oversized = await client.post("Patient", json=_oversized(unique()))
        assert oversized.status_code == 413


@pytest.fixture
def strict_gateway(
    record: RunningService, spare_gateway_database: str, auth_dir: Path
) -> Iterator[RunningService]:
    gateway = gateway_service(
        record, spare_gateway_database, str(auth_dir), rate_limit_per_minute="5"
    ).start()
    yield gateway
    gateway.stop()


@pytest.mark.slow
async def test_given_client_over_its_rate_when_calling_then_429_with_retry_after(
    strict_gateway: RunningService, issuer: DevIssuer
) -> None:
    busy = issuer.issue(scope="system/*.rs", client_id=unique("busy-app-"))
    calm = issuer.issue(scope="system/*.rs", client_id=unique("calm-app-"))
    search = {"family": unique()}
    async with gateway_client(strict_gateway, busy) as client:
        statuses = [(await client.get("Patient", params=search)).status_code for _ in range(5)]
        assert statuses == [200] * 5
        limited = await client.get("Patient", params=search)
    assert limited.status_code == 429, limited.text
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["issue"][0]["code"] == "throttled"
    async with gateway_client(strict_gateway, calm) as client:  # the limit is per client
        assert (await client.get("Patient", params=search)).status_code == 200
