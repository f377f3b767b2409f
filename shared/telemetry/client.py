"""The client side of a call to another process: a span per outbound HTTP request, whose W3C
``traceparent`` goes with the request, so the callee's spans join the caller's trace.

Every HTTP client a OneStory process makes comes from ``traced_client``. A caller that knows
the route template of what it calls names it in the request's extensions
(``{ROUTE_EXTENSION: "/fhir/{rest:path}"}``); the URL itself is never recorded.
"""

from __future__ import annotations

from typing import Any

import httpx
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

ROUTE_EXTENSION = "onestory.route"


class TracedTransport(httpx.AsyncBaseTransport):
    """Wraps a transport: each request is a client span, its context sent as traceparent."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        tracer_provider: trace.TracerProvider | None = None,
    ) -> None:
        self.transport = transport
        self.tracer = trace.get_tracer("onestory.http.client", tracer_provider=tracer_provider)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        route = request.extensions.get(ROUTE_EXTENSION)
        attributes: dict[str, Any] = {
            "http.request.method": request.method,
            "server.address": request.url.host,
            "server.port": request.url.port or (443 if request.url.scheme == "https" else 80),
        }
        if isinstance(route, str):
            attributes["url.template"] = route
        name = f"{request.method} {route}" if isinstance(route, str) else request.method
        with self.tracer.start_as_current_span(
            name, kind=SpanKind.CLIENT, attributes=attributes, record_exception=False
        ) as span:
            # Replaces any traceparent the request carried (a forwarded caller's): the callee's
            # parent is this span.
            propagate.inject(request.headers)
            try:
                response = await self.transport.handle_async_request(request)
            except httpx.HTTPError as error:
                span.set_attribute("error.type", type(error).__name__)
                span.set_status(Status(StatusCode.ERROR))
                raise
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(Status(StatusCode.ERROR))
            return response

    async def aclose(self) -> None:
        await self.transport.aclose()


def traced_client(*, limits: httpx.Limits | None = None, **options: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose every request is traced (``options`` as httpx takes)."""
    transport = httpx.AsyncHTTPTransport(limits=limits or httpx.Limits())
    return httpx.AsyncClient(transport=TracedTransport(transport), **options)
