"""Which subscriptions one writing transaction's changes match, queued as outbox rows in the
same transaction (``matching.record_events``).

A batched transaction (a Bundle of many writes) holds its creates back and matches them
together at the end, one search per subscription for all it might match, then queues their
notifications in the order they were written. Anything else (updates, deletes, Subscriptions,
every write of an unbatched transaction) first matches what is held, so the order stays true.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from services.record.subscriptions.matching import (
    SubscriptionRegistry,
    ensure_state,
    matching,
    matching_ids,
    record_events,
)
from services.record.subscriptions.spec import SubscriptionSpec
from shared.fhir.indexvalues import IndexValues
from shared.storage.rows import StoredResource


class Notifier:
    """One transaction's notifications; ``settle`` writes the index rows a search needs."""

    def __init__(
        self,
        connection: AsyncConnection,
        registry: SubscriptionRegistry | None,
        settle: Callable[[], Awaitable[None]],
        *,
        hold_creates: bool,
    ) -> None:
        self.connection = connection
        self.registry = registry
        self.settle = settle
        self.hold_creates = hold_creates
        self.events = 0  # notifications this transaction queued
        # The collecting subscriptions, read once a transaction (again after it writes one).
        self._collecting: list[SubscriptionSpec] | None = None
        self._held: list[tuple[StoredResource, IndexValues]] = []

    async def changed(self, stored: StoredResource, method: str, index: IndexValues) -> None:
        """Queue a notification for each subscription this version matches."""
        if self.hold_creates and method == "create" and stored.resource_type != "Subscription":
            self._held.append((stored, index))
            return
        await self.match_held()
        if stored.resource_type == "Subscription" and self.registry is not None:
            self.registry.forget()
            self._collecting = None
            await ensure_state(self.connection, stored.id)
        await self.record(await self.matching(stored, index), stored, method)

    async def matching(
        self, stored: StoredResource, index: IndexValues | None = None
    ) -> list[SubscriptionSpec]:
        """The subscriptions this version meets now (``index`` spares plain misses)."""
        candidates = [
            spec
            for spec in await self._specs()
            if spec.resource_type == stored.resource_type
            and (index is None or spec.could_match(index))
        ]
        if not candidates:
            return []
        await self.settle()  # the criteria are searched over this version's index rows
        return await matching(self.connection, candidates, stored)

    async def record(
        self, specs: list[SubscriptionSpec], stored: StoredResource, method: str
    ) -> None:
        self.events += await record_events(self.connection, specs, stored, method)

    async def match_held(self) -> None:
        """Match the held creates together, then queue theirs in the order written."""
        if not self._held:
            return
        held, self._held = self._held, []
        specs = await self._specs()
        matched: dict[str, set[str]] = {}
        for spec in specs:
            ids = [
                stored.id
                for stored, index in held
                if stored.resource_type == spec.resource_type and spec.could_match(index)
            ]
            if ids:
                await self.settle()
                matched[spec.id] = await matching_ids(self.connection, spec, ids)
        by_id = {spec.id: spec for spec in specs}
        for stored, _ in held:
            met = [by_id[name] for name, ids in matched.items() if stored.id in ids]
            if met:
                await self.record(met, stored, "create")

    async def _specs(self) -> list[SubscriptionSpec]:
        if self.registry is None:
            return []
        if self._collecting is None:
            await self.settle()  # a Subscription this transaction wrote is read back
            self._collecting = await self.registry.collecting(self.connection)
        return self._collecting
