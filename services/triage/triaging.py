"""Primary triage on arrival, re-routing what a team sends back, and a clinician's decision.

Each step reads through the gateway, decides with the pure parts (``rules``, ``directory``,
``routing``) and writes one transaction. Notifications come at least once: a referral that
already has its triage Task is left alone, so a repeat changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from services.triage import directory, linking, rules
from services.triage.facts import Decision
from services.triage.gathering import Referral, gather
from services.triage.routing import (
    OPEN_TASK,
    STATUSES,
    TRIAGE_STATUS,
    Destination,
    is_referral,
    routed_task,
    routing_entries,
    updated_referral,
)
from shared.errors import FhirError
from shared.fhir.dates import stamp
from shared.fhir.entries import guarded_put, location, unversioned
from shared.fhir.terms import (
    EPISODE_TYPE,
    PROACTIVE_CASE_MANAGEMENT,
    TASK_CODE,
    TRIAGE_ROUTES,
    TRIAGE_TASK,
    coding,
)
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
Clock = Callable[[], datetime]
NO_SERVICE_ROUTES = frozenset({"emergency"})  # advice given; nobody to send it to


@dataclass
class Triage:
    client: FhirClient
    table: rules.DecisionTable
    clock: Clock
    deadlines: dict[str, int]

    async def referral_arrived(self, request_id: str) -> Resource | None:
        """Triage a new referral once; the Task it was routed with (None if done before)."""
        if await self._tasks_for(request_id):
            return None
        referral = await gather(self.client, request_id, today=self.clock().date())
        if not is_referral(referral.request):
            return None  # an order between services, not a referral to the single point of access
        decision = rules.decide(self.table, referral.facts, deadline_overrides=self.deadlines)
        if decision.route not in NO_SERVICE_ROUTES:
            open_routing = await self._open_routing_for_same_need(referral, decision.route)
            if open_routing is not None:
                return await self._link(referral.request, decision, open_routing)
        destination = await self._destination(referral, decision)
        return await self._route(referral.request, decision, destination, "auto-routed", 1)

    async def clinician_decided(
        self, request_id: str, *, route: str | None, reason: str | None, clinician: str
    ) -> Resource:
        """Confirm the open routing (no route), or route again to ``route`` with a reason."""
        tasks = await self._tasks_for(request_id)
        open_tasks = [t for t in tasks if t.get("status") in OPEN_TASK.split(",")]
        if route is None:
            if not open_tasks:
                raise FhirError(409, f"ServiceRequest/{request_id} has no open routing to confirm")
            return await self._mark(open_tasks[0], "confirmed", f"Confirmed by {clinician}")
        if not reason:
            raise FhirError(422, "Overriding the triage decision needs a reason", code="required")
        referral = await gather(self.client, request_id, today=self.clock().date())
        decision = self._overridden(referral, route, reason)
        destination = await self._destination(referral, decision)
        why = f"Overridden by {clinician}: {reason}"
        return await self._route(
            referral.request,
            decision,
            destination,
            "overridden",
            len(tasks) + 1,
            closing=[(task, _cancelled(task, why)) for task in open_tasks],
        )

    async def task_rejected(self, task_id: str) -> Resource | None:
        """A team sent a referral back: it returns to the single point of access's queue for
        clinical re-routing (never to the person), with the team's reason."""
        task = await self.client.read(f"Task/{task_id}")
        request_id = str(task["focus"]["reference"]).removeprefix("ServiceRequest/")
        tasks = await self._tasks_for(request_id)
        if any(t.get("status") in OPEN_TASK.split(",") for t in tasks):
            return None  # already re-routed (a repeated notification)
        why = (task.get("statusReason") or {}).get("text") or "no reason given"
        referral = await gather(self.client, request_id, today=self.clock().date())
        decision = Decision(
            route="clinical-review",
            priority=str(task.get("priority") or "routine"),
            respond_within_minutes=self.table.deadline("clinical-review", self.deadlines),
            table_version=self.table.version,
            fired=(),
            reasons=(f"Returned by {task.get('owner', {}).get('display', 'the team')}: {why}",),
        )
        destination = await self._destination(referral, decision)
        return await self._route(
            referral.request, decision, destination, "returned", len(tasks) + 1
        )

    # --- Steps --------------------------------------------------------------------------------

    async def _destination(self, referral: Referral, decision: Decision) -> Destination:
        if decision.route in NO_SERVICE_ROUTES:
            return Destination(None, TRIAGE_ROUTES[decision.route])
        if decision.route == PROACTIVE_CASE_MANAGEMENT and referral.facts.on_caseload:
            team = await self._own_team(referral)
            if team is not None:
                return team
        services = await self.client.search(
            "HealthcareService", [("active", "true"), ("_count", "500")]
        )
        postcode = _postcode(referral.patient)
        chosen = directory.choose_service(
            services,
            route=decision.route,
            age=referral.facts.age,
            postcode=postcode,
            at=self.clock(),
        )
        if chosen.service is None:
            raise FhirError(
                503,
                f"No service, not even a fallback, takes {decision.route} referrals",
                code="transient",
            )
        return Destination(
            f"HealthcareService/{chosen.service['id']}",
            str(chosen.service.get("name") or decision.route),
            fallback=chosen.fallback,
            reasons=tuple(chosen.reasons),
        )

    async def _open_routing_for_same_need(self, referral: Referral, route: str) -> Resource | None:
        tasks = await self.client.search(
            "Task",
            [
                ("patient", referral.request["subject"]["reference"]),
                ("code", f"{TASK_CODE}|{TRIAGE_TASK}"),
                ("status", OPEN_TASK),
                ("_count", "100"),
            ],
        )
        return linking.open_routing_for_same_need(
            tasks, request_id=referral.request["id"], route=route
        )

    async def _link(
        self, request: Resource, decision: Decision, open_routing: Resource
    ) -> Resource:
        """No wrong door: the need already has an open referral; link this one to it."""
        open_referral = await self.client.read(open_routing["focus"]["reference"])
        entries = linking.linking_entries(
            request, decision, open_routing, open_referral, now=self.clock()
        )
        return await self._written_task(entries)

    async def _own_team(self, referral: Referral) -> Destination | None:
        """A person on a caseload goes to their own case manager's team first."""
        patient = referral.request["subject"]["reference"]
        episodes = await self.client.search(
            "EpisodeOfCare",
            [
                ("patient", patient),
                ("status", "active"),
                ("type", f"{EPISODE_TYPE}|{PROACTIVE_CASE_MANAGEMENT}"),
            ],
        )
        for episode in episodes:
            for team in episode.get("team") or []:
                if team.get("reference"):
                    name = team.get("display") or "their neighbourhood team"
                    return Destination(
                        team["reference"], str(name), reasons=("already on this team's caseload",)
                    )
        return None

    async def _route(
        self,
        request: Resource,
        decision: Decision,
        destination: Destination,
        status: str,
        sequence: int,
        *,
        closing: Sequence[tuple[Resource, Resource]] = (),
    ) -> Resource:
        """Write the routing; ``closing`` (each open routing and its closed form) goes in the
        same transaction, so a routing is never closed without its successor."""
        now = self.clock()
        task = routed_task(
            request, decision, destination, status=status, sequence=sequence, now=now
        )
        referral = updated_referral(request, decision, destination)
        entries = routing_entries(request, task, referral)
        entries += [guarded_put(closed, current) for current, closed in closing]
        return await self._written_task(entries)

    async def _written_task(self, entries: list[Resource]) -> Resource:
        """Write one transaction whose first entry is a Task; that Task as stored."""
        answer = await self.client.transaction(entries)
        return await self.client.read(location(answer["entry"][0]))

    async def _tasks_for(self, request_id: str) -> list[Resource]:
        return await self.client.search(
            "Task",
            [
                ("focus", f"ServiceRequest/{request_id}"),
                ("code", f"{TASK_CODE}|{TRIAGE_TASK}"),
                ("_sort", "-authored-on"),
                ("_count", "100"),
            ],
        )

    async def _mark(self, task: Resource, status: str, note: str) -> Resource:
        updated = unversioned(task)
        updated["businessStatus"] = {
            "coding": [coding(TRIAGE_STATUS, status, STATUSES[status])],
            "text": note,
        }
        updated["note"] = [*(task.get("note") or []), {"text": note, "time": stamp(self.clock())}]
        updated["lastModified"] = stamp(self.clock())  # when the clinician decided
        return await self.client.update(updated, if_match=f'W/"{task["meta"]["versionId"]}"')

    def _overridden(self, referral: Referral, route: str, reason: str) -> Decision:
        if route not in TRIAGE_ROUTES:
            raise FhirError(422, f"{route!r} is not a route: use one of {', '.join(TRIAGE_ROUTES)}")
        automatic = rules.decide(self.table, referral.facts, deadline_overrides=self.deadlines)
        return replace(
            automatic,
            route=route,
            respond_within_minutes=self.table.deadline(route, self.deadlines),
            reasons=(f"Clinician's decision: {reason}",),
        )


def _cancelled(task: Resource, reason: str) -> Resource:
    cancelled = unversioned(task)
    cancelled["status"] = "cancelled"
    cancelled["statusReason"] = {"text": reason}
    return cancelled


def _postcode(patient: Resource) -> str | None:
    for address in patient.get("address") or []:
        if address.get("postalCode"):
            return str(address["postalCode"])
    return None
