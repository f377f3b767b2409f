"""The server side of a request: one span per request, continuing the caller's W3C trace
context; the request count and duration as metrics; one access log line."""

from __future__ import annotations

import logging
import time
from typing import Any

from opentelemetry import metrics, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("onestory.http")
# Probes call these every few seconds: logging each would drown everything else.
_QUIET_ROUTES = frozenset({"/health", "/health/live", "/health/ready"})


class TelemetryMiddleware:
    """One server span per request and ``onestory.http.server.*`` metrics, by route template."""

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
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.requests.add(1, attributes)
        self.duration.record(elapsed_ms, attributes)
        if route not in _QUIET_ROUTES:
            access_log.info(
                "%s %s %d",
                scope["method"],
                route,
                status,
                extra={"http_route": route, "status": status, "duration_ms": round(elapsed_ms, 1)},
            )
