"""``Subscription/{id}/$status``: how a subscription's delivery is going (R4B backport)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select
from starlette.responses import Response

from services.record import reading
from services.record.context import Ctx, resource_id_of
from shared.storage.schema import subscription_event, subscription_state

router = APIRouter(prefix="/fhir")
# How many notifications wait for delivery: what a partner checks when theirs stop arriving.
WAITING = "https://onestory.example.nhs.uk/StructureDefinition/notifications-waiting"


@router.get("/Subscription/{subscription_id}/$status")
async def subscription_status(subscription_id: str, ctx: Ctx) -> Response:
    rid = resource_id_of(subscription_id)
    async with ctx.database.transaction(write=False) as connection:
        stored = await reading.read(connection, "Subscription", rid)
        state = (
            await connection.execute(
                select(subscription_state).where(subscription_state.c.subscription_id == rid)
            )
        ).first()
        waiting = (
            await connection.execute(
                select(func.count())
                .select_from(subscription_event)
                .where(subscription_event.c.subscription_id == rid)
            )
        ).scalar()
    subscription = stored.resource()
    status: dict[str, Any] = {
        "resourceType": "SubscriptionStatus",
        "status": subscription.get("status"),
        "type": "query-status",
        "eventsSinceSubscriptionStart": str(state.events_since_start if state else 0),
        "subscription": {"reference": f"Subscription/{rid}"},
        "extension": [{"url": WAITING, "valueInteger": int(waiting or 0)}],
    }
    if state is not None and state.last_error and state.failures:
        status["error"] = [{"text": state.last_error}]
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [
            {
                "fullUrl": f"{ctx.base_url}/Subscription/{rid}/$status",
                "resource": status,
                "search": {"mode": "match"},
            }
        ],
        "extension": [
            {
                "url": "https://onestory.example.nhs.uk/StructureDefinition/notifications-waiting",
                "valueInteger": int(waiting or 0),
            }
        ],
    }
    return ctx.fmt.response(bundle)
