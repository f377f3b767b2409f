"""Why a person is still waiting, and for how long (pure).

A delay is a coded reason (``d2a-delay-reason``, shipped as data in ``shared.fhir.terms``)
with the period it applied: recording a new reason ends the one before; clearing ends it.
The periods stay on the episode (``d2a-delay`` extensions), so the days of delay between the
discharge ready date and the discharge are attributed to their reasons.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.fhir.dates import instant, stamp
from shared.fhir.terms import D2A_DELAY_EXTENSION, D2A_DELAY_REASON, D2A_DELAY_REASONS, coding

Resource = dict[str, Any]


class UnknownDelay(ValueError):
    """A delay reason that is not in the shipped code system."""


@dataclass(frozen=True, slots=True)
class Delay:
    reason: str
    start: datetime
    end: datetime | None  # None: still the reason now


def delays_of(episode: Resource) -> list[Delay]:
    found = []
    for extension in episode.get("extension") or []:
        if extension.get("url") != D2A_DELAY_EXTENSION:
            continue
        parts = {p.get("url"): p for p in extension.get("extension") or []}
        reason = (parts.get("reason", {}).get("valueCoding") or {}).get("code")
        start = parts.get("start", {}).get("valueDateTime")
        end = parts.get("end", {}).get("valueDateTime")
        if reason and start:
            found.append(
                Delay(str(reason), instant(str(start)), instant(str(end)) if end else None)
            )
    return found


def current_delay(episode: Resource) -> Delay | None:
    return next((d for d in delays_of(episode) if d.end is None), None)


def with_delay(episode: Resource, reason: str | None, *, at: datetime) -> list[Resource]:
    """The episode's extensions with the current delay ended at ``at`` and, unless ``reason``
    is None (cleared), a new one starting then."""
    if reason is not None and reason not in D2A_DELAY_REASONS:
        raise UnknownDelay(
            f"{reason!r} is not a delay reason: use one of {', '.join(D2A_DELAY_REASONS)}"
        )
    kept = [e for e in episode.get("extension") or [] if e.get("url") != D2A_DELAY_EXTENSION]
    delays = [d if d.end is not None else Delay(d.reason, d.start, at) for d in delays_of(episode)]
    if reason is not None:
        delays.append(Delay(reason, at, None))
    return [*kept, *(_extension(d) for d in delays)]


def days_by_reason(episode: Resource, *, until: datetime) -> dict[str, float]:
    """Days of delay attributed to each reason (an open delay counts up to ``until``)."""
    days: dict[str, float] = defaultdict(float)
    for delay in delays_of(episode):
        end = delay.end or until
        days[delay.reason] += max(0.0, (end - delay.start).total_seconds() / 86400)
    return {reason: round(total, 2) for reason, total in days.items()}


def _extension(delay: Delay) -> Resource:
    parts: list[Resource] = [
        {
            "url": "reason",
            "valueCoding": coding(D2A_DELAY_REASON, delay.reason, D2A_DELAY_REASONS[delay.reason]),
        },
        {"url": "start", "valueDateTime": stamp(delay.start)},
    ]
    if delay.end is not None:
        parts.append({"url": "end", "valueDateTime": stamp(delay.end)})
    return {"url": D2A_DELAY_EXTENSION, "extension": parts}
