"""The discharge ready date: the day a person stops meeting the criteria to reside (pure).

Each determination is an Observation (``d2a-observation|meets-criteria-to-reside``, valueBoolean,
effective when it was decided), so the history is kept: a person found not to meet the
criteria gets a discharge ready date on their episode; if they meet them again the date is
cleared; a later determination sets a new one. A date cannot be in the future, nor before the
admission.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.fhir.dates import instant, stamp
from shared.fhir.terms import (
    CRITERIA_CHECKED_EXTENSION,
    CRITERIA_TO_RESIDE,
    DISCHARGE_READY_EXTENSION,
)

Resource = dict[str, Any]


class ReadinessRefused(ValueError):
    """A discharge ready date that cannot be (in the future, before the admission)."""


def determination(
    episode: Resource, spell: Resource | None, *, meets_criteria: bool, at: datetime, now: datetime
) -> Resource:
    """The Observation recording whether the person meets the criteria to reside at ``at``."""
    if at > now:
        raise ReadinessRefused(f"The date {stamp(at)} is in the future: record what was found")
    admitted = ((spell or {}).get("period") or {}).get("start")
    if admitted and at < instant(str(admitted)):
        raise ReadinessRefused(f"The date {stamp(at)} is before the admission ({admitted})")
    observation: Resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{**CRITERIA_TO_RESIDE, "display": "Meets the criteria to reside"}]},
        "subject": episode["patient"],
        "effectiveDateTime": stamp(at),
        "valueBoolean": meets_criteria,
        "focus": [{"reference": f"EpisodeOfCare/{episode['id']}"}],
    }
    if spell is not None:
        observation["encounter"] = {"reference": f"Encounter/{spell['id']}"}
    return observation


def with_ready_date(
    episode: Resource, ready: datetime | None, *, checked: datetime | None = None
) -> list[Resource]:
    """The episode's extensions with the discharge ready date set (or cleared: None) and, when
    given, when the criteria to reside were last checked (the ward checks them daily)."""
    replaced = {DISCHARGE_READY_EXTENSION, *([CRITERIA_CHECKED_EXTENSION] if checked else [])}
    kept = [e for e in episode.get("extension") or [] if e.get("url") not in replaced]
    if ready is not None:
        kept.append({"url": DISCHARGE_READY_EXTENSION, "valueDateTime": stamp(ready)})
    if checked is not None:
        kept.append({"url": CRITERIA_CHECKED_EXTENSION, "valueDateTime": stamp(checked)})
    return kept


def last_checked(episode: Resource) -> datetime | None:
    """When the criteria to reside were last checked for this episode."""
    for extension in episode.get("extension") or []:
        if extension.get("url") == CRITERIA_CHECKED_EXTENSION and extension.get("valueDateTime"):
            return instant(str(extension["valueDateTime"]))
    return None
