"""No wrong door: a second referral for a need that already has an open referral is linked to
it, not routed twice.

"The same need" is the same person and the same route while the first referral's routing is
still open. The second referral then gets:
- a completed triage Task recording the decision and the link (``partOf`` the open routing), so
  a repeated notification changes nothing and the figures count it;
- status ``revoked`` with a note naming the open referral: nobody acts on it separately;
and the open referral gets the new one as ``supportingInfo``, its routing a note for the
receiving team, and the referrer a Communication saying where the need already is.
Pure: these functions build what ``Triage`` writes in one transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.triage.facts import Decision
from services.triage.routing import (
    OPEN_TASK,
    STATUSES,
    TRIAGE_INPUT,
    Destination,
    deadline_of,
    received_at,
    routed_task,
)
from shared.fhir.dates import stamp
from shared.fhir.entries import created_once, guarded_put, unversioned
from shared.fhir.terms import BASE, TRIAGE_ROUTE, has_coding

Resource = dict[str, Any]
LINK_NOTICE_ID = f"{BASE}/Id/referral-link-notice"


def open_routing_for_same_need(
    tasks: list[Resource], *, request_id: str, route: str
) -> Resource | None:
    """The person's open routing on ``route`` for another referral, oldest first."""
    same_need = [
        task
        for task in tasks
        if task.get("status") in OPEN_TASK.split(",")
        and (task.get("focus") or {}).get("reference") != f"ServiceRequest/{request_id}"
        and has_coding(task.get("reasonCode") or {}, TRIAGE_ROUTE, route)
    ]
    same_need.sort(key=lambda task: (str(task.get("authoredOn") or ""), str(task.get("id"))))
    return same_need[0] if same_need else None


def linking_entries(
    request: Resource,
    decision: Decision,
    open_routing: Resource,
    open_referral: Resource,
    *,
    now: datetime,
) -> list[Resource]:
    """The transaction that links ``request`` to ``open_referral`` (routed by ``open_routing``)."""
    return [
        created_once(_linked_task(request, decision, open_routing, now=now), "urn:uuid:task"),
        guarded_put(_revoked(request, open_referral, now=now), request),
        guarded_put(_with_supporting(open_referral, request), open_referral),
        guarded_put(_noted(open_routing, request, now=now), open_routing),
        created_once(referrer_notice(request, open_routing, now=now), "urn:uuid:notice"),
    ]


def referrer_notice(request: Resource, open_routing: Resource, *, now: datetime) -> Resource:
    """What the referrer is told: the need is already with a team, and by when it is due."""
    team = (open_routing.get("owner") or {}).get("display") or "the team it was routed to"
    deadline = deadline_of(open_routing)
    due = f", to be responded to by {stamp(deadline)}" if deadline else ""
    open_referral = open_routing["focus"]["reference"]
    notice: Resource = {
        "resourceType": "Communication",
        "identifier": [{"system": LINK_NOTICE_ID, "value": request["id"]}],
        "status": "completed",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/communication-category",
                        "code": "notification",
                    }
                ]
            }
        ],
        "subject": request.get("subject"),
        "basedOn": [{"reference": f"ServiceRequest/{request['id']}"}],
        "about": [{"reference": open_referral}, {"reference": f"Task/{open_routing['id']}"}],
        "sent": stamp(now),
        "sender": {"display": "OneStory single point of access"},
        "payload": [
            {
                "contentString": (
                    "This referral was linked to an open referral for the same need "
                    f"({open_referral}), already with {team}{due}. It was not sent on a second "
                    "time; anything new in it has been passed to that team."
                )
            }
        ],
    }
    if request.get("requester"):
        notice["recipient"] = [request["requester"]]
    return notice


def _linked_task(
    request: Resource, decision: Decision, open_routing: Resource, *, now: datetime
) -> Resource:
    owner = open_routing.get("owner") or {}
    destination = Destination(owner.get("reference"), str(owner.get("display") or "their team"))
    task = routed_task(request, decision, destination, status="linked", sequence=1, now=now)
    task["status"] = "completed"
    task["partOf"] = [{"reference": f"Task/{open_routing['id']}"}]
    task.pop("restriction", None)  # the open routing's deadline stands
    task["input"].append(
        {
            "type": {"coding": [{"system": TRIAGE_INPUT, "code": "linked-to"}]},
            "valueReference": open_routing["focus"],
        }
    )
    return task


def _revoked(request: Resource, open_referral: Resource, *, now: datetime) -> Resource:
    revoked = unversioned(request)
    revoked["status"] = "revoked"
    note = {
        "text": f"{STATUSES['linked']}: ServiceRequest/{open_referral['id']}",
        "time": stamp(now),
    }
    revoked["note"] = [*(request.get("note") or []), note]
    return revoked


def _with_supporting(open_referral: Resource, request: Resource) -> Resource:
    updated = unversioned(open_referral)
    link = {"reference": f"ServiceRequest/{request['id']}", "display": "A later referral"}
    updated["supportingInfo"] = [*(open_referral.get("supportingInfo") or []), link]
    return updated


def _noted(open_routing: Resource, request: Resource, *, now: datetime) -> Resource:
    updated = unversioned(open_routing)
    note = {
        "text": (
            f"Another referral for the same need (ServiceRequest/{request['id']}, received "
            f"{stamp(received_at(request))}) was linked to this one."
        ),
        "time": stamp(now),
    }
    updated["note"] = [*(open_routing.get("note") or []), note]
    return updated
