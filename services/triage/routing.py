"""Routing a referral: the Task a receiving service gets, and the referral updated to match.

A decision becomes a transaction through the gateway (one Provenance for all of it):
- the Task: focus = the referral, owner = the chosen HealthcareService (or the person's own
  caseload team), priority, ``restriction.period.end`` = the response deadline counted from
  the referral's received time, and ``input`` recording the decision table's version, the
  rules that fired and their reasons; its identifier makes a repeated notification harmless;
- the referral: priority and performer, guarded by its version (If-Match).
Pure: ``routed_task`` and ``updated_referral`` build what ``route`` writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.triage.facts import Decision
from shared.fhir.dates import instant, stamp
from shared.fhir.entries import created_once, guarded_put, unversioned
from shared.fhir.terms import (
    BASE,
    REFERRAL_CATEGORY,
    SNOMED,
    TASK_CODE,
    TRIAGE_ROUTE,
    TRIAGE_ROUTES,
    TRIAGE_TASK,
    code_system,
    coding,
    has_coding,
)

Resource = dict[str, Any]
TRIAGE_TASK_ID = f"{BASE}/Id/triage-task"
TRIAGE_STATUS = code_system("triage-status")
TRIAGE_INPUT = code_system("triage-input")
RECEIVED_EXTENSION = f"{BASE}/StructureDefinition/referral-received"
STATUSES = {
    "auto-routed": "Routed automatically: awaiting clinical confirmation",
    "confirmed": "Confirmed by a clinician",
    "overridden": "Routed by a clinician",
    "returned": "Returned by the receiving team: awaiting re-routing",
    "advised-emergency": "Advised to call 999 or go to the emergency department",
    "linked": "Linked to an open referral for the same need",
}
OPEN_TASK = "requested,received,accepted,ready,in-progress,on-hold"


@dataclass(frozen=True, slots=True)
class Destination:
    owner: str | None  # "HealthcareService/ucr", "CareTeam/south", None for advice only
    owner_name: str
    fallback: bool = False
    reasons: tuple[str, ...] = ()  # why other services were passed over


def is_referral(request: Resource) -> bool:
    """Is this ServiceRequest a referral to the single point of access (its category)?"""
    return has_coding(request.get("category") or [], SNOMED, REFERRAL_CATEGORY["code"])


def received_at(request: Resource) -> datetime:
    """When the referral reached the single point of access: its stamp (set by the intake, or
    by the first routing), else when the record first stored it, else when it was authored."""
    for extension in request.get("extension") or []:
        if extension.get("url") == RECEIVED_EXTENSION and extension.get("valueDateTime"):
            return instant(extension["valueDateTime"])
    meta = request.get("meta") or {}
    if meta.get("versionId") == "1" and meta.get("lastUpdated"):
        return instant(str(meta["lastUpdated"]))
    return instant(str(request.get("authoredOn") or meta.get("lastUpdated")))


def routed_task(
    request: Resource,
    decision: Decision,
    destination: Destination,
    *,
    status: str,
    sequence: int,
    now: datetime,
) -> Resource:
    """The Task that routes ``request`` as ``decision`` says (``sequence`` counts routings)."""
    task: Resource = {
        "resourceType": "Task",
        "identifier": [{"system": TRIAGE_TASK_ID, "value": f"{request['id']}/{sequence}"}],
        "status": "completed" if destination.owner is None else "requested",
        "businessStatus": {
            "coding": [coding(TRIAGE_STATUS, status, STATUSES[status])],
            "text": f"{STATUSES[status]}: {destination.owner_name}",
        },
        "intent": "order",
        "priority": decision.priority,
        "code": {"coding": [coding(TASK_CODE, TRIAGE_TASK, "Triage")]},
        "focus": {"reference": f"ServiceRequest/{request['id']}"},
        "for": request.get("subject"),
        "authoredOn": stamp(now),
        "reasonCode": {
            "coding": [coding(TRIAGE_ROUTE, decision.route, TRIAGE_ROUTES[decision.route])],
            "text": " ".join(decision.reasons) or TRIAGE_ROUTES[decision.route],
        },
        "input": _decision_inputs(decision, destination),
    }
    if destination.owner is not None:
        task["owner"] = {"reference": destination.owner, "display": destination.owner_name}
    if decision.respond_within_minutes is not None:
        deadline = received_at(request) + timedelta(minutes=decision.respond_within_minutes)
        task["restriction"] = {"period": {"end": stamp(deadline)}}
    if decision.advice:
        task["note"] = [{"text": f"Advised: {decision.advice}"}]
    return task


def updated_referral(request: Resource, decision: Decision, destination: Destination) -> Resource:
    """The referral as routed: active, its priority and performer, and its received time kept
    (the deadline is counted from it)."""
    updated = unversioned(request)
    updated["status"] = "active"
    updated["priority"] = decision.priority
    if not any(e.get("url") == RECEIVED_EXTENSION for e in updated.get("extension") or []):
        received = {"url": RECEIVED_EXTENSION, "valueDateTime": stamp(received_at(request))}
        updated["extension"] = [*(updated.get("extension") or []), received]
    if destination.owner is not None:
        updated["performer"] = [{"reference": destination.owner, "display": destination.owner_name}]
    return updated


def routing_entries(request: Resource, task: Resource, referral: Resource) -> list[Resource]:
    """The transaction's entries: the Task (once: by its identifier), the referral (only if
    nobody changed it meanwhile)."""
    return [created_once(task, "urn:uuid:triage-task"), guarded_put(referral, request)]


def _decision_inputs(decision: Decision, destination: Destination) -> list[Resource]:
    def given(kind: str, value: str) -> Resource:
        return {"type": {"coding": [coding(TRIAGE_INPUT, kind)]}, "valueString": value}

    inputs = [given("decision-table-version", decision.table_version)]
    inputs += [given("rule-fired", rule) for rule in decision.fired]
    inputs += [given("reason", reason) for reason in decision.reasons]
    if destination.fallback:
        inputs.append(given("fallback", "; ".join(destination.reasons) or "no service was open"))
    return inputs


def deadline_of(task: Resource) -> datetime | None:
    """When a routing must be responded to (``restriction.period.end``)."""
    end = ((task.get("restriction") or {}).get("period") or {}).get("end")
    return instant(str(end)) if end else None


def business_status(task: Resource) -> str | None:
    """Where a routing stands for the single point of access (a STATUSES code)."""
    return _code(task.get("businessStatus") or {}, TRIAGE_STATUS)


def route_of(task: Resource) -> str | None:
    """The route a routing Task sends its referral on (a TRIAGE_ROUTES code)."""
    return _code(task.get("reasonCode") or {}, TRIAGE_ROUTE)


def _code(concept: Resource, system: str) -> str | None:
    for found in concept.get("coding") or []:
        if found.get("system") == system and found.get("code"):
            return str(found["code"])
    return None
