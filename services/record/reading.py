"""The record's read rules: read, vread, search and history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.errors import FhirError, bad_request, not_found
from shared.fhir.dates import date_range
from shared.fhir.queryparser import parse_search
from shared.fhir.searchquery import SearchQuery
from shared.storage import reads
from shared.storage.reads import HistoryPage
from shared.storage.rows import StoredResource
from shared.storage.search import SearchPage, search


async def read(connection: AsyncConnection, resource_type: str, resource_id: str) -> StoredResource:
    """The current version; 404 if it never existed, 410 if it was deleted."""
    stored = await reads.current(connection, resource_type, resource_id)
    if stored is None:
        raise not_found(f"{resource_type}/{resource_id} is not in the record")
    if stored.deleted:
        raise FhirError(
            410,
            f"{resource_type}/{resource_id} was deleted; its history is still available",
            code="deleted",
            headers={"ETag": f'W/"{stored.version}"'},
        )
    return stored


async def vread(
    connection: AsyncConnection, resource_type: str, resource_id: str, version_id: str
) -> StoredResource:
    if not version_id.isdigit():
        raise bad_request(f"'{version_id}' is not a version id; versions are whole numbers")
    stored = await reads.version(connection, resource_type, resource_id, int(version_id))
    if stored is None:
        raise not_found(f"{resource_type}/{resource_id} has no version {version_id}")
    if stored.deleted:
        raise FhirError(
            410,
            f"Version {version_id} of {resource_type}/{resource_id} is its deletion",
            code="deleted",
        )
    return stored


@dataclass(frozen=True, slots=True)
class SearchAnswer:
    query: SearchQuery
    page: SearchPage
    used_params: list[tuple[str, str]]  # for the self and paging links
    warnings: list[dict[str, Any]]


async def run_search(
    connection: AsyncConnection,
    resource_type: str | None,
    params: list[tuple[str, str]],
    *,
    strict: bool,
    default_count: int,
    max_count: int,
    base_url: str,
) -> SearchAnswer:
    query = parse_search(resource_type, params, strict=strict)
    count = min(query.count if query.count is not None else default_count, max_count)
    page = await search(connection, query, page_size=count, base_url=base_url)
    used = [(k, v) for k, v in params if k.split(":")[0] not in query.ignored]
    warnings = [
        {
            "severity": "warning",
            "code": "not-supported",
            "diagnostics": f"The search parameter '{name}' is not known here and was ignored",
        }
        for name in query.ignored
    ]
    return SearchAnswer(query, page, used, warnings)


_HISTORY_PARAMS = {"_since", "_count", "_cursor", "_format", "_pretty", "_at", "_list", "_sort"}


async def history(
    connection: AsyncConnection,
    params: list[tuple[str, str]],
    *,
    resource_type: str | None = None,
    resource_id: str | None = None,
    default_count: int,
    max_count: int,
) -> HistoryPage:
    values = dict(params)
    unknown = sorted({k for k, _ in params} - _HISTORY_PARAMS)
    if unknown or "_at" in values or "_list" in values:
        raise bad_request(
            f"History does not support the parameter(s): {', '.join(unknown or ['_at/_list'])}"
        )
    if resource_id is not None:
        await read_or_deleted(connection, resource_type or "", resource_id)
    since = None
    if "_since" in values:
        try:
            since = date_range(values["_since"])[0]
        except ValueError as error:
            raise bad_request(
                f"_since={values['_since']} is not a FHIR instant: {error}"
            ) from error
    count = _count(values.get("_count"), default_count, max_count)
    return await reads.history(
        connection,
        resource_type=resource_type,
        resource_id=resource_id,
        since=since,
        count=count,
        cursor=values.get("_cursor"),
    )


async def read_or_deleted(
    connection: AsyncConnection, resource_type: str, resource_id: str
) -> None:
    if await reads.current(connection, resource_type, resource_id) is None:
        raise not_found(f"{resource_type}/{resource_id} is not in the record")


def _count(text: str | None, default: int, maximum: int) -> int:
    if text is None:
        return default
    if not text.isdigit():
        raise bad_request(f"_count must be a whole number, not {text!r}")
    return max(1, min(int(text), maximum))
