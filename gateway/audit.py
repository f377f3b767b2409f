"""Audit: an AuditEvent for every request that touches patient data, refusals included.

Events are queued in the gateway's own database as the request finishes (a local insert, so
audit never slows or fails the user's request) and a background sender delivers them to the
record in batches, retrying with back-off until the record has them: none is lost, even across
a restart. How many wait is the observable gauge ``onestory.audit.queue_size``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from opentelemetry import metrics
from sqlalchemy import delete, func, insert, select, update

from gateway.schema import audit_outbox
from shared.fhir.dates import micros_to_instant
from shared.storage.database import Database

log = logging.getLogger("onestory.gateway.audit")

CORRELATION_ID = "https://onestory.example.nhs.uk/Id/correlation-id"
AUDIT_FLAG_SYSTEM = "https://onestory.example.nhs.uk/CodeSystem/audit-flag"
_ACTIONS = {"c": "C", "r": "R", "s": "E", "u": "U", "d": "D"}
_MAX_BACKOFF_US = 60_000_000


@dataclass(slots=True)
class AuditRecord:
    """What one request did, filled in as the request is handled."""

    interaction: str  # FHIR restful-interaction code
    permission: str
    client_id: str
    subject: str
    fhir_user: str | None
    organization: str | None
    address: str
    patients: set[str] = field(default_factory=set)
    resources: list[str] = field(default_factory=list)
    query: str = ""
    status: int = 200
    outcome_text: str = ""
    break_glass_reason: str | None = None
    correlation: str | None = None  # X-Correlation-Id: the piece of work this request is part of

    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = {
            "resourceType": "AuditEvent",
            "type": {
                "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
                "code": "rest",
                "display": "RESTful Operation",
            },
            "subtype": [
                {"system": "http://hl7.org/fhir/restful-interaction", "code": self.interaction}
            ],
            "action": _ACTIONS.get(self.permission, "E"),
            "recorded": micros_to_instant(time.time_ns() // 1000),
            "outcome": "0" if self.status < 400 else ("4" if self.status < 500 else "8"),
            "purposeOfEvent": [_purpose(self.break_glass_reason)],
            "agent": self._agents(),
            "source": {
                "observer": {"display": "OneStory gateway"},
                "type": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                        "code": "3",
                    }
                ],
            },
            "entity": self._entities(),
        }
        if self.status >= 400:
            event["outcomeDesc"] = self.outcome_text or f"HTTP {self.status}"
        if self.break_glass_reason:
            event["meta"] = {"tag": [{"system": AUDIT_FLAG_SYSTEM, "code": "break-glass"}]}
        return event

    def _agents(self) -> list[dict[str, Any]]:
        person: dict[str, Any] = {
            "type": {
                "coding": [
                    {
                        "system": "http://dicom.nema.org/resources/ontology/DCM",
                        "code": "110153",
                        "display": "Source Role ID",
                    }
                ]
            },
            "who": {"reference": self.fhir_user}
            if self.fhir_user
            else {"identifier": {"value": self.subject}},
            "altId": self.subject,
            "requestor": True,
            "network": {"address": self.address, "type": "2"},
            "purposeOfUse": [_purpose(self.break_glass_reason)],
        }
        application = {
            "type": {
                "coding": [
                    {
                        "system": "http://dicom.nema.org/resources/ontology/DCM",
                        "code": "110150",
                        "display": "Application",
                    }
                ]
            },
            "who": {"display": self.client_id},
            "requestor": False,
        }
        agents = [person, application]
        if self.organization:
            agents.append({"who": {"reference": self.organization}, "requestor": False})
        return agents

    def _entities(self) -> list[dict[str, Any]]:
        entities: list[dict[str, Any]] = [
            {
                "what": {"reference": f"Patient/{p}"},
                "type": {
                    "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                    "code": "1",
                },
                "role": {
                    "system": "http://terminology.hl7.org/CodeSystem/object-role",
                    "code": "1",
                },
            }
            for p in sorted(self.patients)
        ]
        entities += [{"what": {"reference": r}} for r in self.resources[:50]]
        if self.correlation:
            entities.append(
                {"what": {"identifier": {"system": CORRELATION_ID, "value": self.correlation}}}
            )
        if self.query:
            entities.append(
                {
                    "query": base64.b64encode(self.query.encode()).decode(),
                    "type": {
                        "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                        "code": "2",
                    },
                }
            )
        return entities


def _purpose(break_glass_reason: str | None) -> dict[str, Any]:
    system = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
    if break_glass_reason:
        return {
            "coding": [{"system": system, "code": "BTG", "display": "break the glass"}],
            "text": break_glass_reason,
        }
    return {"coding": [{"system": system, "code": "TREAT", "display": "treatment"}]}


Deliver = Callable[[list[dict[str, Any]]], Awaitable[None]]


class AuditQueue:
    """The durable queue between requests and the record."""

    def __init__(self, database: Database, *, batch_size: int = 100) -> None:
        self.database = database
        self.batch_size = batch_size
        self.wake = asyncio.Event()
        self.stopping = asyncio.Event()
        self.waiting = 0  # as last counted by the sender
        metrics.get_meter("onestory.gateway").create_observable_gauge(
            "onestory.audit.queue_size",
            callbacks=[self._observe_waiting],
            description="AuditEvents queued in the gateway, not yet in the record",
        )

    def _observe_waiting(self, _options: Any) -> list[metrics.Observation]:
        return [metrics.Observation(self.waiting)]

    async def enqueue(self, event: dict[str, Any]) -> None:
        now = time.time_ns() // 1000
        try:
            async with self.database.transaction(write=True) as connection:
                await connection.execute(
                    insert(audit_outbox).values(
                        created_at=now,
                        kind="AuditEvent",
                        payload=orjson.dumps(event).decode(),
                        attempts=0,
                        next_attempt_at=now,
                    )
                )
        except Exception:  # audit must never fail the request; the failure itself is logged
            log.exception("could not queue an audit event")
            return
        self.wake.set()

    async def run(
        self, deliver: Deliver, *, idle_seconds: float = 1.0, linger_seconds: float = 0.2
    ) -> None:
        """Deliver queued events until stopped (or cancelled). After the first event of a quiet
        spell it lingers a moment, so a busy gateway sends batches, not one record write per
        request."""
        while not self.stopping.is_set():
            try:
                delivered = await self.deliver_due(deliver)
                self.waiting = await self.depth()
            except Exception as error:  # the gateway's own database is away: wait for it
                log.warning("could not read the audit queue: %s", type(error).__name__)
                delivered = 0
            if not delivered and not self.stopping.is_set():
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), idle_seconds)
                await asyncio.sleep(linger_seconds)

    async def stop(self, running: asyncio.Task[None], *, grace_seconds: float) -> None:
        """Stop ``running`` (this queue's ``run``) once the batch in flight is delivered, so the
        record is not sent it twice; what is still queued waits for the next start."""
        self.stopping.set()
        self.wake.set()
        done, _ = await asyncio.wait({running}, timeout=grace_seconds)
        if not done:
            running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running

    async def deliver_due(self, deliver: Deliver) -> int:
        """Send one batch of due events; the number delivered (0 if none or on failure)."""
        now = time.time_ns() // 1000
        async with self.database.transaction(write=False) as connection:
            rows = (
                await connection.execute(
                    select(audit_outbox)
                    .where(audit_outbox.c.next_attempt_at <= now)
                    .order_by(audit_outbox.c.seq)
                    .limit(self.batch_size)
                )
            ).all()
        if not rows:
            return 0
        try:
            await deliver([orjson.loads(row.payload) for row in rows])
        except Exception as error:  # the record is down or refused: keep, back off, retry
            await self._back_off(rows, str(error)[:500], now)
            return 0
        async with self.database.transaction(write=True) as connection:
            await connection.execute(
                delete(audit_outbox).where(audit_outbox.c.seq.in_([r.seq for r in rows]))
            )
        return len(rows)

    async def _back_off(self, rows: Sequence[Any], reason: str, now: int) -> None:
        log.warning("audit delivery failed; %d events kept for retry", len(rows))
        async with self.database.transaction(write=True) as connection:
            for row in rows:
                delay = min(1_000_000 * 2 ** min(row.attempts, 20), _MAX_BACKOFF_US)
                await connection.execute(
                    update(audit_outbox)
                    .where(audit_outbox.c.seq == row.seq)
                    .values(
                        attempts=row.attempts + 1, next_attempt_at=now + delay, last_error=reason
                    )
                )

    async def depth(self) -> int:
        """How many events wait to be delivered."""
        async with self.database.transaction(write=False) as connection:
            counted = await connection.execute(select(func.count()).select_from(audit_outbox))
            return int(counted.scalar_one())
