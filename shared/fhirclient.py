"""How a domain service calls the gateway: FHIR over HTTP with the service's own credentials,
so that every read is audited and every write authorised and given Provenance.

One client per service process. An answer of 4xx or 5xx raises ``FhirError`` with the
gateway's status and diagnostics, so a service passes a refusal on as it came.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from shared.auth.credentials import ServiceCredentials
from shared.errors import FhirError
from shared.http import correlation as correlation_id
from shared.telemetry.client import traced_client

FHIR_JSON = "application/fhir+json"


class FhirClient:
    def __init__(
        self,
        base_url: str,
        credentials: ServiceCredentials,
        *,
        timeout_seconds: float = 30.0,
        correlation_id: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.http = traced_client(timeout=timeout_seconds)
        self.correlation_id = correlation_id

    async def close(self) -> None:
        await self.http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The gateway's answer to ``method path``; FhirError for a 4xx or 5xx."""
        sent = {
            "Authorization": f"Bearer {await self.credentials.token()}",
            "Accept": FHIR_JSON,
            **(headers or {}),
        }
        correlation = correlation_id.current.get() or self.correlation_id
        if correlation:
            sent.setdefault(correlation_id.HEADER, correlation)
        content = None
        if body is not None:
            sent["Content-Type"] = FHIR_JSON
            content = orjson.dumps(body)
        answer = await self.http.request(
            method,
            f"{self.base_url}/{path.lstrip('/')}",
            params=params,
            content=content,
            headers=sent,
        )
        if answer.status_code >= 400:
            raise _refusal(method, path, answer)
        return answer

    async def read(self, reference: str) -> dict[str, Any]:
        return _json(await self.request("GET", reference))

    async def read_named(self, reference: str, what: str) -> dict[str, Any]:
        """What an operation's input names: 422 (not 404: the operation exists, its input is
        wrong) when the record does not have it."""
        try:
            return await self.read(reference)
        except FhirError as error:
            if error.status in (404, 410):
                raise FhirError(
                    422, f"{reference} is not {what} the record knows", code="processing"
                ) from error
            raise

    async def search(self, resource_type: str, params: Any) -> list[dict[str, Any]]:
        """The matches of one search (its first page: ask with _count for more)."""
        bundle = _json(await self.request("GET", resource_type, params=params))
        return [
            e["resource"]
            for e in bundle.get("entry", [])
            if e.get("search", {}).get("mode", "match") == "match"
        ]

    async def search_all(self, resource_type: str, params: Any) -> list[dict[str, Any]]:
        """Every resource of a search, following its next links: the matches and whatever
        ``_include`` brought, in the order the pages gave them."""
        found: list[dict[str, Any]] = []
        bundle = _json(await self.request("GET", resource_type, params=params))
        while True:
            found += [e["resource"] for e in bundle.get("entry", [])]
            following = next(
                (link["url"] for link in bundle.get("link", []) if link.get("relation") == "next"),
                None,
            )
            if following is None:
                return found
            bundle = _json(await self.request("GET", self._relative(str(following))))

    def _relative(self, url: str) -> str:
        """A link the gateway gave, as a path under this client's base (its host may be the
        gateway's public name rather than the one this service calls it by)."""
        link, base = urlsplit(url), urlsplit(self.base_url)
        path = link.path.removeprefix(base.path).lstrip("/")
        return f"{path}?{link.query}" if link.query else path

    async def searches(self, queries: list[str]) -> list[list[dict[str, Any]]]:
        """Several searches in one round trip (a batch Bundle): the matches of each, in order.
        A search the record refuses gives an empty list."""
        entries = [{"request": {"method": "GET", "url": query}} for query in queries]
        bundle = {"resourceType": "Bundle", "type": "batch", "entry": entries}
        answer = _json(await self.request("POST", "", body=bundle))
        return [
            [
                e["resource"]
                for e in (entry.get("resource") or {}).get("entry", [])
                if e.get("search", {}).get("mode", "match") == "match"
            ]
            for entry in answer.get("entry", [])
        ]

    async def create(
        self, resource: dict[str, Any], *, if_none_exist: str | None = None
    ) -> dict[str, Any]:
        headers = {"If-None-Exist": if_none_exist} if if_none_exist else None
        answer = await self.request(
            "POST", resource["resourceType"], body=resource, headers=headers
        )
        return _json(answer)

    async def update(
        self, resource: dict[str, Any], *, if_match: str | None = None
    ) -> dict[str, Any]:
        headers = {"If-Match": if_match} if if_match else None
        path = f"{resource['resourceType']}/{resource['id']}"
        return _json(await self.request("PUT", path, body=resource, headers=headers))

    async def transaction(
        self, entries: list[dict[str, Any]], *, provenance: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One transaction; ``provenance`` (a Provenance without targets) says who decided
        what and why, and is stored with the writes."""
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        headers = {"X-Provenance": orjson.dumps(provenance).decode()} if provenance else None
        return _json(await self.request("POST", "", body=bundle, headers=headers))


def _json(answer: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(answer.content) if answer.content else {}
    return body


def _refusal(method: str, path: str, answer: httpx.Response) -> FhirError:
    diagnostics = f"The gateway answered {method} {path} with {answer.status_code}"
    try:
        issue = orjson.loads(answer.content)["issue"][0]
        diagnostics += f": {issue.get('diagnostics') or issue.get('code')}"
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        pass
    return FhirError(answer.status_code, diagnostics, code="exception")
