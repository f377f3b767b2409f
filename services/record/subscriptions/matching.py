"""Which subscriptions a change matches, decided in the writing transaction.

Each collecting subscription's criteria, narrowed by ``_id`` to the changed resource, run on
the record's own search engine over the index rows the change has just written (for a
deletion, over those it is about to remove). A match becomes an outbox row in the same
transaction, so a committed change always has its notifications.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.record.subscriptions.spec import COLLECTING, SubscriptionSpec, read_spec
from shared.errors import FhirError
from shared.fhir.queryparser import parse_search
from shared.storage.rows import StoredResource
from shared.storage.schema import resource, subscription_event, subscription_state
from shared.storage.search import search

log = logging.getLogger("onestory.record.subscriptions")


class SubscriptionRegistry:
    """The collecting subscriptions, re-read whenever any Subscription in the database has
    changed (one indexed lookup per write, so every replica sees a new subscription at once),
    and the signal that new events are committed."""

    def __init__(self) -> None:
        self._specs: list[SubscriptionSpec] = []
        self._stamp: int | None = -1
        self.committed = asyncio.Event()

    def forget(self) -> None:
        self._stamp = -1

    async def collecting(self, connection: AsyncConnection) -> list[SubscriptionSpec]:
        stamp = (
            await connection.execute(
                select(func.max(resource.c.last_updated)).where(
                    resource.c.resource_type == "Subscription"
                )
            )
        ).scalar()
        if stamp != self._stamp:
            self._specs = await _load(connection)
            self._stamp = stamp
        return self._specs


async def _load(connection: AsyncConnection) -> list[SubscriptionSpec]:
    query = parse_search(
        "Subscription", [("status", ",".join(COLLECTING)), ("_count", "1000")], strict=True
    )
    page = await search(connection, query, page_size=1000)
    specs = []
    for stored in page.matches:
        try:
            specs.append(read_spec(stored.resource(), stored.version))
        except FhirError:
            log.warning("Subscription/%s can no longer be honoured; skipped", stored.id)
    return specs


async def matching(
    connection: AsyncConnection, specs: list[SubscriptionSpec], stored: StoredResource
) -> list[SubscriptionSpec]:
    """Which of ``specs`` (collecting subscriptions on this type) this version meets."""
    matched = []
    for spec in specs:
        page = await search(connection, spec.query_for(stored.id), page_size=1)
        if page.matches:
            matched.append(spec)
    return matched


async def matching_ids(
    connection: AsyncConnection, spec: SubscriptionSpec, ids: list[str]
) -> set[str]:
    """Which of the resources ``ids`` (of the subscription's type) its criteria match now."""
    found: set[str] = set()
    for first in range(0, len(ids), _IDS_A_SEARCH):
        some = ids[first : first + _IDS_A_SEARCH]
        page = await search(connection, spec.query_for(*some), page_size=len(some))
        found.update(stored.id for stored in page.matches)
    return found


_IDS_A_SEARCH = 200


async def record_events(
    connection: AsyncConnection, specs: list[SubscriptionSpec], stored: StoredResource, method: str
) -> int:
    """One outbox row per matching subscription, numbered in the subscription's sequence."""
    now = time.time_ns() // 1000
    for spec in specs:
        number = await _next_event_number(connection, spec.id)
        await connection.execute(
            insert(subscription_event).values(
                subscription_id=spec.id,
                event_number=number,
                resource_type=stored.resource_type,
                resource_id=stored.id,
                version=stored.version,
                method=method,
                committed_at=now,
                attempts=0,
                next_attempt_at=now,
            )
        )
    return len(specs)


async def _next_event_number(connection: AsyncConnection, subscription_id: str) -> int:
    state = subscription_state.c
    result = await connection.execute(
        update(subscription_state)
        .where(state.subscription_id == subscription_id)
        .values(events_since_start=state.events_since_start + 1)
        .returning(state.events_since_start)
    )
    number = result.scalar_one_or_none()
    if number is not None:
        return int(number)
    await ensure_state(connection, subscription_id)
    return await _next_event_number(connection, subscription_id)


async def ensure_state(connection: AsyncConnection, subscription_id: str) -> None:
    exists = await connection.execute(
        select(subscription_state.c.subscription_id).where(
            subscription_state.c.subscription_id == subscription_id
        )
    )
    if exists.first() is None:
        await connection.execute(
            insert(subscription_state).values(
                subscription_id=subscription_id, events_since_start=0, failures=0
            )
        )
