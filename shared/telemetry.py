"""OpenTelemetry for every OneStory process: traces and metrics, to the console or OTLP.

Spans and metrics carry the route template (``/fhir/{type_name}/{resource_id}``), never the
URL itself: paths and query strings can hold NHS numbers and names, and no patient data may
leave in telemetry.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import metrics, propagate, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.settings import Settings

_configured = False


def setup_telemetry(service_name: str, settings: Settings) -> None:
    """Install the tracer and meter providers once per process, as configured."""
    global _configured
    if _configured or settings.telemetry_exporter == "none":
        return
    resource = Resource.create({"service.name": f"onestory-{service_name}"})
    span_exporter, metric_exporter = _exporters(settings.telemetry_exporter)
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(tracer_provider)
    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=30_000)
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
    _configured = True


def flush_telemetry() -> None:
    """Export the spans and metrics still batched in this process.

    Called as each app's lifespan ends: uvicorn ends a stopped server by re-raising the signal
    it caught, so no atexit handler (where the SDK would flush) ever runs.
    """
    tracer_provider = trace.get_tracer_provider()
    if isinstance(tracer_provider, TracerProvider):
        tracer_provider.force_flush()
    meter_provider = metrics.get_meter_provider()
    if isinstance(meter_provider, MeterProvider):
        meter_provider.force_flush()


def _exporters(kind: str) -> tuple[SpanExporter, MetricExporter]:
    if kind == "otlp":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(), OTLPMetricExporter()
    return ConsoleSpanExporter(), ConsoleMetricExporter()


class TelemetryMiddleware:
    """One server span per request, continuing the caller's W3C trace context, and the
    request count and duration as metrics (``onestory.http.server.*``)."""

    def __init__(self, app: ASGIApp, service_name: str) -> None:
        self.app = app
        self.tracer = trace.get_tracer(f"onestory.{service_name}")
        meter = metrics.get_meter(f"onestory.{service_name}")
        self.requests = meter.create_counter(
            "onestory.http.server.requests", description="Requests answered"
        )
        self.duration = meter.create_histogram(
            "onestory.http.server.duration", unit="ms", description="Time to answer a request"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        started = time.perf_counter()
        status = {"code": 500}

        async def send_with_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        with self.tracer.start_as_current_span(
            scope["method"], context=propagate.extract(carrier), kind=SpanKind.SERVER
        ) as span:
            try:
                await self.app(scope, receive, send_with_status)
            finally:
                self._record(span, scope, status["code"], started)

    def _record(self, span: Any, scope: Scope, status: int, started: float) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")
        attributes = {
            "http.request.method": scope["method"],
            "http.route": route,
            "http.response.status_code": status,
        }
        span.update_name(f"{scope['method']} {route}")
        span.set_attributes(attributes)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        self.requests.add(1, attributes)
        self.duration.record((time.perf_counter() - started) * 1000, attributes)
