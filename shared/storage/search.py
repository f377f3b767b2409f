"""Running a parsed search: criteria, sort order, keyset pages, totals and included resources."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.fhir.searchquery import Include, SearchQuery, SortKey
from shared.storage.criteria import LOCAL, TABLE_OF_TYPE, condition
from shared.storage.paging import Cursor, after
from shared.storage.rows import StoredResource
from shared.storage.schema import idx_reference, resource

_SORT_COLUMN = {
    "string": "value",
    "token": "code",
    "reference": "target_id",
    "number": "value",
    "quantity": "value",
    "uri": "value",
}
# Resources without a value sort last in either direction.
_LAST_TEXT, _FIRST_TEXT = "\U0010ffff", ""
_LAST_NUMBER, _FIRST_NUMBER = 2**62, -(2**62)
_MAX_INCLUDE_ROUNDS = 4


@dataclass(slots=True)
class SearchPage:
    matches: list[StoredResource]
    included: list[StoredResource] = field(default_factory=list)
    total: int | None = None
    next_cursor: str | None = None
    previous_cursor: str | None = None


def _filters(query: SearchQuery, base_url: str) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = [resource.c.deleted.is_(False)]
    if query.resource_type:
        filters.append(resource.c.resource_type == query.resource_type)
    elif query.types:
        filters.append(resource.c.resource_type.in_(query.types))
    filters += [condition(resource, query.resource_type, c, base_url) for c in query.criteria]
    return filters


def _sort_expression(target: FromClause, key: SortKey) -> ColumnElement[Any]:
    if key.param.code == "_id":
        return target.c.id
    if key.param.code == "_lastUpdated":
        return target.c.last_updated
    table = TABLE_OF_TYPE[key.param.type]
    if key.param.type == "date":
        column = table.c.high if key.descending else table.c.low
    else:
        column = table.c[_SORT_COLUMN[key.param.type]]
    aggregate = func.max(column) if key.descending else func.min(column)
    is_text = key.param.type in ("string", "token", "reference", "uri")
    missing = (
        (_FIRST_TEXT if key.descending else _LAST_TEXT)
        if is_text
        else (_FIRST_NUMBER if key.descending else _LAST_NUMBER)
    )
    value = (
        select(aggregate)
        .where(table.c.res_pk == target.c.pk, table.c.param == key.param.code)
        .scalar_subquery()
    )
    return func.coalesce(value, literal(missing))


def _order_keys(query: SearchQuery) -> list[tuple[ColumnElement[Any], bool]]:
    keys = [(_sort_expression(resource, key), key.descending) for key in query.sort]
    return [*keys, (resource.c.pk, False)]


async def search(
    connection: AsyncConnection, query: SearchQuery, *, page_size: int, base_url: str = ""
) -> SearchPage:
    """One page of matches for ``query``, with its paging cursors, total and includes."""
    page = SearchPage(matches=[])
    if query.total in ("accurate", "estimate") or query.summary == "count":
        page.total = await _count(connection, _filters(query, base_url))
    if page_size == 0 or query.summary == "count":
        return page
    await _fill_page(connection, page, query, page_size, base_url)
    if query.includes and page.matches:
        page.included = await _includes(connection, page.matches, query.includes)
    return page


async def _count(connection: AsyncConnection, filters: list[ColumnElement[bool]]) -> int:
    statement = select(func.count()).select_from(resource).where(*filters)
    return int((await connection.execute(statement)).scalar_one())


def page_statement(
    query: SearchQuery, *, page_size: int, base_url: str = "", cursor: Cursor | None = None
) -> Select[Any]:
    """The SQL for one page: the matches in sort order after the cursor, one extra row to
    tell whether another page follows."""
    keys = _order_keys(query)
    backwards = bool(cursor and cursor.backwards)
    effective = [(expression, descending != backwards) for expression, descending in keys]
    labels = [expression.label(f"sort_{i}") for i, (expression, _) in enumerate(keys[:-1])]
    statement: Select[Any] = select(*resource.c, *labels).where(*_filters(query, base_url))
    if cursor:
        statement = statement.where(after(effective, cursor.values))
    order = (expression.desc() if down else expression.asc() for expression, down in effective)
    return statement.order_by(*order).limit(page_size + 1)


async def _fill_page(
    connection: AsyncConnection,
    page: SearchPage,
    query: SearchQuery,
    page_size: int,
    base_url: str,
) -> None:
    cursor = Cursor.decode(query.cursor) if query.cursor else None
    backwards = bool(cursor and cursor.backwards)
    statement = page_statement(query, page_size=page_size, base_url=base_url, cursor=cursor)
    rows = list((await connection.execute(statement)).all())
    more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()
    page.matches = [StoredResource.from_row(row) for row in rows]
    if not rows:
        return
    boundary = [(*row[len(resource.c) :], row.pk) for row in (rows[0], rows[-1])]
    if more or backwards:
        page.next_cursor = Cursor(tuple(boundary[1])).encode()
    if (more and backwards) or (cursor is not None and not backwards):
        page.previous_cursor = Cursor(tuple(boundary[0]), backwards=True).encode()


async def _includes(
    connection: AsyncConnection, matches: list[StoredResource], includes: tuple[Include, ...]
) -> list[StoredResource]:
    """Resources named by _include / _revinclude, following :iterate a few rounds deep."""
    seen = {m.pk for m in matches}
    found: list[StoredResource] = []
    frontier = matches
    for round_number in range(_MAX_INCLUDE_ROUNDS):
        wanted = [i for i in includes if round_number == 0 or i.iterate]
        added: list[StoredResource] = []
        for include in wanted:
            for stored in await _include_one(connection, frontier, include):
                if stored.pk not in seen:
                    seen.add(stored.pk)
                    added.append(stored)
        found += added
        frontier = added
        if not frontier:
            break
    return found


async def _include_one(
    connection: AsyncConnection, frontier: list[StoredResource], include: Include
) -> list[StoredResource]:
    sources = [s for s in frontier if s.resource_type == include.source_type or include.reverse]
    if not sources:
        return []
    statement = _referrers(sources, include) if include.reverse else _referred(sources, include)
    rows = (await connection.execute(statement)).all()
    return [StoredResource.from_row(row) for row in rows]


def _referred(sources: list[StoredResource], include: Include) -> Select[Any]:
    targets = select(idx_reference.c.target_type, idx_reference.c.target_id).where(
        idx_reference.c.param == include.param.code,
        idx_reference.c.res_pk.in_([s.pk for s in sources]),
        LOCAL,
    )
    if include.target_type:
        targets = targets.where(idx_reference.c.target_type == include.target_type)
    pairs = targets.subquery()
    return (
        select(*resource.c)
        .join(
            pairs,
            (resource.c.resource_type == pairs.c.target_type)
            & (resource.c.id == pairs.c.target_id),
        )
        .where(resource.c.deleted.is_(False))
        .distinct()
    )


def _referrers(sources: list[StoredResource], include: Include) -> Select[Any]:
    by_type: dict[str, list[str]] = {}
    for source in sources:
        by_type.setdefault(source.resource_type, []).append(source.id)
    referrer_pks = select(idx_reference.c.res_pk).where(
        idx_reference.c.param == include.param.code,
        idx_reference.c.resource_type == include.source_type,
        LOCAL,
        or_(
            *(
                (idx_reference.c.target_type == resource_type) & idx_reference.c.target_id.in_(ids)
                for resource_type, ids in by_type.items()
            )
        ),
    )
    return select(*resource.c).where(resource.c.pk.in_(referrer_pks), resource.c.deleted.is_(False))
