"""An OTLP/HTTP receiver for tests: what a collector would receive from our processes.

It decodes the protobuf ``ExportTraceServiceRequest`` and ``ExportMetricsServiceRequest`` that
the OTLP exporters POST to ``/v1/traces`` and ``/v1/metrics``, and keeps every span and every
metric data point, flattened, so a test can look for a trace or for patient data anywhere.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    kind: str  # SERVER, CLIENT, INTERNAL ...
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]

    def texts(self) -> list[str]:
        """Everything this span says, as text: its name and every attribute value."""
        return [self.name, *(str(value) for value in self.attributes.values())]


@dataclass(frozen=True)
class ReceivedPoint:
    service: str
    metric: str
    attributes: dict[str, Any]


@dataclass
class Received:
    spans: list[ReceivedSpan] = field(default_factory=list)
    points: list[ReceivedPoint] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind) if kind else None


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs if isinstance(pair, KeyValue)}


def _spans(request: ExportTraceServiceRequest, into: Received) -> None:
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        service = str(resource.get("service.name", ""))
        with into.lock:
            into.resources.append(resource)
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    into.spans.append(
                        ReceivedSpan(
                            service=service,
                            name=span.name,
                            kind=Span.SpanKind.Name(span.kind).removeprefix("SPAN_KIND_"),
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            attributes={
                                **_attributes(span.attributes),
                                **{
                                    f"event.{e.name}.{k}": v
                                    for e in span.events
                                    for k, v in _attributes(e.attributes).items()
                                },
                            },
                        )
                    )


def _points(request: ExportMetricsServiceRequest, into: Received) -> None:
    for resource_metrics in request.resource_metrics:
        resource = _attributes(resource_metrics.resource.attributes)
        service = str(resource.get("service.name", ""))
        with into.lock:
            for scope in resource_metrics.scope_metrics:
                for metric in scope.metrics:
                    data = getattr(metric, metric.WhichOneof("data") or "gauge")
                    for point in data.data_points:
                        into.points.append(
                            ReceivedPoint(service, metric.name, _attributes(point.attributes))
                        )


def _handler(received: Received) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path == "/v1/traces":
                _spans(ExportTraceServiceRequest.FromString(body), received)
                answer = ExportTraceServiceResponse().SerializeToString()
            elif self.path == "/v1/metrics":
                _points(ExportMetricsServiceRequest.FromString(body), received)
                answer = ExportMetricsServiceResponse().SerializeToString()
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler


class OtlpReceiver:
    def __init__(self, server: ThreadingHTTPServer, received: Received) -> None:
        self.server = server
        self.received = received

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def environment(self) -> dict[str, str]:
        """What a process needs to export to this receiver, quickly."""
        return {
            "ONESTORY_TELEMETRY_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_METRIC_EXPORT_INTERVAL": "500",
        }

    def spans(self) -> list[ReceivedSpan]:
        with self.received.lock:
            return list(self.received.spans)

    def points(self) -> list[ReceivedPoint]:
        with self.received.lock:
            return list(self.received.points)

    def wait_for(
        self, found: Callable[[OtlpReceiver], bool], what: str, timeout: float = 20.0
    ) -> None:
        deadline = time.monotonic() + timeout
        while not found(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"the receiver never got {what} within {timeout:g} s")
            time.sleep(0.05)


@contextmanager
def otlp_receiver() -> Iterator[OtlpReceiver]:
    received = Received()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(received))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield OtlpReceiver(server, received)
    finally:
        server.shutdown()
        server.server_close()
