"""Calling the services: pooled connections, per-route time-outs, one retry for idempotent
reads whose connection failed, and 503/504 OperationOutcomes instead of hangs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import httpx

from gateway.routing import Route
from shared.errors import FhirError
from shared.telemetry import traced_client
from shared.telemetry.client import ROUTE_EXTENSION

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})


def forwardable(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}


class Upstream:
    """One connection pool to every service."""

    def __init__(self, *, connect_timeout: float) -> None:
        self.connect_timeout = connect_timeout
        self.client = traced_client(
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
            follow_redirects=False,
        )

    async def send(
        self,
        route: Route,
        method: str,
        path: str,
        headers: dict[str, str],
        content: bytes | AsyncIterator[bytes] | None = None,
        *,
        stream: bool = False,
    ) -> httpx.Response:
        """The service's response; 503 when it cannot be reached, 504 when it is too slow."""
        # The client span sends the W3C traceparent (replacing the caller's, which the
        # gateway's own span continues).
        timeout = httpx.Timeout(route.timeout_seconds, connect=self.connect_timeout)
        request = self.client.build_request(
            method,
            route.base_url + path,
            headers=headers,
            content=content,
            timeout=timeout,
            extensions={ROUTE_EXTENSION: route.template},
        )
        retries = 1 if method in _IDEMPOTENT else 0
        while True:
            try:
                return await self.client.send(request, stream=stream)
            except (httpx.ConnectError, httpx.RemoteProtocolError) as error:
                if retries:
                    retries -= 1
                    continue
                raise FhirError(
                    503,
                    f"The {route.service} service is unavailable; try again shortly",
                    code="transient",
                ) from error
            except httpx.TimeoutException as error:
                raise FhirError(
                    504,
                    f"The {route.service} service did not answer within "
                    f"{route.timeout_seconds:g} s",
                    code="timeout",
                ) from error

    async def close(self) -> None:
        await self.client.aclose()
