"""For services that receive the record's subscription notifications.

``read_notification`` understands the SubscriptionStatus Bundles the record sends;
``SeenEvents`` makes a receiver idempotent: delivery is at least once, so an event seen before
is recognised by its subscription and event number and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import BigInteger, Column, MetaData, PrimaryKeyConstraint, String, Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.errors import bad_request

metadata = MetaData()

received_event = Table(
    "received_event",
    metadata,
    Column("subscription_id", String(64), nullable=False),
    Column("event_number", BigInteger, nullable=False),
    Column("received_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("subscription_id", "event_number", name="pk_received_event"),
)


@dataclass(frozen=True, slots=True)
class Notification:
    subscription: str  # "Subscription/abc"
    kind: str  # handshake | heartbeat | event-notification
    event_number: int | None
    focus: str | None  # "Patient/1/_history/2"
    method: str | None  # POST | PUT | DELETE
    resource: dict[str, Any] | None  # when the subscription asked for full resources


def read_notification(body: bytes | dict[str, Any]) -> Notification:
    bundle = orjson.loads(body) if isinstance(body, bytes) else body
    entries = bundle.get("entry", []) if isinstance(bundle, dict) else []
    status = entries[0].get("resource", {}) if entries else {}
    if status.get("resourceType") != "SubscriptionStatus":
        raise bad_request("A notification is a Bundle starting with a SubscriptionStatus")
    events = status.get("notificationEvent") or [{}]
    focus_entry = entries[1] if len(entries) > 1 else {}
    number = events[0].get("eventNumber")
    return Notification(
        subscription=status.get("subscription", {}).get("reference", ""),
        kind=status.get("type", ""),
        event_number=int(number) if number is not None else None,
        focus=events[0].get("focus", {}).get("reference"),
        method=focus_entry.get("request", {}).get("method"),
        resource=focus_entry.get("resource"),
    )


class SeenEvents:
    """Which events a receiver has already handled, kept in its own database."""

    @staticmethod
    async def first_time(
        connection: AsyncConnection, notification: Notification, received_at: int
    ) -> bool:
        """True the first time an event arrives, False for every repeat."""
        if notification.event_number is None:
            return True
        try:
            async with connection.begin_nested():
                await connection.execute(
                    insert(received_event).values(
                        subscription_id=notification.subscription.removeprefix("Subscription/"),
                        event_number=notification.event_number,
                        received_at=received_at,
                    )
                )
        except IntegrityError:
            return False
        return True
