"""Neighbourhood teams and caseloads as the record holds them, read into what allocation
decides from (pure).

- A neighbourhood team is a CareTeam. The GP practices it serves are ``serves-practice``
  extensions on it. Its case managers are participants with the role
  ``caseload-role|case-manager``, each with a ``caseload-capacity`` (weighted points) and,
  while away, an ``away`` period; a participant whose period has ended has left.
- A person on a caseload has an active EpisodeOfCare of type proactive case management, with
  its team, its case manager (``careManager``) and the band they weigh (``frailty-band``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from services.caseload.allocation import CaseManager, Person
from shared.fhir.dates import instant
from shared.fhir.terms import (
    AWAY_EXTENSION,
    CASE_MANAGER,
    CASELOAD_CAPACITY_EXTENSION,
    CASELOAD_ROLE,
    EPISODE_TYPE,
    FRAILTY_BAND,
    FRAILTY_BAND_EXTENSION,
    PROACTIVE_CASE_MANAGEMENT,
    SERVES_PRACTICE_EXTENSION,
    has_coding,
)

Resource = dict[str, Any]
DEFAULT_CAPACITY = 30  # points, when a case manager's capacity is not recorded


def is_caseload_episode(episode: Resource) -> bool:
    return has_coding(episode.get("type") or [], EPISODE_TYPE, PROACTIVE_CASE_MANAGEMENT)


def practices_served(team: Resource) -> set[str]:
    """References of the GP practices whose people a neighbourhood team serves."""
    return {
        str(e["valueReference"]["reference"])
        for e in team.get("extension") or []
        if e.get("url") == SERVES_PRACTICE_EXTENSION and (e.get("valueReference") or {})
    }


def case_managers(
    team: Resource, episodes: Iterable[Resource], *, now: datetime
) -> list[CaseManager]:
    """The team's case managers with their capacity, availability and current caseload (the
    bands of their active caseload episodes, whichever team the episode is with)."""
    bands: dict[str, list[str]] = {}
    for episode in episodes:
        manager = (episode.get("careManager") or {}).get("reference")
        if manager and episode.get("status") == "active" and is_caseload_episode(episode):
            bands.setdefault(str(manager), []).append(band_of(episode))
    managers = []
    for participant in team.get("participant") or []:
        member = (participant.get("member") or {}).get("reference")
        if not member or not is_case_manager(participant) or _has_left(participant, now):
            continue
        managers.append(
            CaseManager(
                id=str(member),
                name=str(participant["member"].get("display") or member),
                neighbourhoods=frozenset({f"CareTeam/{team['id']}"}),
                capacity=_capacity(participant),
                caseload=tuple(bands.get(str(member), ())),
                available=not _away(participant, now),
            )
        )
    return managers


def person(
    patient: str, *, team: str, band: str, episodes: Iterable[Resource], teams: Iterable[Resource]
) -> Person:
    """A person as allocation sees them: where they live (the team serving their practice),
    what they weigh, and who already knows them (the case managers of their earlier episodes
    and the members of their own care teams)."""
    known = {
        str(e["careManager"]["reference"])
        for e in episodes
        if (e.get("careManager") or {}).get("reference")
    }
    known |= {
        str(p["member"]["reference"])
        for t in teams
        for p in t.get("participant") or []
        if (p.get("member") or {}).get("reference", "").startswith("Practitioner/")
    }
    return Person(patient=patient, neighbourhood=team, band=band, known_by=frozenset(known))


def band_of(episode: Resource) -> str:
    """The band a person on a caseload weighs (moderate when it was never recorded)."""
    for extension in episode.get("extension") or []:
        if extension.get("url") == FRAILTY_BAND_EXTENSION:
            found = (extension.get("valueCoding") or {}).get("code")
            if found:
                return str(found)
    return "moderate"


def band_coding(band: str) -> Resource:
    return {"url": FRAILTY_BAND_EXTENSION, "valueCoding": {"system": FRAILTY_BAND, "code": band}}


def is_case_manager(participant: Resource) -> bool:
    return has_coding(participant.get("role") or [], CASELOAD_ROLE, CASE_MANAGER)


def _capacity(participant: Resource) -> int:
    for extension in participant.get("extension") or []:
        if extension.get("url") == CASELOAD_CAPACITY_EXTENSION:
            value = extension.get("valueInteger")
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
    return DEFAULT_CAPACITY


def _has_left(participant: Resource, now: datetime) -> bool:
    ended = (participant.get("period") or {}).get("end")
    return bool(ended) and instant(str(ended)) <= now


def _away(participant: Resource, now: datetime) -> bool:
    for extension in participant.get("extension") or []:
        if extension.get("url") == AWAY_EXTENSION:
            period = extension.get("valuePeriod") or {}
            start, end = period.get("start"), period.get("end")
            if (not start or instant(str(start)) <= now) and (not end or now < instant(str(end))):
                return True
    return False
