"""OpenTelemetry for every OneStory process: traces, metrics and logs, to the console or OTLP.

One trace per request, whatever it crosses: the server span of each process
(``server.TelemetryMiddleware``) continues the caller's W3C trace context, every outbound
HTTP call is a client span that sends it on (``client.traced_client``), and every SQL
statement is a database span (``database.trace_statements``). Log lines name the trace and
span they were written in (``logs``).

No patient data may leave in telemetry. Spans and metrics carry route templates
(``/fhir/{type_name}/{resource_id}``), never URLs, whose paths and query strings can hold NHS
numbers and names; database spans name the operation and table, never the statement's values
or parameters.
"""

from __future__ import annotations

from fastapi.telemetry import TelemetryConfig
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from shared.settings import Settings
from shared.telemetry.client import traced_client
from shared.telemetry.database import trace_statements
from shared.telemetry.logs import configure_logging
from shared.telemetry.server import TelemetryMiddleware

__all__ = [
    "FASTAPI_TELEMETRY_OFF",
    "TelemetryMiddleware",
    "configure_logging",
    "flush_telemetry",
    "setup_telemetry",
    "trace_statements",
    "traced_client",
]

_configured = False

# FastAPI's own OpenTelemetry (on by default since 0.16x) records each request's URL path and
# query string (NHS numbers, names) and exception messages: every app turns it off with this,
# and TelemetryMiddleware records the request by its route template instead.
FASTAPI_TELEMETRY_OFF: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}


def setup_telemetry(service_name: str, settings: Settings) -> None:
    """Install the tracer and meter providers once per process, as configured.

    Batching and export intervals follow the standard ``OTEL_BSP_*`` and
    ``OTEL_METRIC_EXPORT_*`` variables; the OTLP endpoint ``OTEL_EXPORTER_OTLP_*``.
    """
    global _configured
    if _configured or settings.telemetry_exporter == "none":
        return
    resource = Resource.create({"service.name": f"onestory-{service_name}"})
    span_exporter, metric_exporter = _exporters(settings.telemetry_exporter)
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(tracer_provider)
    reader = PeriodicExportingMetricReader(metric_exporter)
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
