"""Caseload views for a neighbourhood team and for one case manager: the people on the
caseload by band, each case manager's load against capacity, touchpoints due soon and
overdue, and the recent admissions, emergency department visits and discharges of people on
the caseload (from the alert and follow-up Tasks). Read through the gateway; ``caseload_view``
is pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from services.caseload import allocation, teams
from services.caseload.touchpoints import is_open, is_overdue
from shared.fhir.dates import instant, stamp
from shared.fhir.terms import (
    ADMISSION_ALERT_TASK,
    EPISODE_TYPE,
    PROACTIVE_CASE_MANAGEMENT,
    TASK_CODE,
    TOUCHPOINT_TASK,
    has_coding,
)
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
DUE_SOON = timedelta(days=14)
RECENT = timedelta(days=30)


async def team_caseload(
    client: FhirClient, team_id: str
) -> tuple[Resource, list[Resource], list[Resource]]:
    """A team, the active caseload episodes of its members (whichever team), and their Tasks."""
    team = await with_member_names(client, await client.read(f"CareTeam/{team_id}"))
    members = [
        str(p["member"]["reference"]) for p in team.get("participant") or [] if p.get("member")
    ]
    episodes, tasks = await _caseload(client, members)
    return team, episodes, tasks


async def with_member_names(client: FhirClient, team: Resource) -> Resource:
    """The team with each practitioner member's name shown (reasons name people, not ids)."""
    unnamed = [
        str(p["member"]["reference"]).removeprefix("Practitioner/")
        for p in team.get("participant") or []
        if str((p.get("member") or {}).get("reference", "")).startswith("Practitioner/")
        and not p["member"].get("display")
    ]
    if not unnamed:
        return team
    found = await client.search("Practitioner", [("_id", ",".join(unnamed)), ("_count", "500")])
    names = {f"Practitioner/{p['id']}": _name(p) for p in found}
    participants = [
        {**p, "member": {**p["member"], "display": names[p["member"]["reference"]]}}
        if names.get((p.get("member") or {}).get("reference", ""))
        else p
        for p in team.get("participant") or []
    ]
    return {**team, "participant": participants}


async def team_view(
    client: FhirClient, team_id: str, *, weights: Mapping[str, int], now: datetime
) -> Resource:
    team, episodes, tasks = await team_caseload(client, team_id)
    mine = [e for e in episodes if f"CareTeam/{team_id}" in _teams_of(e)]
    managers = teams.case_managers(team, episodes, now=now)
    return caseload_view(str(team.get("name")), mine, tasks, managers, weights=weights, now=now)


async def case_manager_view(
    client: FhirClient, practitioner_id: str, *, weights: Mapping[str, int], now: datetime
) -> Resource:
    reference = f"Practitioner/{practitioner_id}"
    practitioner = await client.read(reference)
    episodes, tasks = await _caseload(client, [reference])
    name = _name(practitioner) or reference
    return caseload_view(name, episodes, tasks, [], weights=weights, now=now)


def caseload_view(
    title: str,
    episodes: list[Resource],
    tasks: Iterable[Resource],
    managers: list[allocation.CaseManager],
    *,
    weights: Mapping[str, int],
    now: datetime,
) -> Resource:
    """The view of a caseload (pure)."""
    on_it = {f"EpisodeOfCare/{e['id']}" for e in episodes}
    theirs = [t for t in tasks if _episode_of(t) in on_it]
    planned = [t for t in theirs if has_coding(t.get("code"), TASK_CODE, TOUCHPOINT_TASK)]
    alerts = [t for t in theirs if has_coding(t.get("code"), TASK_CODE, ADMISSION_ALERT_TASK)]
    return {
        "caseload": title,
        "now": stamp(now),
        "people": len(episodes),
        "by_band": dict(Counter(teams.band_of(e) for e in episodes)),
        "case_managers": [_manager(m, weights) for m in managers],
        "on_caseload": [_person(e) for e in sorted(episodes, key=_start)],
        "touchpoints_overdue": [_task(t) for t in planned if is_overdue(t, now)],
        "touchpoints_due_soon": [
            _task(t) for t in planned if is_open(t) and _due_within(t, now, DUE_SOON)
        ],
        "recent_admissions_and_ed_visits": [
            _task(t) for t in alerts if now - _authored(t) <= RECENT
        ],
        "to_discuss_at_mdt": _to_discuss(episodes, planned, alerts, now),
        "recent_discharges": [
            _task(t)
            for t in planned
            if "/after-stay/" in _identifier(t) and now - _authored(t) <= RECENT
        ],
    }


