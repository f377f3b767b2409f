"""Writing resources: a new version row, the current row, and the index rows, together.

Callers hold the transaction; these functions only issue statements inside it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.fhir.indexvalues import IndexValues
from shared.storage.rows import StoredResource
from shared.storage.schema import (
    INDEX_TABLES,
    idx_date,
    idx_number,
    idx_quantity,
    idx_reference,
    idx_string,
    idx_token,
    idx_uri,
    resource,
    resource_version,
)

_TABLE_OF_KIND = {
    "strings": idx_string,
    "tokens": idx_token,
    "references": idx_reference,
    "dates": idx_date,
    "numbers": idx_number,
    "quantities": idx_quantity,
    "uris": idx_uri,
}


# Built once: building a statement costs more than running it.
_INSERT_RESOURCE = insert(resource).returning(resource.c.pk)
_INSERTS = {table.name: insert(table) for table in (resource_version, *_TABLE_OF_KIND.values())}


def _encode(body: dict[str, Any]) -> str:
    return orjson.dumps(body).decode()


class RowBatch:
    """Version and index rows held back to be written together, one statement a table, so a
    transaction Bundle of hundreds of resources costs a handful of statements rather than
    thousands. Whoever holds one flushes it before reading the index and before committing."""

    def __init__(self) -> None:
        self.rows: dict[Table, list[dict[str, Any]]] = {}

    def add(self, table: Table, rows: list[dict[str, Any]]) -> None:
        self.rows.setdefault(table, []).extend(rows)

    async def flush(self, connection: AsyncConnection) -> None:
        held, self.rows = self.rows, {}
        for table, rows in held.items():
            await connection.execute(_INSERTS[table.name], rows)


async def insert_new(
    connection: AsyncConnection,
    body: dict[str, Any],
    *,
    last_updated: int,
    index: IndexValues,
    batch: RowBatch | None = None,
) -> StoredResource:
    """Store version 1 of a resource whose ``id`` and ``meta`` are already set; its version
    and index rows go into ``batch`` when given, else are written now."""
    content = _encode(body)
    result = await connection.execute(
        _INSERT_RESOURCE,
        {
            "resource_type": body["resourceType"],
            "id": body["id"],
            "version": 1,
            "last_updated": last_updated,
            "deleted": False,
            "content": content,
        },
    )
    stored = StoredResource(
        result.scalar_one(), body["resourceType"], body["id"], 1, last_updated, False, content
    )
    await _held(connection, batch, stored, "create", index)
    return stored


async def replace(
    connection: AsyncConnection,
    current: StoredResource,
    body: dict[str, Any],
    *,
    last_updated: int,
    index: IndexValues,
    batch: RowBatch | None = None,
) -> StoredResource:
    """Store the next version of an existing (or deleted) resource."""
    content = _encode(body)
    stored = StoredResource(
        current.pk,
        current.resource_type,
        current.id,
        current.version + 1,
        last_updated,
        False,
        content,
    )
    await _set_current(connection, stored)
    await _clear_index(connection, batch, current.pk)
    await _held(connection, batch, stored, "update", index)
    return stored


async def mark_deleted(
    connection: AsyncConnection,
    current: StoredResource,
    *,
    last_updated: int,
    batch: RowBatch | None = None,
) -> StoredResource:
    """A new version that says the resource is gone; its index rows go with it."""
    stored = StoredResource(
        current.pk,
        current.resource_type,
        current.id,
        current.version + 1,
        last_updated,
        True,
        current.content,
    )
    await _set_current(connection, stored)
    await _clear_index(connection, batch, current.pk)
    await _held(connection, batch, stored, "delete", IndexValues())
    return stored


async def current_for_update(
    connection: AsyncConnection, resource_type: str, resource_id: str, *, lock: bool
) -> StoredResource | None:
    """The current row, locked against concurrent writers when ``lock`` (PostgreSQL)."""
    query = select(resource).where(
        resource.c.resource_type == resource_type, resource.c.id == resource_id
    )
    if lock and connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await connection.execute(query)).first()
    return StoredResource.from_row(row) if row else None


async def _set_current(connection: AsyncConnection, stored: StoredResource) -> None:
    await connection.execute(
        update(resource)
        .where(resource.c.pk == stored.pk)
        .values(
            version=stored.version,
            last_updated=stored.last_updated,
            deleted=stored.deleted,
            content=stored.content,
        )
    )


async def _held(
    connection: AsyncConnection,
    batch: RowBatch | None,
    stored: StoredResource,
    method: str,
    index: IndexValues,
) -> None:
    """The version row and index rows of ``stored``, into ``batch`` or written now."""
    rows = batch or RowBatch()
    rows.add(resource_version, [_version_row(stored, method)])
    for kind, table in _TABLE_OF_KIND.items():
        values = getattr(index, kind)
        if values:
            limits = _LIMITS[kind]
            rows.add(table, [_index_row(stored, value, limits) for value in values])
    if batch is None:
        await rows.flush(connection)


def _version_row(stored: StoredResource, method: str) -> dict[str, Any]:
    return {
        "resource_pk": stored.pk,
        "resource_type": stored.resource_type,
        "id": stored.id,
        "version": stored.version,
        "last_updated": stored.last_updated,
        "method": method,
        "content": stored.content,
    }


async def _clear_index(connection: AsyncConnection, batch: RowBatch | None, pk: int) -> None:
    if batch is not None:
        await batch.flush(connection)  # rows held for this resource must go before they are
    for table in INDEX_TABLES:
        await connection.execute(delete(table).where(table.c.res_pk == pk))


def _index_row(stored: StoredResource, value: Any, limits: dict[str, int]) -> dict[str, Any]:
    """One index row: decimals as floats, text cut to its column (a longer value still
    matches every search that its first characters match)."""
    row: dict[str, Any] = {"res_pk": stored.pk, "resource_type": stored.resource_type}
    for name in value.__slots__:
        item = getattr(value, name)
        if isinstance(item, Decimal):
            item = float(item)
        elif isinstance(item, str) and name in limits:
            item = item[: limits[name]]
        row[name] = item
    return row


_LIMITS = {
    kind: {
        column.name: getattr(column.type, "length", 0)
        for column in table.columns
        if isinstance(getattr(column.type, "length", None), int)
    }
    for kind, table in _TABLE_OF_KIND.items()
}
