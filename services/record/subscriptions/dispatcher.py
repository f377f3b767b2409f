"""Delivering the outbox: after commit, at least once, in commit order per subscription.

One task per subscription with events due, so subscriptions are served concurrently and a slow
endpoint holds up only its own. A subscription is served by one process at a time (a named
lock: a session advisory lock on PostgreSQL, released if the process dies), so replicas share
the work and none delivers an event twice. A failed delivery is retried with exponential
back-off and jitter; after the configured attempts the subscription is put in error with the
reason, its events wait, and delivery resumes as soon as the endpoint answers again.

Stopping is graceful: ``stop`` lets each delivery in flight finish and be recorded, starts no
new one, and cancels only what is still running when the grace period ends (those events are
delivered again later: at least once).

Metrics: ``onestory.subscription.delivery`` (counter, attribute ``outcome=ok|retry|error``),
``onestory.subscription.latency`` (commit to delivered, ms), and the observable gauge
``onestory.subscription.outbox_depth`` (notifications waiting, due or backing off).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from typing import Any

import httpx
from opentelemetry import metrics
from sqlalchemy import case, delete, func, select, update

from services.record.subscriptions import notifications
from services.record.subscriptions.matching import SubscriptionRegistry
from services.record.subscriptions.spec import SubscriptionSpec, read_spec
from services.record.writes import RecordWriter
from shared.errors import FhirError
from shared.settings import RecordSettings
from shared.storage import reads
from shared.storage.database import Database
from shared.storage.schema import subscription_event, subscription_state
from shared.telemetry import traced_client

log = logging.getLogger("onestory.record.dispatcher")
_BATCH = 50


class Dispatcher:
    def __init__(
        self, database: Database, registry: SubscriptionRegistry, settings: RecordSettings
    ) -> None:
        self.database = database
        self.registry = registry
        self.settings = settings
        self.base_url = (settings.base_url or settings.auth_audience).rstrip("/")
        self.client = traced_client(timeout=settings.subscription_timeout_seconds)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._depth = 0
        self._stopping = asyncio.Event()
        meter = metrics.get_meter("onestory.record")
        self.deliveries = meter.create_counter(
            "onestory.subscription.delivery", description="Notification deliveries by outcome"
        )
        self.latency = meter.create_histogram(
            "onestory.subscription.latency",
            unit="ms",
            description="From commit to delivered notification",
        )
        meter.create_observable_gauge(
            "onestory.subscription.outbox_depth",
            callbacks=[self._observe_depth],
            description="Notifications waiting to be delivered",
        )

    def _observe_depth(self, _options: Any) -> list[metrics.Observation]:
        return [metrics.Observation(self._depth)]

    async def run(self) -> None:
        """Serve due subscriptions until stopped (or cancelled). A database that does not
        answer is waited for: delivery resumes when it does."""
        try:
            while not self._stopping.is_set():
                self.registry.committed.clear()
                try:
                    await self.dispatch_once()
                except Exception as error:
                    log.warning("could not look for due notifications: %s", type(error).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._woken(), self.settings.subscription_poll_seconds)
            await self._finish_in_flight()
        finally:
            for task in self._tasks.values():
                task.cancel()
            await self.client.aclose()

    async def stop(self, running: asyncio.Task[None]) -> None:
        """Stop ``running`` (this dispatcher's ``run``) once deliveries in flight are done."""
        self._stopping.set()
        await running

    async def _woken(self) -> None:
        """Until a commit brings events, or the dispatcher is asked to stop."""
        commit = asyncio.ensure_future(self.registry.committed.wait())
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({commit, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            commit.cancel()
            stop.cancel()

    async def _finish_in_flight(self) -> None:
        running = [task for task in self._tasks.values() if not task.done()]
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=self.settings.shutdown_grace_seconds)
        if late:
            log.warning("stopped with %d subscriptions still delivering", len(late))

    async def dispatch_once(self) -> None:
        now = time.time_ns() // 1000
        async with self.database.transaction(write=False) as connection:
            waiting = (
                await connection.execute(
                    select(
                        subscription_event.c.subscription_id,
                        func.count(),
                        func.sum(case((subscription_event.c.next_attempt_at <= now, 1), else_=0)),
                    ).group_by(subscription_event.c.subscription_id)
                )
            ).all()
            specs = await self.registry.collecting(connection)
        self._depth = sum(int(count) for _, count, _ in waiting)
        wanted = {str(sid) for sid, _, due in waiting if due}
        wanted |= {s.id for s in specs if s.status == "requested"}
        for subscription_id in wanted:
            task = self._tasks.get(subscription_id)
            if task is None or task.done():
                self._tasks[subscription_id] = asyncio.create_task(self._serve(subscription_id))

    async def _serve(self, subscription_id: str) -> None:
        try:
            async with self.database.session_lock(f"subscription:{subscription_id}") as held:
                if held:
                    await self._serve_held(subscription_id)
        except Exception:
            log.exception("delivery for a subscription failed unexpectedly")

    async def _serve_held(self, subscription_id: str) -> None:
        spec = await self._spec(subscription_id)
        if spec is None:
            await self._discard(subscription_id)
            return
        if spec.status == "requested":
            if not await self._handshake(spec):
                return
            spec = await self._spec(subscription_id)
        if spec is None or spec.status == "off":
            return
        while not self._stopping.is_set() and await self._deliver_batch(spec):
            spec = await self._spec(subscription_id) or spec

    async def _spec(self, subscription_id: str) -> SubscriptionSpec | None:
        async with self.database.transaction(write=False) as connection:
            stored = await reads.current(connection, "Subscription", subscription_id)
        if stored is None or stored.deleted:
            return None
        try:
            return read_spec(stored.resource(), stored.version)
        except FhirError:
            return None

    async def _handshake(self, spec: SubscriptionSpec) -> bool:
        ok, reason = await self._post(spec, notifications.handshake(spec, 0))
        await self._set_status(
            spec, "active" if ok else "error", None if ok else f"Handshake failed: {reason}"
        )
        return ok

    async def _deliver_batch(self, spec: SubscriptionSpec) -> bool:
        """Deliver due events in order; True if all went, so that any that arrived meanwhile
        are looked for at once (while this process still holds the subscription).

        Deliveries are recorded once per batch: a process that dies mid-batch sends those
        events again (at least once), never loses them."""
        async with self.database.transaction(write=False) as connection:
            rows = (
                await connection.execute(
                    select(subscription_event)
                    .where(subscription_event.c.subscription_id == spec.id)
                    .order_by(subscription_event.c.seq)
                    .limit(_BATCH)
                )
            ).all()
            contents = await self._contents(connection, spec, rows)
        delivered: list[Any] = []
        for row in rows:
            if row.next_attempt_at > time.time_ns() // 1000 or self._stopping.is_set():
                break  # backing off (order: nothing after it may go first), or stopping
            body = (
                None
                if spec.content == "empty"
                else notifications.event(spec, row, contents.get(row.seq), self.base_url)
            )
            ok, reason = await self._post(spec, body)
            if not ok:
                await self._delivered(spec, delivered, recovered=False)
                await self._failed(spec, row, reason)
                return False
            delivered.append(row)
        await self._delivered(spec, delivered)
        return bool(delivered) and len(delivered) == len(rows)

    async def _contents(
        self, connection: Any, spec: SubscriptionSpec, rows: Sequence[Any]
    ) -> dict[int, str]:
        """The resource versions a full-resource subscription sends, by event."""
        if spec.content != "full-resource":
            return {}
        contents = {}
        for row in rows:
            if row.method != "delete":
                stored = await reads.version(
                    connection, row.resource_type, row.resource_id, row.version
                )
                if stored is not None:
                    contents[row.seq] = stored.content
        return contents

    async def _post(self, spec: SubscriptionSpec, body: bytes | None) -> tuple[bool, str]:
        headers = {"Content-Type": "application/fhir+json", **dict(spec.headers)}
        try:
            answer = await self.client.post(spec.endpoint, content=body or b"", headers=headers)
        except httpx.HTTPError as error:
            return False, f"{type(error).__name__} calling the endpoint"
        if 200 <= answer.status_code < 300:
            return True, ""
        return False, f"the endpoint answered {answer.status_code}"

    async def _delivered(
        self, spec: SubscriptionSpec, rows: list[Any], *, recovered: bool = True
    ) -> None:
        if not rows:
            return
        async with self.database.transaction(write=True) as connection:
            await connection.execute(
                delete(subscription_event).where(
                    subscription_event.c.seq.in_([row.seq for row in rows])
                )
            )
            await connection.execute(
                update(subscription_state)
                .where(subscription_state.c.subscription_id == spec.id)
                .values(failures=0)
            )
        now = time.time_ns() // 1000
        for row in rows:
            self.latency.record((now - row.committed_at) / 1000)
        self.deliveries.add(len(rows), {"outcome": "ok"})
        if recovered and spec.status == "error":
            await self._set_status(spec, "active", None)

    async def _failed(self, spec: SubscriptionSpec, row: Any, reason: str) -> None:
        attempts = row.attempts + 1
        delay = min(
            self.settings.subscription_backoff_seconds * 2 ** (attempts - 1),
            self.settings.subscription_max_backoff_seconds,
        )
        delay *= random.uniform(0.5, 1.5)  # jitter: endpoints coming back are not stampeded
        async with self.database.transaction(write=True) as connection:
            await connection.execute(
                update(subscription_event)
                .where(subscription_event.c.seq == row.seq)
                .values(
                    attempts=attempts, next_attempt_at=time.time_ns() // 1000 + int(delay * 1e6)
                )
            )
            await connection.execute(
                update(subscription_state)
                .where(subscription_state.c.subscription_id == spec.id)
                .values(failures=subscription_state.c.failures + 1, last_error=reason[:500])
            )
        giving_up = attempts >= self.settings.subscription_attempts
        outcome = "error" if giving_up else "retry"
        self.deliveries.add(1, {"outcome": outcome})
        if giving_up and spec.status != "error":
            await self._set_status(spec, "error", f"Delivery failed {attempts} times: {reason}")

    async def _set_status(self, spec: SubscriptionSpec, status: str, error: str | None) -> None:
        """The record itself updates the Subscription, as a new version."""
        async with self.database.transaction(write=True) as connection:
            stored = await reads.current(connection, "Subscription", spec.id)
            if stored is None or stored.deleted:
                return
            body = {k: v for k, v in stored.resource().items() if k not in ("meta", "error")}
            body["status"] = status
            if error:
                body["error"] = error
            writer = RecordWriter(self.database, connection, self.base_url, self.registry)
            await writer.update("Subscription", spec.id, body)
        if writer.events:
            self.registry.committed.set()

    async def _discard(self, subscription_id: str) -> None:
        """A deleted subscription's waiting events go with it."""
        async with self.database.transaction(write=True) as connection:
            await connection.execute(
                delete(subscription_event).where(
                    subscription_event.c.subscription_id == subscription_id
                )
            )
