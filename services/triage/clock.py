"""The response clock: routings near their deadline, and those past it.

A routing past its deadline (``restriction.period.end``) and still open raises an escalation
Task (once: its identifier names the routing), owned by the same team, which subscribers to
Tasks see like any other, and counts in the metric ``onestory.triage.breaches`` (new breaches,
by route). The observable gauge ``onestory.triage.breached`` says how many open routings are
past their deadline now, by route: for urgent community response, those not seen within the
national 2-hour standard. The service looks every minute; ``GET /triage/breaches`` looks at
once and lists them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from opentelemetry import metrics

from services.triage.routing import OPEN_TASK, deadline_of, route_of
from shared.fhir.dates import stamp
from shared.fhir.terms import BASE, TASK_CODE, TRIAGE_TASK, coding
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
ESCALATION = "escalation"
ESCALATION_ID = f"{BASE}/Id/triage-escalation"
WARNING = timedelta(minutes=30)
_meter = metrics.get_meter("onestory.triage")
_breaches = _meter.create_counter(
    "onestory.triage.breaches", description="Routings found past their response deadline"
)


class _Breached:
    """Open routings past their deadline, by route, as last counted (for the gauge)."""

    def __init__(self) -> None:
        self.by_route: dict[str, int] = {}

    def count(self, tasks: Iterable[Resource]) -> None:
        # Routes counted before stay, at 0, so the gauge falls rather than going silent.
        counted = Counter(route_of(task) or "unknown" for task in tasks)
        self.by_route = {route: counted[route] for route in {*self.by_route, *counted}}

    def observe(self, _options: Any) -> list[metrics.Observation]:
        return [metrics.Observation(n, {"route": r}) for r, n in self.by_route.items()]


_breached = _Breached()
_meter.create_observable_gauge(
    "onestory.triage.breached",
    callbacks=[_breached.observe],
    description="Open routings past their response deadline now",
)


async def breaches(client: FhirClient, *, now: datetime) -> dict[str, Any]:
    """Open routings past their deadline (each escalated once) and within ``WARNING`` of it."""
    tasks = await client.search(
        "Task",
        [("code", f"{TASK_CODE}|{TRIAGE_TASK}"), ("status", OPEN_TASK), ("_count", "1000")],
    )
    breached, near = [], []
    for task in tasks:
        deadline = deadline_of(task)
        if deadline is None:
            continue
        if deadline <= now:
            breached.append(task)
        elif deadline - now <= WARNING:
            near.append(task)
    _breached.count(breached)
    for task in breached:
        await _escalate(client, task, now)
    return {
        "now": stamp(now),
        "breached": [_item(t, now) for t in sorted(breached, key=_sort_key)],
        "near": [_item(t, now) for t in sorted(near, key=_sort_key)],
    }


async def _escalate(client: FhirClient, task: Resource, now: datetime) -> None:
    condition = f"identifier={ESCALATION_ID}|{task['id']}"
    escalation = {
        "resourceType": "Task",
        "identifier": [{"system": ESCALATION_ID, "value": task["id"]}],
        "status": "requested",
        "intent": "order",
        "priority": "stat",
        "code": {"coding": [coding(TASK_CODE, ESCALATION, "Escalation: response deadline passed")]},
        "partOf": [{"reference": f"Task/{task['id']}"}],
        "focus": task.get("focus"),
        "for": task.get("for"),
        "authoredOn": stamp(now),
        "description": f"The response deadline ({task['restriction']['period']['end']}) passed",
        **({"owner": task["owner"]} if task.get("owner") else {}),
    }
    answer = await client.request(
        "POST", "Task", body=escalation, headers={"If-None-Exist": condition}
    )
    if answer.status_code == 201:
        _breaches.add(1, {"route": route_of(task) or "unknown"})


def _item(task: Resource, now: datetime) -> dict[str, Any]:
    deadline = deadline_of(task)
    assert deadline is not None
    return {
        "task": f"Task/{task['id']}",
        "referral": (task.get("focus") or {}).get("reference"),
        "routed_to": (task.get("owner") or {}).get("display"),
        "deadline": stamp(deadline),
        "minutes_over": int((now - deadline).total_seconds() // 60),
    }


def _sort_key(task: Resource) -> datetime:
    deadline = deadline_of(task)
    assert deadline is not None
    return deadline
