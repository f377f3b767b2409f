"""The single point of access's queue: routings waiting for a clinician, soonest deadline
first. The same Tasks are a FHIR search: ``Task?code=<task-code>|triage&status=requested``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.triage.routing import business_status, deadline_of, route_of
from shared.fhir.dates import stamp
from shared.fhir.terms import TASK_CODE, TRIAGE_TASK
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
AWAITING = frozenset({"auto-routed", "returned"})


async def waiting(client: FhirClient, *, now: datetime) -> dict[str, Any]:
    tasks = await client.search(
        "Task",
        [
            ("code", f"{TASK_CODE}|{TRIAGE_TASK}"),
            ("status", "requested,received,ready"),
            ("_count", "1000"),
        ],
    )
    queued = [t for t in tasks if business_status(t) in AWAITING]
    queued.sort(key=_soonest)
    return {"now": now.isoformat(timespec="seconds"), "waiting": [_item(t, now) for t in queued]}


def _item(task: Resource, now: datetime) -> dict[str, Any]:
    deadline = deadline_of(task)
    minutes_left = int((deadline - now).total_seconds() // 60) if deadline else None
    return {
        "task": f"Task/{task['id']}",
        "referral": task.get("focus", {}).get("reference"),
        "patient": task.get("for", {}).get("reference"),
        "route": route_of(task),
        "routed_to": task.get("owner", {}).get("display"),
        "priority": task.get("priority"),
        "status": business_status(task),
        "deadline": stamp(deadline) if deadline else None,
        "minutes_left": minutes_left,
    }


def _soonest(task: Resource) -> tuple[bool, datetime, str]:
    deadline = deadline_of(task)
    return (deadline is None, deadline or datetime.max.replace(tzinfo=UTC), task["id"])
