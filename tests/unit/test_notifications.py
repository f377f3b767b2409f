"""Receivers recognise repeats: delivery is at least once, handling is exactly once."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from shared.notifications import Notification, SeenEvents, metadata, read_notification


async def test_given_same_event_twice_when_received_then_second_is_a_repeat(
    tmp_path: Path,
) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'seen.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    event = Notification(
        "Subscription/s1", "event-notification", 7, "Patient/1/_history/2", "PUT", None
    )
    async with engine.begin() as connection:
        assert await SeenEvents.first_time(connection, event, 1)
        assert not await SeenEvents.first_time(connection, event, 2)
        other = Notification("Subscription/s1", "event-notification", 8, None, None, None)
        assert await SeenEvents.first_time(connection, other, 3)
    await engine.dispose()


def test_given_notification_bundle_when_read_then_event_focus_and_resource_found() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "history",
        "entry": [
            {
                "resource": {
                    "resourceType": "SubscriptionStatus",
                    "type": "event-notification",
                    "subscription": {"reference": "Subscription/s1"},
                    "notificationEvent": [
                        {"eventNumber": "3", "focus": {"reference": "Patient/1/_history/2"}}
                    ],
                }
            },
            {
                "fullUrl": "http://x/fhir/Patient/1",
                "resource": {"resourceType": "Patient"},
                "request": {"method": "PUT", "url": "Patient/1"},
            },
        ],
    }
    notification = read_notification(bundle)
    assert notification.event_number == 3
    assert notification.focus == "Patient/1/_history/2"
    assert notification.method == "PUT"
    assert notification.resource == {"resourceType": "Patient"}
