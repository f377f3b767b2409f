"""Telemetry follows the caller's trace and keeps patient data out of spans."""

from __future__ import annotations

from pathlib import Path

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.record.app import create_app
from shared.auth.devissuer import DevIssuer
from shared.settings import RecordSettings

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_given_traceparent_when_searching_by_nhs_number_then_span_continues_trace_without_it(
    tmp_path: Path,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    settings = RecordSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}",
        data_dir=tmp_path,
        environment="test",
    )
    token = DevIssuer.from_settings(settings).issue(scope="system/*.rs")
    app = create_app(settings)
    await app.state.database.migrate()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://record") as client:
        response = await client.get(
            "/fhir/Patient",
            params={"identifier": "https://fhir.nhs.uk/Id/nhs-number|9434765919"},
            headers={
                "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01",
                "Authorization": f"Bearer {token}",
            },
        )
    assert response.status_code == 200
    spans = [s for s in exporter.get_finished_spans() if s.kind == trace.SpanKind.SERVER]
    assert spans, "no server span was recorded"
    span = spans[-1]
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.name == "GET /fhir/{type_name}"
    assert span.attributes is not None and span.attributes["http.response.status_code"] == 200
    assert "9434765919" not in str(dict(span.attributes)) + span.name
    await app.state.database.dispose()
