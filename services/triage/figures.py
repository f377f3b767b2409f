"""The single point of access's figures for a period, from the referrals and their triage
Tasks in the record (pure: ``services.triage.reporting`` reads them and renders the figures).

- referrals received in the period, by the channel they came by and the route they are on now;
- median minutes from receipt to the automatic routing, and to a clinician's decision
  (confirmed: the Task's ``lastModified``; overridden: the new routing's ``authoredOn``);
- the urgent community response standard: of the UCR referrals whose 2-hour deadline has
  passed or that were responded to, the share responded to in time. A team responds when it
  starts the visit: ``Task.executionPeriod.start`` (else, for a Task in progress or done, its
  ``lastModified``). The national standard is at least 70%;
- re-routes (a team sent a referral back, or a clinician overrode the route) and duplicates
  linked to an open referral (``services.triage.linking``) decided in the period.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Any

from services.triage.routing import business_status, deadline_of, received_at, route_of
from shared.fhir.dates import instant
from shared.fhir.terms import REFERRAL_CHANNEL_EXTENSION

Resource = dict[str, Any]
UCR = "urgent-community-response"
UCR_STANDARD = 0.70
RE_ROUTES = frozenset({"returned", "overridden"})
RESPONDED = frozenset({"in-progress", "completed"})


@dataclass(frozen=True, slots=True)
class ResponseStandard:
    due: int  # UCR referrals whose deadline has passed, or that were responded to
    in_time: int  # of those, responded to by the deadline
    standard: float = UCR_STANDARD

    @property
    def share(self) -> float | None:
        return self.in_time / self.due if self.due else None


@dataclass(frozen=True, slots=True)
class SpaFigures:
    start: datetime  # inclusive
    end: datetime  # exclusive
    referrals: int
    by_channel: dict[str, int]
    by_route: dict[str, int]
    median_minutes_to_routing: float | None
    median_minutes_to_clinical_triage: float | None
    clinically_triaged: int
    ucr: ResponseStandard
    re_routes: int
    duplicates_linked: int


def spa_figures(
    referrals: Iterable[Resource],
    tasks: Iterable[Resource],
    *,
    start: datetime,
    end: datetime,
    now: datetime,
) -> SpaFigures:
    """The figures for referrals received in [start, end) and routings decided in it."""
    by_referral: dict[str, list[Resource]] = {}
    for task in sorted(tasks, key=lambda t: (str(t.get("authoredOn")), str(t.get("id")))):
        by_referral.setdefault(str((task.get("focus") or {}).get("reference")), []).append(task)
    received = {f"ServiceRequest/{r['id']}": r for r in referrals if start <= received_at(r) < end}
    routed = {ref: by_referral.get(ref, []) for ref in received}
    decided = [t for t in _flatten(by_referral.values()) if start <= _authored(t) < end]
    to_clinician = _minutes(received, routed, _clinical_decision)
    return SpaFigures(
        start=start,
        end=end,
        referrals=len(received),
        by_channel=dict(Counter(_channel(r) for r in received.values())),
        by_route=dict(
            Counter(
                (route_of(ts[-1]) or "unknown") if ts else "not-yet-routed"
                for ts in routed.values()
            )
        ),
        median_minutes_to_routing=_median(_minutes(received, routed, _first_routing)),
        median_minutes_to_clinical_triage=_median(to_clinician),
        clinically_triaged=len(to_clinician),
        ucr=_ucr_response(routed, now=now),
        re_routes=sum(business_status(t) in RE_ROUTES for t in decided),
        duplicates_linked=sum(business_status(t) == "linked" for t in decided),
    )


def _minutes(
    received: dict[str, Resource],
    routed: dict[str, list[Resource]],
    moment_of: Any,
) -> list[float]:
    minutes = []
    for reference, referral in received.items():
        moment = moment_of(routed[reference])
        if moment is not None:
            minutes.append((moment - received_at(referral)).total_seconds() / 60)
    return minutes


def _first_routing(tasks: list[Resource]) -> datetime | None:
    return _authored(tasks[0]) if tasks else None


def _clinical_decision(tasks: list[Resource]) -> datetime | None:
    moments = [
        instant(str(t["lastModified"]))
        for t in tasks
        if business_status(t) == "confirmed" and t.get("lastModified")
    ]
    moments += [_authored(t) for t in tasks if business_status(t) == "overridden"]
    return min(moments, default=None)


def _ucr_response(routed: dict[str, list[Resource]], *, now: datetime) -> ResponseStandard:
    due = in_time = 0
    for tasks in routed.values():
        ucr = [
            t for t in tasks if (route_of(t) or "unknown") == UCR and business_status(t) != "linked"
        ]
        deadline = deadline_of(ucr[0]) if ucr else None
        if deadline is None:
            continue
        responses = [moment for moment in map(_responded_at, ucr) if moment is not None]
        responded = min(responses, default=None)
        if responded is None and deadline > now:
            continue  # still on the clock: neither met nor missed yet
        due += 1
        in_time += responded is not None and responded <= deadline
    return ResponseStandard(due=due, in_time=in_time)


def _responded_at(task: Resource) -> datetime | None:
    started = (task.get("executionPeriod") or {}).get("start")
    if started:
        return instant(str(started))
    if task.get("status") in RESPONDED and task.get("lastModified"):
        return instant(str(task["lastModified"]))
    return None


def _channel(referral: Resource) -> str:
    for extension in referral.get("extension") or []:
        if extension.get("url") == REFERRAL_CHANNEL_EXTENSION:
            return str((extension.get("valueCoding") or {}).get("code") or "unknown")
    return "unknown"


def _current_route(tasks: list[Resource]) -> str:
    return (route_of(tasks[-1]) or "unknown") if tasks else "not-yet-routed"


def _authored(task: Resource) -> datetime:
    return instant(str(task["authoredOn"]))


def _median(values: list[float]) -> float | None:
    return round(median(values), 1) if values else None


def _flatten(groups: Iterable[list[Resource]]) -> list[Resource]:
    return [item for group in groups for item in group]
