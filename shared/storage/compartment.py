"""A patient's compartment: the Patient and every resource the CompartmentDefinition puts in
their record, read page by page on the reference index (for Patient/$everything)."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.fhir.searchparams import params_for, patient_compartment
from shared.storage.paging import Cursor, after
from shared.storage.rows import StoredResource
from shared.storage.schema import idx_reference, resource


@cache
def _membership() -> tuple[tuple[str, str], ...]:
    """(resource type, parameter) pairs that put a resource in a patient's compartment."""
    return tuple(
        (resource_type, param)
        for resource_type, params in sorted(patient_compartment().items())
        for param in params
        if param in params_for(resource_type)
    )


def _members(patient_id: str, types: tuple[str, ...]) -> ColumnElement[bool]:
    pairs = [pair for pair in _membership() if not types or pair[0] in types]
    referring = select(idx_reference.c.res_pk).where(
        idx_reference.c.target_type == "Patient",
        idx_reference.c.target_id == patient_id,
        idx_reference.c.url.is_(None),
        tuple_(idx_reference.c.resource_type, idx_reference.c.param).in_(pairs),
    )
    itself = select(resource.c.pk).where(
        resource.c.resource_type == "Patient", resource.c.id == patient_id
    )
    # One IN over both, never an OR of the two: an OR makes the database walk every resource.
    parts = [
        *([referring] if pairs else []),
        *([itself] if not types or "Patient" in types else []),
    ]
    if not parts:
        return resource.c.pk.is_(None)
    return resource.c.pk.in_(union_all(*parts) if len(parts) > 1 else parts[0])


def _filters(patient_id: str, types: tuple[str, ...], since: int | None) -> list[Any]:
    filters = [resource.c.deleted.is_(False), _members(patient_id, types)]
    if since is not None:
        filters.append(resource.c.last_updated >= since)
    return filters


def page_statement(
    patient_id: str,
    *,
    types: tuple[str, ...],
    since: int | None,
    cursor: Cursor | None,
    page_size: int,
) -> Select[Any]:
    statement = select(resource).where(*_filters(patient_id, types, since))
    if cursor is not None:
        statement = statement.where(after([(resource.c.pk, False)], cursor.values))
    return statement.order_by(resource.c.pk).limit(page_size + 1)


async def page(
    connection: AsyncConnection,
    patient_id: str,
    *,
    types: tuple[str, ...] = (),
    since: int | None = None,
    cursor: Cursor | None = None,
    page_size: int = 100,
) -> tuple[list[StoredResource], Cursor | None]:
    """One page of the compartment in storage order, and the cursor of the next page."""
    statement = page_statement(
        patient_id, types=types, since=since, cursor=cursor, page_size=page_size
    )
    rows = list((await connection.execute(statement)).all())
    following = Cursor((rows[page_size - 1].pk,)) if len(rows) > page_size else None
    return [StoredResource.from_row(row) for row in rows[:page_size]], following


async def count(
    connection: AsyncConnection,
    patient_id: str,
    *,
    types: tuple[str, ...] = (),
    since: int | None = None,
) -> int:
    statement = (
        select(func.count()).select_from(resource).where(*_filters(patient_id, types, since))
    )
    return int((await connection.execute(statement)).scalar_one())


async def referenced(
    connection: AsyncConnection, members: list[StoredResource]
) -> list[StoredResource]:
    """Resources outside any compartment (practitioners, organisations, locations,
    medications) that the members refer to: what the record needs to be read on its own."""
    if not members:
        return []
    targets = (
        select(idx_reference.c.target_type, idx_reference.c.target_id)
        .where(
            idx_reference.c.res_pk.in_([m.pk for m in members]),
            idx_reference.c.url.is_(None),
            idx_reference.c.target_type.not_in(["Patient", *patient_compartment()]),
        )
        .distinct()
        .subquery()
    )
    statement = (
        select(resource)
        .join(
            targets,
            and_(
                resource.c.resource_type == targets.c.target_type,
                resource.c.id == targets.c.target_id,
            ),
        )
        .where(resource.c.deleted.is_(False))
    )
    return [StoredResource.from_row(row) for row in await connection.execute(statement)]
