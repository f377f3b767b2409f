"""One entry of a transaction or batch Bundle: what it asks, and its answer."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from services.record import reading, responses
from services.record.context import resource_id_of
from services.record.writes import RecordWriter, WriteResult
from shared.errors import FhirError, bad_request
from shared.fhir.dates import micros_to_instant
from shared.fhir.validation import is_resource_type
from shared.settings import RecordSettings
from shared.storage.rows import StoredResource

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
_STATUS_TEXT = {200: "200 OK", 201: "201 Created", 204: "204 No Content"}


@dataclass
class BundleEntry:
    position: int
    method: str
    url: str
    resource_type: str
    resource_id: str | None
    condition: str | None  # the query of "Type?query"
    full_url: str | None
    resource: dict[str, Any] | None
    if_none_exist: str | None
    if_match: str | None


def parse_entries(bundle: dict[str, Any]) -> list[BundleEntry]:
    raw_entries = bundle.get("entry", [])
    if not isinstance(raw_entries, list):
        raise bad_request("Bundle.entry must be an array")
    return [_parse_entry(position, raw) for position, raw in enumerate(raw_entries)]


def _parse_entry(position: int, raw: Any) -> BundleEntry:
    where = f"Bundle.entry[{position}]"
    request = raw.get("request") if isinstance(raw, dict) else None
    if not isinstance(request, dict):
        raise bad_request(f"{where} has no request (method and url)", expression=[where])
    method, url = request.get("method"), request.get("url")
    if method not in _METHODS or not isinstance(url, str) or not url:
        raise bad_request(
            f"{where}.request needs a method ({', '.join(sorted(_METHODS))}) and a url",
            expression=[f"{where}.request"],
        )
    path, _, query = url.lstrip("/").partition("?")
    segments = path.split("/")
    resource_type = segments[0]
    if not is_resource_type(resource_type) and method != "GET":
        raise bad_request(f"{where}.request.url {url!r} does not start with a resource type")
    resource = raw.get("resource")
    if method in ("POST", "PUT") and not _is_resource_of(resource, resource_type):
        raise bad_request(
            f"{where} needs a {resource_type} resource to {method}",
            expression=[f"{where}.resource"],
        )
    return BundleEntry(
        position=position,
        method=method,
        url=url,
        resource_type=resource_type,
        resource_id=resource_id_of(segments[1]) if len(segments) > 1 and method != "GET" else None,
        condition=query or None,
        full_url=raw.get("fullUrl"),
        resource=resource if isinstance(resource, dict) else None,
        if_none_exist=request.get("ifNoneExist"),
        if_match=request.get("ifMatch"),
    )


def _is_resource_of(resource: Any, resource_type: str) -> bool:
    return isinstance(resource, dict) and resource.get("resourceType") == resource_type


async def run(
    writer: RecordWriter,
    item: BundleEntry,
    *,
    target_id: str | None,
    matched: bool,
    settings: RecordSettings,
) -> dict[str, Any]:
    """Carry out one entry inside the writer's transaction; its response entry."""
    if item.method in ("GET", "HEAD"):
        return await _read(writer, item, settings)
    if item.method == "DELETE":
        await _delete(writer, item)
        return {"response": {"status": _STATUS_TEXT[204]}}
    return _written(
        await _write(writer, item, target_id=target_id, matched=matched), writer.base_url
    )


async def _write(
    writer: RecordWriter, item: BundleEntry, *, target_id: str | None, matched: bool
) -> WriteResult:
    """``target_id``: the id a transaction planned for a create; ``matched``: the create's
    condition found that resource, so nothing is written."""
    resource = item.resource or {}
    if item.method == "POST":
        if matched and target_id:
            return WriteResult(await writer.existing(item.resource_type, target_id), 200)
        if target_id is None:
            return await writer.create(resource, if_none_exist=item.if_none_exist)
        return await writer.create(resource, new_id=target_id)
    if item.resource_id is None:
        if item.condition is None:
            raise bad_request(
                f"Bundle.entry[{item.position}] {item.method} needs Type/id or Type?query"
            )
        return await writer.conditional_update(
            item.resource_type, item.condition, resource, if_match=item.if_match
        )
    if item.method == "PATCH":
        return await writer.patch(
            item.resource_type, item.resource_id, _patch_document(item), if_match=item.if_match
        )
    return await writer.update(
        item.resource_type, item.resource_id, resource, if_match=item.if_match
    )


async def _delete(writer: RecordWriter, item: BundleEntry) -> None:
    if item.resource_id is not None:
        await writer.delete(item.resource_type, item.resource_id)
    elif item.condition is not None:
        await writer.conditional_delete(item.resource_type, item.condition)
    else:
        raise bad_request(f"Bundle.entry[{item.position}] DELETE needs Type/id or Type?query")


def _patch_document(item: BundleEntry) -> Any:
    """A JSON Patch travels in a Bundle as a Binary holding the patch document."""
    resource = item.resource or {}
    if resource.get("resourceType") != "Binary" or not isinstance(resource.get("data"), str):
        raise bad_request(
            f"Bundle.entry[{item.position}] PATCH needs a Binary holding a JSON Patch"
        )
    try:
        return orjson.loads(base64.b64decode(resource["data"]))
    except (binascii.Error, orjson.JSONDecodeError) as error:
        raise bad_request(f"Bundle.entry[{item.position}] holds no readable JSON Patch") from error


def _written(result: WriteResult, base_url: str) -> dict[str, Any]:
    stored = result.stored
    return {
        "fullUrl": f"{base_url}/{stored.resource_type}/{stored.id}",
        "resource": orjson.Fragment(stored.content),
        "response": {
            "status": _STATUS_TEXT[result.status],
            "location": f"{stored.resource_type}/{stored.id}/_history/{stored.version}",
            "etag": responses.etag(stored),
            "lastModified": micros_to_instant(stored.last_updated),
        },
    }


async def _read(
    writer: RecordWriter, item: BundleEntry, settings: RecordSettings
) -> dict[str, Any]:
    split = urlsplit(item.url)
    segments = split.path.strip("/").split("/")
    await writer.settle()  # a transaction's reads see its writes
    connection = writer.connection
    if len(segments) == 1 or segments[1] == "_search":
        params = parse_qsl(split.query, keep_blank_values=True)
        answer = await reading.run_search(
            connection,
            segments[0] or None,
            params,
            strict=False,
            default_count=settings.default_page_size,
            max_count=settings.max_page_size,
            base_url=writer.base_url,
        )
        bundle = responses.searchset(
            answer.page,
            base_url=writer.base_url,
            path=segments[0],
            params=answer.used_params,
            summary=answer.query.summary,
            elements=answer.query.elements,
            warnings=answer.warnings,
        )
        return {"resource": bundle, "response": {"status": _STATUS_TEXT[200]}}
    stored: StoredResource
    if len(segments) == 4 and segments[2] == "_history":
        stored = await reading.vread(connection, segments[0], segments[1], segments[3])
    else:
        stored = await reading.read(connection, segments[0], resource_id_of(segments[1]))
    return {
        "resource": orjson.Fragment(stored.content),
        "response": {"status": _STATUS_TEXT[200], "etag": responses.etag(stored)},
    }


def failure(error: FhirError) -> dict[str, Any]:
    """A batch entry that failed: its status and why."""
    return {"response": {"status": str(error.status), "outcome": error.outcome()}}
