"""HTTP answers of the record: a resource with its version headers, and the Bundles of search
and history. Stored JSON is passed through as it is, never parsed again, unless a client asked
for a subset.
"""

from __future__ import annotations

from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.responses import Response

from services.record.subsetting import subset
from services.record.writes import WriteResult
from shared.errors import outcome
from shared.fhir.dates import micros_to_instant
from shared.http.fhirjson import Format
from shared.storage.reads import HistoryPage
from shared.storage.rows import StoredResource
from shared.storage.search import SearchPage

_CREATED_METHOD = {"create": "POST", "update": "PUT", "delete": "DELETE"}


def last_modified(stored: StoredResource) -> str:
    return formatdate(stored.last_updated / 1_000_000, usegmt=True)


def etag(stored: StoredResource) -> str:
    return f'W/"{stored.version}"'


def version_url(stored: StoredResource, base_url: str) -> str:
    return f"{base_url}/{stored.resource_type}/{stored.id}/_history/{stored.version}"


def version_reference(stored: StoredResource) -> str:
    return f"{stored.resource_type}/{stored.id}/_history/{stored.version}"


def version_headers(stored: StoredResource) -> dict[str, str]:
    return {"ETag": etag(stored), "Last-Modified": last_modified(stored)}


def resource_body(
    stored: StoredResource, *, summary: str | None = None, elements: tuple[str, ...] = ()
) -> orjson.Fragment | dict[str, Any]:
    """The stored JSON as it is, or the subset the client asked for."""
    if summary in (None, "false") and not elements:
        return orjson.Fragment(stored.content)
    return subset(stored.resource(), summary=summary, elements=elements)


def read(
    stored: StoredResource,
    fmt: Format,
    *,
    summary: str | None = None,
    elements: tuple[str, ...] = (),
) -> Response:
    body = resource_body(stored, summary=summary, elements=elements)
    return fmt.response(body, 200, headers=version_headers(stored))


def written(
    result: WriteResult, fmt: Format, *, prefer_return: str | None, base_url: str
) -> Response:
    """The answer to a create or update, as the Prefer: return header asks."""
    stored = result.stored
    headers = version_headers(stored)
    if result.created or result.status in (200, 201):
        headers["Location"] = version_url(stored, base_url)
    if prefer_return == "minimal":
        return fmt.response(None, result.status, headers=headers)
    if prefer_return == "OperationOutcome":
        verb = "created" if result.created else "updated"
        return fmt.response(
            outcome("information", "informational", f"{stored.reference} {verb}"),
            result.status,
            headers=headers,
        )
    return fmt.response(orjson.Fragment(stored.content), result.status, headers=headers)


def entry(
    stored: StoredResource,
    base_url: str,
    mode: str,
    *,
    summary: str | None = None,
    elements: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "fullUrl": f"{base_url}/{stored.resource_type}/{stored.id}",
        "resource": resource_body(stored, summary=summary, elements=elements),
        "search": {"mode": mode},
    }


def page_link(base_url: str, path: str, params: list[tuple[str, str]], cursor: str | None) -> str:
    kept = [(k, v) for k, v in params if k != "_cursor"]
    if cursor:
        kept.append(("_cursor", cursor))
    query = urlencode(kept)
    return f"{base_url}/{path}" + (f"?{query}" if query else "")


def searchset(
    page: SearchPage,
    *,
    base_url: str,
    path: str,
    params: list[tuple[str, str]],
    summary: str | None,
    elements: tuple[str, ...],
    warnings: list[dict[str, Any]],
) -> dict[str, Any]:
    links = [{"relation": "self", "url": page_link(base_url, path, params, None)}]
    if page.next_cursor:
        links.append(
            {"relation": "next", "url": page_link(base_url, path, params, page.next_cursor)}
        )
    if page.previous_cursor:
        links.append(
            {"relation": "previous", "url": page_link(base_url, path, params, page.previous_cursor)}
        )
    entries = [
        entry(s, base_url, "match", summary=summary, elements=elements) for s in page.matches
    ]
    entries += [
        entry(s, base_url, "include", summary=summary, elements=elements) for s in page.included
    ]
    if warnings:
        entries.append(
            {
                "resource": {"resourceType": "OperationOutcome", "issue": warnings},
                "search": {"mode": "outcome"},
            }
        )
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if page.total is not None:
        bundle["total"] = page.total
    bundle["link"] = links
    if entries:
        bundle["entry"] = entries
    return bundle


def history(
    page: HistoryPage, *, base_url: str, path: str, params: list[tuple[str, str]]
) -> dict[str, Any]:
    links = [{"relation": "self", "url": page_link(base_url, path, params, None)}]
    if page.next_cursor:
        links.append(
            {"relation": "next", "url": page_link(base_url, path, params, page.next_cursor)}
        )
    entries = []
    for item in page.entries:
        stored = item.stored
        record: dict[str, Any] = {"fullUrl": f"{base_url}/{stored.resource_type}/{stored.id}"}
        if item.method != "delete":
            record["resource"] = orjson.Fragment(stored.content)
        method = _CREATED_METHOD[item.method]
        record["request"] = {
            "method": method,
            "url": f"{stored.resource_type}/{stored.id}"
            if method != "POST"
            else stored.resource_type,
        }
        record["response"] = {
            "status": {"create": "201 Created", "update": "200 OK", "delete": "204 No Content"}[
                item.method
            ],
            "etag": etag(stored),
            "lastModified": micros_to_instant(stored.last_updated),
        }
        entries.append(record)
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "history", "link": links}
    if entries:
        bundle["entry"] = entries
    return bundle
