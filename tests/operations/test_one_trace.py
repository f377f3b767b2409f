"""One request through the gateway is one trace, and no patient data leaves in telemetry:
the gateway and the record run as real processes exporting OTLP to a receiver in the test,
and write JSON logs that name the trace."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import gateway_client
from tests.support.fhir import nhs_number, patient, unique
from tests.support.gateway import create
from tests.support.otlp import OtlpReceiver, ReceivedSpan, otlp_receiver
from tests.support.services import RunningService, gateway_service, record_service

pytestmark = pytest.mark.slow


@dataclass
class TracedSystem:
    receiver: OtlpReceiver
    record: RunningService
    gateway: RunningService
    logs: Path
    person: dict[str, Any]
    trace_id: str  # of the one read of the person, through the gateway


@pytest.fixture(scope="module")
async def traced(
    database_url: str, auth_dir: Path, system_token: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TracedSystem]:
    folder = tmp_path_factory.mktemp("traced")
    with otlp_receiver() as receiver:
        json_logs = {"data_dir": str(auth_dir), "log_format": "json"}
        record = record_service(database_url, stdout=folder / "record.log", **json_logs)
        gateway = gateway_service(
            record,
            f"sqlite+aiosqlite:///{folder / 'gateway.db'}",
            str(auth_dir),
            stdout=folder / "gateway.log",
            log_format="json",
        )
        for service in (record, gateway):
            service.env.update(receiver.environment())
        record.start()
        try:
            gateway.start()
            trace_id = secrets.token_hex(16)
            async with gateway_client(gateway, system_token) as client:
                person = await create(
                    client, patient(nhs=nhs_number(), family=unique("Family"), given="Evangeline")
                )
                nhs = person["identifier"][0]["value"]
                found = await client.get(
                    "Patient",
                    params={"identifier": f"https://fhir.nhs.uk/Id/nhs-number|{nhs}"},
                    headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"},
                )
            assert found.status_code == 200, found.text
            assert found.json()["entry"][0]["resource"]["id"] == person["id"]
            yield TracedSystem(receiver, record, gateway, folder, person, trace_id)
        finally:
            gateway.stop()
            record.stop()


def _in_trace(receiver: OtlpReceiver, trace_id: str) -> list[ReceivedSpan]:
    return [span for span in receiver.spans() if span.trace_id == trace_id]


def _whole_trace_arrived(receiver: OtlpReceiver, trace_id: str) -> bool:
    """Whether the trace's spans have all arrived (each process exports its spans in batches
    of its own, as they end, so they arrive in any order)."""
    spans = _in_trace(receiver, trace_id)
    arrived = {(s.service, s.kind, "db.system.name" in s.attributes) for s in spans}
    return {
        ("onestory-gateway", "SERVER", False),
        ("onestory-gateway", "CLIENT", False),
        ("onestory-record", "SERVER", False),
        ("onestory-record", "CLIENT", True),
    } <= arrived


def test_given_a_read_through_the_gateway_then_one_trace_spans_gateway_record_and_database(
    traced: TracedSystem,
) -> None:
    traced.receiver.wait_for(
        lambda r: _whole_trace_arrived(r, traced.trace_id), "the record's database spans"
    )
    spans = _in_trace(traced.receiver, traced.trace_id)
    by_id = {span.span_id: span for span in spans}

    gateway_server = [s for s in spans if s.service == "onestory-gateway" and s.kind == "SERVER"]
    record_server = [s for s in spans if s.service == "onestory-record" and s.kind == "SERVER"]
    assert [s.name for s in gateway_server] == ["GET /fhir/{path:path}"]
    assert [s.name for s in record_server] == ["GET /fhir/{type_name}"]
    # gateway server -> gateway client (traceparent sent) -> record server -> database
    call = by_id[record_server[0].parent_span_id]
    assert call.service == "onestory-gateway" and call.kind == "CLIENT"
    assert call.attributes["url.template"] == "/fhir/{rest:path}"
    assert call.attributes["http.response.status_code"] == 200
    assert by_id[call.parent_span_id] == gateway_server[0]
    database = [s for s in spans if s.service == "onestory-record" and s.kind == "CLIENT"]
    assert database, "the record's statements have no spans in the request's trace"
    assert all(_descends_from(s, record_server[0], by_id) for s in database)
    assert {s.attributes["db.operation.name"] for s in database} >= {"SELECT"}


def _descends_from(
    span: ReceivedSpan, ancestor: ReceivedSpan, by_id: dict[str, ReceivedSpan]
) -> bool:
    while span.parent_span_id in by_id:
        span = by_id[span.parent_span_id]
        if span == ancestor:
            return True
    return False


def test_given_a_patient_read_then_no_span_or_metric_names_the_patient(
    traced: TracedSystem,
) -> None:
    traced.receiver.wait_for(
        lambda r: _whole_trace_arrived(r, traced.trace_id), "the record's database spans"
    )
    traced.receiver.wait_for(
        lambda r: any(p.metric == "onestory.http.server.duration" for p in r.points()),
        "the request metrics",
    )
    person = traced.person
    secrets_of_the_person = {
        person["identifier"][0]["value"],
        person["name"][0]["family"],
        person["name"][0]["given"][0],
        person["id"],
    }
    spans = traced.receiver.spans()
    assert len(spans) > 10
    for span in spans:
        for text in span.texts():
            assert not any(secret in text for secret in secrets_of_the_person), (span, text)
            assert "?" not in text or "db." in text, f"a URL with a query in {span}"
    for point in traced.receiver.points():
        said = json.dumps(point.attributes)
        assert not any(secret in said for secret in secrets_of_the_person), point


def test_given_json_logs_then_each_line_is_an_object_naming_service_and_trace(
    traced: TracedSystem,
) -> None:
    for service in ("record", "gateway"):
        # A request is logged as it ends, a moment after its answer has left.
        deadline = time.monotonic() + 10
        while True:
            lines = (traced.logs / f"{service}.log").read_text().splitlines()
            entries = [json.loads(line) for line in lines if line.strip()]
            in_trace = [e for e in entries if e.get("trace_id") == traced.trace_id]
            if in_trace or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert in_trace, f"no {service} log line names the request's trace"
        for entry in entries:
            assert {"time", "level", "logger", "message", "service"} <= entry.keys(), entry
            assert entry["service"] == service
        assert all(len(e["span_id"]) == 16 for e in in_trace)
        everything = "\n".join(lines)
        assert traced.person["identifier"][0]["value"] not in everything
        assert traced.person["name"][0]["family"] not in everything


def test_given_running_services_then_queue_depths_are_exported_as_gauges(
    traced: TracedSystem,
) -> None:
    wanted = {
        ("onestory-record", "onestory.subscription.outbox_depth"),
        ("onestory-gateway", "onestory.audit.queue_size"),
        ("onestory-gateway", "onestory.http.server.requests"),
    }
    traced.receiver.wait_for(
        lambda r: wanted <= {(p.service, p.metric) for p in r.points()}, "the queue gauges"
    )
