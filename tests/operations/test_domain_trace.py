"""A domain service's view through the gateway is one trace too: gateway -> triage -> (triage
calls the gateway in its own name) -> gateway -> record -> database."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.storage.database import Database
from tests.support.otlp import OtlpReceiver, ReceivedSpan, otlp_receiver
from tests.support.services import (
    RunningService,
    behind_a_gateway,
    record_service,
    wait_until_subscribed,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def traced_triage(
    auth_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[OtlpReceiver, RunningService]]:
    """A record of its own (triage subscribes to it), triage, and a gateway in front of both,
    each exporting OTLP to the receiver."""
    folder = tmp_path_factory.mktemp("traced-triage")
    url = f"sqlite+aiosqlite:///{folder / 'record.db'}"
    with otlp_receiver() as receiver:
        record = record_service(url, data_dir=str(auth_dir))
        triage, gateway = behind_a_gateway(
            "triage", record, str(auth_dir), f"sqlite+aiosqlite:///{folder / 'gateway.db'}"
        )
        for service in (record, triage, gateway):
            service.env.update(receiver.environment())
        started: list[RunningService] = []
        try:
            _migrate(url)
            for service in (record, triage, gateway):
                started.append(service.start())
            wait_until_subscribed(triage)
            yield receiver, gateway
        finally:
            for service in reversed(started):
                service.stop()


def _migrate(url: str) -> None:
    async def migrate() -> None:
        database = Database(url)
        await database.migrate()
        await database.dispose()

    asyncio.run(migrate())


def _arrived(receiver: OtlpReceiver, trace_id: str) -> list[ReceivedSpan]:
    return [s for s in receiver.spans() if s.trace_id == trace_id]


def test_given_the_triage_queue_read_through_the_gateway_then_one_trace_crosses_all_three(
    traced_triage: tuple[OtlpReceiver, RunningService], system_token: str
) -> None:
    receiver, gateway = traced_triage
    trace_id = secrets.token_hex(16)
    answer = httpx.get(
        f"http://127.0.0.1:{gateway.port}/triage/queue",
        headers={
            "Authorization": f"Bearer {system_token}",
            "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
        },
        timeout=30,
    )
    assert answer.status_code == 200, answer.text

    def whole(r: OtlpReceiver) -> bool:
        kinds = {(s.service, s.kind) for s in _arrived(r, trace_id)}
        return {
            ("onestory-gateway", "SERVER"),
            ("onestory-triage", "SERVER"),
            ("onestory-triage", "CLIENT"),
            ("onestory-record", "SERVER"),
            ("onestory-record", "CLIENT"),
        } <= kinds

    receiver.wait_for(whole, "the spans of gateway, triage and record in one trace")
    spans = _arrived(receiver, trace_id)
    by_id = {s.span_id: s for s in spans}
    triage_server = next(s for s in spans if s.service == "onestory-triage" and s.kind == "SERVER")
    assert triage_server.name == "GET /triage/queue"
    assert by_id[triage_server.parent_span_id].service == "onestory-gateway"
    # triage's own call to the gateway continues the same trace
    record_server = next(s for s in spans if s.service == "onestory-record" and s.kind == "SERVER")
    chain = []
    span = record_server
    while span.parent_span_id in by_id:
        span = by_id[span.parent_span_id]
        chain.append(span.service)
    assert "onestory-triage" in chain and chain[-1] == "onestory-gateway"
