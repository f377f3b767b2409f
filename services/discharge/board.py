"""The discharge hub's live board: everyone waiting, on which pathway, for how long since their
discharge ready date, what holds them up and what comes next; counts per pathway; who is
waiting for capacity; assessments after discharge due and overdue.

``row_facts`` and ``shown`` are pure; the read model (``services.discharge.readmodel``) keeps
each episode's facts in the service's own tables and pages, filters and counts them there. The
same facts are FHIR searches:
``EpisodeOfCare?type=...|discharge-to-assess&status=active&_revinclude=Encounter:episode-of-care``
and ``Task?code=...|d2a-assessment&status=requested,in-progress``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.discharge import delays, journey, readiness
from shared.errors import bad_request
from shared.fhir.dates import instant, stamp
from shared.fhir.terms import (
    D2A_DELAY_REASONS,
    D2A_PATHWAYS,
    D2A_STATES,
)

Resource = dict[str, Any]
FILTERS = ("ward", "pathway", "status", "delay")
PAGING = ("_count", "page")
LISTED = 100  # assessments shown in each list (the soonest due); the counts cover them all


@dataclass(frozen=True, slots=True)
class Page:
    count: int = 100  # people waiting per page
    number: int = 1


def read_page(params: Mapping[str, str]) -> Page:
    """Which page of the people waiting: ``_count`` (1 to 500) and ``page`` (from 1)."""
    found = {}
    for name, key, high in (("_count", "count", 500), ("page", "number", 100_000)):
        if params.get(name):
            try:
                found[key] = int(params[name])
            except ValueError as error:
                raise bad_request(f"{name} must be a whole number") from error
            if not 1 <= found[key] <= high:
                raise bad_request(f"{name} must be from 1 to {high}")
    return Page(**found)


def read_filters(params: Mapping[str, str]) -> dict[str, str]:
    """The board's filters; 400 for a pathway, status or delay reason that does not exist."""
    filters = {name: params[name] for name in FILTERS if params.get(name)}
    known = {"pathway": D2A_PATHWAYS, "status": D2A_STATES, "delay": D2A_DELAY_REASONS}
    for name, codes in known.items():
        if name in filters and filters[name] not in codes:
            raise bad_request(f"{filters[name]!r} is not a {name}: use one of {', '.join(codes)}")
    return filters


def row_facts(episode: Resource, spell: Resource | None) -> Resource:
    """What the board shows of one episode that does not change with the time of day: kept in
    the read model, so the board never reads the record."""
    ready = journey.ready_date(episode)
    checked = readiness.last_checked(episode)
    delay = delays.current_delay(episode)
    return {
        "episode": f"EpisodeOfCare/{episode['id']}",
        "patient": episode["patient"]["reference"],
        "ward": _ward(spell),
        "pathway": journey.pathway_of(episode),
        "status": journey.state_of(episode),
        "discharge_ready_date": stamp(ready) if ready else None,
        "delay": delay.reason if delay else None,
        "criteria_checked": stamp(checked) if checked else None,
        "delays": [
            [d.reason, stamp(d.start), stamp(d.end) if d.end else None]
            for d in delays.delays_of(episode)
        ],
        "next": list(journey.allowed_after(episode)),
    }


def shown(facts: Resource, now: datetime) -> Resource:
    """A row as the board shows it now: days since the discharge ready date, whether today's
    check of the criteria is due, and the days of delay by reason so far."""
    row = {k: v for k, v in facts.items() if k != "delays"}
    ready, checked = facts["discharge_ready_date"], facts["criteria_checked"]
    row["days_since_ready"] = round(_days(ready, now), 1) if ready else None
    row["recheck_due"] = checked is None or _days(checked, now) >= 1
    by_reason: dict[str, float] = {}
    for reason, start, end in facts["delays"]:
        until = instant(end) if end else now
        days = max(0.0, (until - instant(start)).total_seconds() / 86400)
        by_reason[reason] = round(by_reason.get(reason, 0.0) + days, 2)
    row["delay_days_by_reason"] = by_reason
    return row


def assessment_facts(task: Resource) -> Resource:
    return {
        "task": f"Task/{task['id']}",
        "patient": (task.get("for") or {}).get("reference"),
        "due": ((task.get("restriction") or {}).get("period") or {}).get("end"),
        "owner": (task.get("owner") or {}).get("display"),
    }


def _days(since: str, now: datetime) -> float:
    return (now - instant(since)).total_seconds() / 86400


def _ward(spell: Resource | None) -> str | None:
    for place in (spell or {}).get("location") or []:
        shown = (place.get("location") or {}).get("display")
        if shown:
            return str(shown)
    return None
