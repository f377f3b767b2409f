"""Reading resources: the current version, a past version, existence checks and history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.storage.paging import Cursor
from shared.storage.rows import StoredResource
from shared.storage.schema import idx_reference, resource, resource_version


async def current(
    connection: AsyncConnection, resource_type: str, resource_id: str
) -> StoredResource | None:
    """The newest version, deleted or not; None if the resource never existed."""
    statement = select(resource).where(
        resource.c.resource_type == resource_type, resource.c.id == resource_id
    )
    row = (await connection.execute(statement)).first()
    return StoredResource.from_row(row) if row else None


async def version(
    connection: AsyncConnection, resource_type: str, resource_id: str, version_id: int
) -> StoredResource | None:
    statement = select(
        resource_version.c.resource_pk.label("pk"),
        resource_version.c.resource_type,
        resource_version.c.id,
        resource_version.c.version,
        resource_version.c.last_updated,
        (resource_version.c.method == "delete").label("deleted"),
        resource_version.c.content,
    ).where(
        resource_version.c.resource_type == resource_type,
        resource_version.c.id == resource_id,
        resource_version.c.version == version_id,
    )
    row = (await connection.execute(statement)).first()
    return StoredResource.from_row(row) if row else None


async def existing(
    connection: AsyncConnection, references: Iterable[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of the (type, id) pairs name a resource that exists and is not deleted."""
    pairs = list(set(references))
    if not pairs:
        return set()
    statement = select(resource.c.resource_type, resource.c.id).where(
        tuple_(resource.c.resource_type, resource.c.id).in_(pairs),
        resource.c.deleted.is_(False),
    )
    return {(row.resource_type, row.id) for row in await connection.execute(statement)}


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    stored: StoredResource
    method: str  # create | update | delete


@dataclass(slots=True)
class HistoryPage:
    entries: list[HistoryEntry]
    next_cursor: str | None = None


async def history(
    connection: AsyncConnection,
    *,
    resource_type: str | None,
    resource_id: str | None,
    since: int | None,
    count: int,
    cursor: str | None,
) -> HistoryPage:
    """Versions, newest first, for one resource, one type or the whole record."""
    v = resource_version.c
    statement: Any = select(resource_version)
    if resource_type:
        statement = statement.where(v.resource_type == resource_type)
    if resource_id:
        statement = statement.where(v.id == resource_id)
    if since is not None:
        statement = statement.where(v.last_updated >= since)
    if cursor:
        (boundary,) = Cursor.decode(cursor).values
        statement = statement.where(v.seq < boundary)
    rows = list((await connection.execute(statement.order_by(v.seq.desc()).limit(count + 1))).all())
    entries = [
        HistoryEntry(
            StoredResource(
                row.resource_pk,
                row.resource_type,
                row.id,
                row.version,
                row.last_updated,
                row.method == "delete",
                row.content,
            ),
            row.method,
        )
        for row in rows[:count]
    ]
    next_cursor = Cursor((rows[count - 1].seq,)).encode() if len(rows) > count else None
    return HistoryPage(entries, next_cursor)


async def referrers(
    connection: AsyncConnection,
    resource_type: str,
    resource_id: str,
    *,
    ignoring: frozenset[str] = frozenset(),
    limit: int = 10,
) -> list[str]:
    """Current resources, other than of the ``ignoring`` types, that refer to this one
    ("Observation/abc") by a local reference, a few at most."""
    statement = _referring(resource_type, resource_id, ignoring, local_only=True).limit(limit)
    return [f"{row.resource_type}/{row.id}" for row in await connection.execute(statement)]


async def referring(
    connection: AsyncConnection,
    resource_type: str,
    resource_id: str,
    *,
    ignoring: frozenset[str] = frozenset(),
) -> list[tuple[str, str]]:
    """Every current resource, other than of the ``ignoring`` types, with a reference to this
    one (relative or absolute), as (type, id) in a stable order: all of them, for a change
    that must reach each (a merge). Read on the reference index, so a resource that refers to
    it only where no search parameter looks (in an extension alone) is not found."""
    statement = _referring(resource_type, resource_id, ignoring, local_only=False).order_by(
        resource.c.resource_type, resource.c.id
    )
    return [(row.resource_type, row.id) for row in await connection.execute(statement)]


def _referring(
    resource_type: str, resource_id: str, ignoring: frozenset[str], *, local_only: bool
) -> Select[Any]:
    """The current resources whose reference index names ``resource_type/resource_id``."""
    targets = select(idx_reference.c.res_pk).where(
        idx_reference.c.target_type == resource_type,
        idx_reference.c.target_id == resource_id,
        idx_reference.c.resource_type.not_in(ignoring),
    )
    if local_only:
        targets = targets.where(idx_reference.c.url.is_(None))
    return select(resource.c.resource_type, resource.c.id).where(
        resource.c.pk.in_(targets), resource.c.deleted.is_(False)
    )