async def _caseload(
    client: FhirClient, managers: list[str]
) -> tuple[list[Resource], list[Resource]]:
    if not managers:
        return [], []
    joined = ",".join(managers)
    episodes = await client.search_all(
        "EpisodeOfCare",
        [
            ("type", f"{EPISODE_TYPE}|{PROACTIVE_CASE_MANAGEMENT}"),
            ("status", "active"),
            ("care-manager", joined),
            ("_count", "1000"),
        ],
    )
    tasks = await client.search_all(
        "Task",
        [
            ("owner", joined),
            ("code", f"{TASK_CODE}|{TOUCHPOINT_TASK},{TASK_CODE}|{ADMISSION_ALERT_TASK}"),
            ("_count", "1000"),
        ],
    )
    return episodes, tasks


def _to_discuss(
    episodes: list[Resource], planned: list[Resource], alerts: list[Resource], now: datetime
) -> list[Resource]:
    """The MDT's list: people with severe frailty, a recent admission or ED visit, or an
    overdue touchpoint, each with why."""
    why: dict[str, list[str]] = {}
    for episode in episodes:
        if teams.band_of(episode) == "severe":
            why.setdefault(episode["patient"]["reference"], []).append("severe frailty")
    for alert in alerts:
        if now - _authored(alert) <= RECENT:
            why.setdefault(alert["for"]["reference"], []).append(str(alert.get("description")))
    for task in planned:
        if is_overdue(task, now):
            why.setdefault(task["for"]["reference"], []).append("a touchpoint is overdue")
    return [{"patient": patient, "why": reasons} for patient, reasons in sorted(why.items())]


def _manager(manager: allocation.CaseManager, weights: Mapping[str, int]) -> Resource:
    return {
        "case_manager": manager.id,
        "name": manager.name,
        "people": len(manager.caseload),
        "load": allocation.load(manager, weights),
        "capacity": manager.capacity,
        "available": manager.available,
    }


def _person(episode: Resource) -> Resource:
    return {
        "episode": f"EpisodeOfCare/{episode['id']}",
        "patient": episode["patient"]["reference"],
        "case_manager": (episode.get("careManager") or {}).get("reference"),
        "band": teams.band_of(episode),
        "since": (episode.get("period") or {}).get("start"),
    }


def _task(task: Resource) -> Resource:
    return {
        "task": f"Task/{task['id']}",
        "patient": (task.get("for") or {}).get("reference"),
        "owner": (task.get("owner") or {}).get("reference"),
        "what": task.get("description"),
        "status": task.get("status"),
        "due": ((task.get("restriction") or {}).get("period") or {}).get("end"),
        "raised": task.get("authoredOn"),
    }


def _teams_of(episode: Resource) -> set[str]:
    return {str(t.get("reference")) for t in episode.get("team") or []}


def _episode_of(task: Resource) -> str:
    return next((str(b.get("reference")) for b in task.get("basedOn") or []), "")


def _identifier(task: Resource) -> str:
    return "/" + "/".join(str(i.get("value")) for i in task.get("identifier") or [])


def _due_within(task: Resource, now: datetime, window: timedelta) -> bool:
    due = ((task.get("restriction") or {}).get("period") or {}).get("end")
    return bool(due) and now <= instant(str(due)) <= now + window


def _authored(task: Resource) -> datetime:
    return instant(str(task.get("authoredOn") or "1970-01-01T00:00:00Z"))


def _start(episode: Resource) -> str:
    return str((episode.get("period") or {}).get("start") or "")


def _name(practitioner: Resource) -> str:
    for name in practitioner.get("name") or []:
        given = " ".join(name.get("given") or [])
        return f"{given} {name.get('family', '')}".strip()
    return ""
