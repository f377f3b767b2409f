"""What a subscriber receives: R4B SubscriptionStatus notification Bundles (the topic-based
backport's shape), carrying nothing, the resource's id, or the resource itself."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

from services.record.subscriptions.spec import SubscriptionSpec
from shared.fhir.dates import micros_to_instant

_METHOD = {"create": "POST", "update": "PUT", "delete": "DELETE"}
_STATUS = {"create": "201", "update": "200", "delete": "204"}


def _status(
    spec: SubscriptionSpec,
    kind: str,
    events: int,
    notification_events: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "resourceType": "SubscriptionStatus",
        "status": spec.status if spec.status != "requested" else "active",
        "type": kind,
        "eventsSinceSubscriptionStart": str(events),
        "subscription": {"reference": f"Subscription/{spec.id}"},
    }
    if notification_events:
        status["notificationEvent"] = notification_events
    return status


def _bundle(status: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "history",
        "timestamp": micros_to_instant(time.time_ns() // 1000),
        "entry": [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": status}, *entries],
    }


def handshake(spec: SubscriptionSpec, events: int) -> bytes:
    return orjson.dumps(_bundle(_status(spec, "handshake", events), []))


def event(spec: SubscriptionSpec, event_row: Any, content: str | None, base_url: str) -> bytes:
    """One event: its number and focus, and as much of the resource as the subscriber asked."""
    reference = f"{event_row.resource_type}/{event_row.resource_id}"
    notification = {
        "eventNumber": str(event_row.event_number),
        "timestamp": micros_to_instant(event_row.committed_at),
        "focus": {"reference": f"{reference}/_history/{event_row.version}"},
    }
    status = _status(spec, "event-notification", event_row.event_number, [notification])
    entries: list[dict[str, Any]] = []
    if spec.content != "empty":
        entry: dict[str, Any] = {"fullUrl": f"{base_url}/{reference}"}
        if spec.content == "full-resource" and content:
            entry["resource"] = orjson.Fragment(content)
        entry["request"] = {"method": _METHOD[event_row.method], "url": reference}
        entry["response"] = {"status": _STATUS[event_row.method]}
        entries.append(entry)
    return orjson.dumps(_bundle(status, entries))
