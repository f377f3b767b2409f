"""Following a request across processes: X-Correlation-Id is echoed, and a W3C traceparent
sent to the gateway continues in the spans of the service behind it."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import gateway_client
from tests.support.fhir import patient, unique
from tests.support.gateway import create
from tests.support.services import RunningService, gateway_service, record_service


async def test_given_correlation_id_when_calling_then_echoed_on_answers_and_refusals(
    front_door: httpx.AsyncClient, gateway: RunningService
) -> None:
    person = await create(front_door, patient())
    correlation = unique("corr-")
    read = await front_door.get(
        f"Patient/{person['id']}", headers={"X-Correlation-Id": correlation}
    )
    assert read.status_code == 200
    assert read.headers["x-correlation-id"] == correlation
    created = await front_door.post(
        "Patient", json=patient(), headers={"X-Correlation-Id": correlation}
    )
    assert created.headers["x-correlation-id"] == correlation
    async with gateway_client(gateway, None, **{"X-Correlation-Id": correlation}) as stranger:
        refused = await stranger.get(f"Patient/{person['id']}")
    assert refused.status_code == 401
    assert refused.headers.get("x-correlation-id") == correlation
    made = await front_door.get(f"Patient/{person['id']}")  # none sent: one is made and given
    assert len(made.headers["x-correlation-id"]) >= 16


def _json_objects(text: str) -> Iterator[dict[str, Any]]:
    """The JSON objects in a process's output (the console exporter's spans among log lines)."""
    decoder = json.JSONDecoder()
    position = 0
    while (start := text.find("{", position)) != -1:
        try:
            found, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            position = start + 1
            continue
        if isinstance(found, dict):
            yield found
        position = end


def _spans(output: Path) -> list[dict[str, Any]]:
    text = output.read_text(errors="replace")
    return [o for o in _json_objects(text) if "trace_id" in o.get("context", {})]


@pytest.mark.slow
async def test_given_traceparent_when_calling_through_gateway_then_service_spans_share_trace(
    database_url: str,
    auth_dir: Path,
    spare_gateway_database: str,
    system_token: str,
    tmp_path: Path,
) -> None:
    console = {"telemetry_exporter": "console", "data_dir": str(auth_dir)}
    record = record_service(database_url, stdout=tmp_path / "record.out", **console).start()
    gateway = gateway_service(
        record,
        spare_gateway_database,
        str(auth_dir),
        stdout=tmp_path / "gateway.out",
        telemetry_exporter="console",
    )
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    try:
        gateway.start()
        async with gateway_client(
            gateway, system_token, traceparent=f"00-{trace_id}-{parent}-01"
        ) as client:
            answer = await client.get("Patient", params={"family": unique()})
        assert answer.status_code == 200, answer.text
    finally:
        gateway.stop()  # spans are batched: they are written as each process shuts down
        record.stop()
    gateway_spans = [s for s in _spans(tmp_path / "gateway.out") if _trace(s) == trace_id]
    record_spans = [s for s in _spans(tmp_path / "record.out") if _trace(s) == trace_id]
    assert gateway_spans, "the gateway did not continue the caller's trace"
    assert record_spans, "the record's span is not in the caller's trace"
    assert {s["resource"]["attributes"]["service.name"] for s in gateway_spans} == {
        "onestory-gateway"
    }
    assert {s["resource"]["attributes"]["service.name"] for s in record_spans} == {
        "onestory-record"
    }
    assert any(s["parent_id"] == f"0x{parent}" for s in gateway_spans)
    gateway_span_ids = {s["context"]["span_id"] for s in gateway_spans}
    assert any(s["parent_id"] in gateway_span_ids for s in record_spans)
    assert all(unique("") not in json.dumps(s) for s in record_spans)


def _trace(span: dict[str, Any]) -> str:
    return str(span["context"]["trace_id"]).removeprefix("0x")
