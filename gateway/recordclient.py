"""The gateway's own calls to the record (consent, relationships, audit delivery), made with
the gateway's service credentials rather than the caller's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import orjson

from gateway.routing import RouteTable
from gateway.upstream import Upstream
from shared.errors import FhirError

TokenSource = Callable[[], Awaitable[str]]


class RecordClient:
    def __init__(
        self, upstream: Upstream, routes: Callable[[], RouteTable], token: TokenSource
    ) -> None:
        self.upstream = upstream
        self.routes = routes
        self.token = token

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        route = self.routes().match(method, path)
        if route is None:
            raise FhirError(503, "No service answers the record's routes yet", code="transient")
        headers = {
            "Authorization": f"Bearer {await self.token()}",
            "Accept": "application/fhir+json",
            "Content-Type": "application/fhir+json",
        }
        content = orjson.dumps(body) if body is not None else None
        response = await self.upstream.send(route, method, path, headers, content)
        if response.status_code >= 400:
            raise FhirError(
                502,
                f"The record refused the gateway's {method} ({response.status_code})",
                code="exception",
            )
        return orjson.loads(response.content)

    async def search(
        self, resource_type: str, params: list[tuple[str, str]]
    ) -> list[dict[str, Any]]:
        bundle = await self._call("GET", f"/fhir/{resource_type}?{urlencode(params)}")
        return [
            e["resource"]
            for e in bundle.get("entry", [])
            if e.get("search", {}).get("mode") == "match"
        ]

    async def batch_search(self, searches: list[str]) -> list[list[dict[str, Any]]]:
        """Several searches in one round trip: each "Type?query" answers its matches."""
        bundle = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"request": {"method": "GET", "url": s}} for s in searches],
        }
        answer = await self._call("POST", "/fhir", bundle)
        results: list[list[dict[str, Any]]] = []
        for entry in answer.get("entry", []):
            searchset = entry.get("resource") or {}
            results.append(
                [
                    e["resource"]
                    for e in searchset.get("entry", [])
                    if e.get("search", {}).get("mode") == "match"
                ]
            )
        return results

    async def write_batch(self, resources: list[dict[str, Any]]) -> None:
        """Create ``resources`` in the record all together or not at all (a transaction: a
        batch retried after a partial failure would write its successes twice)."""
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
                for r in resources
            ],
        }
        answer = await self._call("POST", "/fhir", bundle)
        if answer.get("type") != "transaction-response":
            raise FhirError(
                502,
                f"The record did not take the {len(resources)} writes as a transaction",
                code="exception",
            )
