"""Planned contact with a person on a caseload (pure): a touchpoint is a Task for their case
manager, due after a number of days set by their band (configurable; by default severe every
4 weeks, moderate every 12, mild every 26, fit none), made again each time one is done. After a
hospital discharge a follow-up touchpoint is due within 72 hours, and an admission or an
emergency department visit raises an alert Task at once.

Each Task's identifier says what it follows, so a repeated notification makes nothing new.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from services.caseload.teams import band_of
from shared.fhir.dates import instant, stamp
from shared.fhir.terms import (
    ADMISSION_ALERT_TASK,
    BASE,
    FRAILTY_BANDS,
    TASK_CODE,
    TOUCHPOINT_TASK,
    coding,
)

Resource = dict[str, Any]
TOUCHPOINT_ID = f"{BASE}/Id/caseload-touchpoint"
OPEN = ("requested", "received", "accepted", "ready", "in-progress", "on-hold")


def check_cadence(days: Mapping[str, int | None]) -> None:
    """Every band needs a cadence (whole days, or None for no planned touchpoints)."""
    for band in FRAILTY_BANDS:
        if band not in days:
            raise ValueError(f"touchpoint_days has no entry for the band {band!r}")
        value = days[band]
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError(f"touchpoint_days[{band!r}] must be a whole number of days or null")


def check_weights(weights: Mapping[str, int]) -> None:
    """Every band weighs a whole number of points, 1 or more."""
    for band in FRAILTY_BANDS:
        points = weights.get(band)
        if isinstance(points, bool) or not isinstance(points, int) or points < 1:
            raise ValueError(
                f"caseload_weights[{band!r}] must be a whole number of points, 1 or more"
            )


def next_touchpoint(
    episode: Resource, *, after: datetime, following: str, days: Mapping[str, int | None]
) -> Resource | None:
    """The planned touchpoint after ``after`` (``following``: what it comes after, which makes
    it once only); None when the person's band plans none."""
    every = days.get(band_of(episode))
    if every is None:
        return None
    due = after + timedelta(days=every)
    why = f"Planned contact every {every} days ({band_of(episode)} frailty)"
    return _task(episode, TOUCHPOINT_TASK, "Touchpoint", following, due=due, why=why, now=after)


def follow_up_after_discharge(
    episode: Resource, stay: Resource, *, hours: int, now: datetime
) -> Resource:
    """A touchpoint due within ``hours`` of the end of a hospital stay."""
    ended = instant(str(stay["period"]["end"]))
    why = f"Follow-up within {hours} hours of leaving hospital (Encounter/{stay['id']})"
    return _task(
        episode,
        TOUCHPOINT_TASK,
        "Follow-up after discharge",
        f"after-stay/{stay['id']}",
        due=ended + timedelta(hours=hours),
        why=why,
        now=now,
        priority="urgent",
    )


def admission_alert(episode: Resource, stay: Resource, *, now: datetime) -> Resource:
    """Tell the case manager at once: a person on their caseload is in hospital or in the
    emergency department."""
    kind = "attended the emergency department" if _is_ed(stay) else "was admitted to hospital"
    why = f"The person {kind} (Encounter/{stay['id']})"
    return _task(
        episode,
        ADMISSION_ALERT_TASK,
        "Admission or ED alert",
        f"alert/{stay['id']}",
        due=None,
        why=why,
        now=now,
        priority="asap",
        focus=f"Encounter/{stay['id']}",
    )


def is_open(task: Resource) -> bool:
    return task.get("status") in OPEN


def is_overdue(task: Resource, now: datetime) -> bool:
    due = ((task.get("restriction") or {}).get("period") or {}).get("end")
    return is_open(task) and bool(due) and instant(str(due)) < now


def _task(
    episode: Resource,
    code: str,
    display: str,
    following: str,
    *,
    due: datetime | None,
    why: str,
    now: datetime,
    priority: str = "routine",
    focus: str | None = None,
) -> Resource:
    task: Resource = {
        "resourceType": "Task",
        "identifier": [{"system": TOUCHPOINT_ID, "value": f"{episode['id']}/{following}"}],
        "status": "requested",
        "intent": "plan",
        "priority": priority,
        "code": {"coding": [coding(TASK_CODE, code, display)]},
        "description": why,
        "focus": {"reference": focus or f"EpisodeOfCare/{episode['id']}"},
        "for": episode["patient"],
        "authoredOn": stamp(now),
        "basedOn": [{"reference": f"EpisodeOfCare/{episode['id']}"}],
    }
    if episode.get("careManager"):
        task["owner"] = episode["careManager"]
    if due is not None:
        task["restriction"] = {"period": {"end": stamp(due)}}
    return task


def _is_ed(stay: Resource) -> bool:
    return (stay.get("class") or {}).get("code") == "EMER"
