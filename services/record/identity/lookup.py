"""Finding the records that may be a person: the candidate searches run through the search
engine, at most ``MAX_CANDIDATES`` of them, never a scan of the table. Records merged into
another (``link.type = replaced-by``) are left out: the survivor stands for them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.record.identity.candidates import candidate_searches
from services.record.identity.demographics import Demographics
from shared.fhir.queryparser import parse_search
from shared.storage.rows import StoredResource
from shared.storage.search import search

PER_SEARCH = 50
MAX_CANDIDATES = 200


async def find_candidates(
    connection: AsyncConnection, person: Demographics, base_url: str
) -> tuple[list[StoredResource], bool]:
    """The union of the candidate searches, in order, at most ``MAX_CANDIDATES``; and whether
    that limit cut the union short."""
    found: dict[str, StoredResource] = {}
    for params in candidate_searches(person):
        query = parse_search("Patient", params, strict=True)
        page = await search(connection, query, page_size=PER_SEARCH, base_url=base_url)
        for stored in page.matches:
            if len(found) >= MAX_CANDIDATES:
                return list(found.values()), True
            if stored.id not in found and not is_replaced(stored.resource()):
                found[stored.id] = stored
    return list(found.values()), False


def is_replaced(patient: dict[str, Any]) -> bool:
    """Has this record been merged into another?"""
    links = patient.get("link") or []
    return any(isinstance(link, dict) and link.get("type") == "replaced-by" for link in links)
