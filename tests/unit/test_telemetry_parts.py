"""The parts of telemetry that decide what leaves a process: database span names, the client
span's traceparent, and JSON log lines."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.telemetry.client import ROUTE_EXTENSION, TracedTransport
from shared.telemetry.database import summary
from shared.telemetry.logs import JsonFormatter, TraceContext


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            "SELECT resource.pk, resource.content \nFROM resource WHERE x = $1",
            ("SELECT", "resource"),
        ),
        ('INSERT INTO "audit_outbox" (created_at) VALUES (?)', ("INSERT", "audit_outbox")),
        ("UPDATE subscription_state SET failures=? WHERE id = ?", ("UPDATE", "subscription_state")),
        ("DELETE FROM subscription_event WHERE seq IN (?)", ("DELETE", "subscription_event")),
        ("PRAGMA journal_mode=WAL", ("PRAGMA", None)),
        ("select pg_try_advisory_lock($1)", ("SELECT", None)),
    ],
)
def test_given_a_statement_then_span_names_only_operation_and_table(
    statement: str, expected: tuple[str, str | None]
) -> None:
    assert summary(statement) == expected


async def test_given_a_call_then_client_span_sends_its_own_traceparent_and_no_url() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    transport = TracedTransport(httpx.MockTransport(answer), tracer_provider=provider)
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with httpx.AsyncClient(transport=transport) as client:
        with provider.get_tracer("test").start_as_current_span("request"):
            await client.get(
                "http://record:8081/fhir/Patient?identifier=9434765919",
                headers={"traceparent": caller},
                extensions={ROUTE_EXTENSION: "/fhir/{rest:path}"},
            )
    [call, request] = exporter.get_finished_spans()
    assert call.name == "GET /fhir/{rest:path}"
    sent = seen[0].headers["traceparent"]
    assert sent != caller
    assert sent.split("-")[1:3] == [
        format(call.context.trace_id, "032x"),
        format(call.context.span_id, "016x"),
    ]
    assert call.parent is not None and call.parent.span_id == request.context.span_id
    assert "9434765919" not in str(dict(call.attributes or {}))


def test_given_a_log_in_a_span_then_json_line_names_service_trace_and_span() -> None:
    provider = TracerProvider()
    record = logging.LogRecord(
        "onestory.test", logging.INFO, __file__, 1, "read %s", ("Patient",), None
    )
    record.status = 200
    with provider.get_tracer("test").start_as_current_span("request") as span:
        TraceContext("record").filter(record)
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["message"] == "read Patient"
    assert entry["level"] == "INFO" and entry["logger"] == "onestory.test"
    assert entry["service"] == "record"
    assert entry["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert entry["span_id"] == format(span.get_span_context().span_id, "016x")
    assert entry["status"] == 200
    assert entry["time"].endswith("+00:00")
