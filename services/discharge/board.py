"""The discharge hub's live board: everyone waiting, on which pathway, for how long since their
discharge ready date, what holds them up and what comes next; counts per pathway; who is
waiting for capacity; assessments after discharge due and overdue.

``board_view`` is pure; ``board`` reads the active D2A episodes with their stays and the open
assessments through the gateway. The same facts are FHIR searches:
``EpisodeOfCare?type=...|discharge-to-assess&status=active&_revinclude=Encounter:episode-of-care``
and ``Task?code=...|d2a-assessment&status=requested,in-progress``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.discharge import delays, journey, readiness
from shared.errors import bad_request
from shared.fhir.dates import instant, stamp
from shared.fhir.terms import (
    D2A_ASSESSMENT_TASK,
    D2A_DELAY_REASONS,
    D2A_PATHWAYS,
    D2A_STATES,
    DISCHARGE_TO_ASSESS,
    EPISODE_TYPE,
    TASK_CODE,
)
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
FILTERS = ("ward", "pathway", "status", "delay")


def read_filters(params: Mapping[str, str]) -> dict[str, str]:
    """The board's filters; 400 for a pathway, status or delay reason that does not exist."""
    filters = {name: params[name] for name in FILTERS if params.get(name)}
    known = {"pathway": D2A_PATHWAYS, "status": D2A_STATES, "delay": D2A_DELAY_REASONS}
    for name, codes in known.items():
        if name in filters and filters[name] not in codes:
            raise bad_request(f"{filters[name]!r} is not a {name}: use one of {', '.join(codes)}")
    return filters


async def board(client: FhirClient, *, filters: Mapping[str, str], now: datetime) -> Resource:
    found = await client.search_all(
        "EpisodeOfCare",
        [
            ("type", f"{EPISODE_TYPE}|{DISCHARGE_TO_ASSESS}"),
            ("status", "active"),
            ("_revinclude", "Encounter:episode-of-care"),
            ("_count", "1000"),
        ],
    )
    assessments = await client.search_all(
        "Task",
        [
            ("code", f"{TASK_CODE}|{D2A_ASSESSMENT_TASK}"),
            ("status", "requested,received,accepted,ready,in-progress,on-hold"),
            ("_count", "1000"),
        ],
    )
    episodes = [r for r in found if r["resourceType"] == "EpisodeOfCare"]
    spells = [r for r in found if r["resourceType"] == "Encounter"]
    return board_view(episodes, spells, assessments, filters=filters, now=now)


def board_view(
    episodes: list[Resource],
    spells: list[Resource],
    assessments: list[Resource],
    *,
    filters: Mapping[str, str],
    now: datetime,
) -> Resource:
    stay_of = {
        str(link["reference"]): spell
        for spell in spells
        for link in spell.get("episodeOfCare") or []
        if link.get("reference")
    }
    rows = [_row(e, stay_of.get(f"EpisodeOfCare/{e['id']}"), now) for e in episodes]
    waiting = [r for r in rows if r["status"] in journey.BEFORE_DISCHARGE and _passes(r, filters)]
    waiting.sort(key=lambda r: (-(r["days_since_ready"] or 0), r["episode"]))
    due, overdue = _assessments(assessments, now)
    return {
        "now": stamp(now),
        "filters": dict(filters),
        "waiting": waiting,
        "counts_by_pathway": dict(Counter(r["pathway"] or "none" for r in waiting)),
        "awaiting_capacity": [r for r in waiting if r["status"] == "awaiting-capacity"],
        "assessments_due": due,
        "assessments_overdue": overdue,
    }


def _row(episode: Resource, spell: Resource | None, now: datetime) -> Resource:
    ready = journey.ready_date(episode)
    checked = readiness.last_checked(episode)
    delay = delays.current_delay(episode)
    allowed = journey.allowed_after(episode)
    return {
        "episode": f"EpisodeOfCare/{episode['id']}",
        "patient": episode["patient"]["reference"],
        "ward": _ward(spell),
        "pathway": journey.pathway_of(episode),
        "status": journey.state_of(episode),
        "discharge_ready_date": stamp(ready) if ready else None,
        "days_since_ready": round((now - ready).total_seconds() / 86400, 1) if ready else None,
        "delay": delay.reason if delay else None,
        "criteria_checked": stamp(checked) if checked else None,
        "recheck_due": checked is None or (now - checked).total_seconds() >= 86400,
        "delay_days_by_reason": delays.days_by_reason(episode, until=now),
        "next": list(allowed),
    }


def _ward(spell: Resource | None) -> str | None:
    for place in (spell or {}).get("location") or []:
        shown = (place.get("location") or {}).get("display")
        if shown:
            return str(shown)
    return None


def _passes(row: Resource, filters: Mapping[str, str]) -> bool:
    if "ward" in filters and filters["ward"].lower() not in str(row["ward"] or "").lower():
        return False
    wanted = {"pathway": "pathway", "status": "status", "delay": "delay"}
    return all(row[field] == filters[name] for name, field in wanted.items() if name in filters)


def _assessments(tasks: list[Resource], now: datetime) -> tuple[list[Resource], list[Resource]]:
    due: list[Resource] = []
    overdue: list[Resource] = []
    for task in tasks:
        end = ((task.get("restriction") or {}).get("period") or {}).get("end")
        if not end:
            continue
        item = {
            "task": f"Task/{task['id']}",
            "patient": (task.get("for") or {}).get("reference"),
            "due": end,
            "owner": (task.get("owner") or {}).get("display"),
        }
        (overdue if instant(str(end)) < now else due).append(item)
    return sorted(due, key=lambda i: i["due"]), sorted(overdue, key=lambda i: i["due"])
