"""The discharge to assess journey as an explicit state machine (pure).

A D2A episode (EpisodeOfCare of type discharge-to-assess) moves through:

    identified -> pathway-proposed -> pathway-agreed -> (awaiting-capacity) -> discharged
        -> assessment-in-progress -> assessment-complete -> closed

Pathway 0 (home with no new support) goes from discharged straight to closed: there is
nothing to assess. A pathway can be proposed again before discharge (the person's needs
changed). Before discharge an episode can also be closed (the person died, or meets the
criteria to reside for good), with a reason. Every other move is refused with the states that
may follow. Each transition is appended to the episode's history (state, when, who) and the
current state and pathway are extensions on the episode; the record keeps every version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.fhir.dates import instant, stamp
from shared.fhir.entries import unversioned
from shared.fhir.terms import (
    D2A_HISTORY_EXTENSION,
    D2A_PATHWAY,
    D2A_PATHWAY_EXTENSION,
    D2A_PATHWAYS,
    D2A_STATE,
    D2A_STATE_EXTENSION,
    D2A_STATES,
    DISCHARGE_READY_EXTENSION,
    coding,
)

Resource = dict[str, Any]
BEFORE_DISCHARGE = ("identified", "pathway-proposed", "pathway-agreed", "awaiting-capacity")
NEXT: Mapping[str, tuple[str, ...]] = {
    "identified": ("pathway-proposed", "closed"),
    "pathway-proposed": ("pathway-agreed", "pathway-proposed", "closed"),
    "pathway-agreed": ("awaiting-capacity", "discharged", "pathway-proposed", "closed"),
    "awaiting-capacity": ("discharged", "pathway-proposed", "closed"),
    "discharged": ("assessment-in-progress", "closed"),
    "assessment-in-progress": ("assessment-complete",),
    "assessment-complete": ("closed",),
    "closed": (),
}
NEEDS_PATHWAY = frozenset({"pathway-proposed"})


class TransitionRefused(Exception):
    """An impossible move (409) or one without what it needs (422); ``allowed`` lists the
    states that may follow the current one."""

    def __init__(self, message: str, *, allowed: tuple[str, ...], status: int = 409) -> None:
        super().__init__(message)
        self.allowed = allowed
        self.status = status


@dataclass(frozen=True, slots=True)
class Move:
    to: str
    at: datetime
    by: str  # who made it: "Practitioner/1", or a client's name
    pathway: str | None = None  # with pathway-proposed: "0" to "3"
    reason: str | None = None  # needed to close before discharge


def state_of(episode: Resource) -> str:
    return _code(episode, D2A_STATE_EXTENSION) or "identified"


def pathway_of(episode: Resource) -> str | None:
    return _code(episode, D2A_PATHWAY_EXTENSION)


def ready_date(episode: Resource) -> datetime | None:
    for extension in episode.get("extension") or []:
        if extension.get("url") == DISCHARGE_READY_EXTENSION and extension.get("valueDateTime"):
            return instant(str(extension["valueDateTime"]))
    return None


def allowed_after(episode: Resource) -> tuple[str, ...]:
    """The states the episode may move to now."""
    current = state_of(episode)
    allowed = NEXT[current]
    if current == "discharged":  # pathway 0 has nothing to assess; 1 to 3 must be assessed
        return ("closed",) if pathway_of(episode) == "0" else ("assessment-in-progress",)
    if current == "pathway-agreed" and pathway_of(episode) == "0":
        return tuple(s for s in allowed if s != "awaiting-capacity")
    return allowed


def transition(episode: Resource, move: Move) -> Resource:
    """The episode after ``move``; TransitionRefused when it cannot be made."""
    current, allowed = state_of(episode), allowed_after(episode)
    if move.to not in D2A_STATES:
        raise TransitionRefused(
            f"{move.to!r} is not a state: use one of {', '.join(D2A_STATES)}",
            allowed=allowed,
            status=422,
        )
    if move.to not in allowed:
        after = ", ".join(allowed) or "nothing: the episode is closed"
        raise TransitionRefused(
            f"An episode {D2A_STATES[current].lower()} cannot become "
            f"{D2A_STATES[move.to].lower()}; next can come: {after}",
            allowed=allowed,
        )
    _check_needs(episode, move, current, allowed)
    moved = unversioned(episode)
    moved["extension"] = _with_state(episode, move)
    if move.to == "closed":
        moved["status"] = "finished"
        moved["period"] = {**(episode.get("period") or {}), "end": stamp(move.at)}
    return moved


def _check_needs(episode: Resource, move: Move, current: str, allowed: tuple[str, ...]) -> None:
    if move.to in NEEDS_PATHWAY and move.pathway not in D2A_PATHWAYS:
        raise TransitionRefused(
            f"Proposing a pathway needs one: {', '.join(D2A_PATHWAYS)}, not {move.pathway!r}",
            allowed=allowed,
            status=422,
        )
    if move.to == "discharged" and ready_date(episode) is None:
        raise TransitionRefused(
            "Record the discharge ready date before the discharge", allowed=allowed, status=422
        )
    if move.to == "closed" and current in BEFORE_DISCHARGE and not move.reason:
        raise TransitionRefused(
            "Closing an episode before discharge needs a reason", allowed=allowed, status=422
        )


def begun(move: Move) -> list[Resource]:
    """The extensions of a new episode in its first state."""
    return _with_state({}, move)


def _with_state(episode: Resource, move: Move) -> list[Resource]:
    kept = [
        e
        for e in episode.get("extension") or []
        if e.get("url") not in (D2A_STATE_EXTENSION,)
        and not (e.get("url") == D2A_PATHWAY_EXTENSION and move.pathway)
    ]
    state = {
        "url": D2A_STATE_EXTENSION,
        "valueCoding": coding(D2A_STATE, move.to, D2A_STATES[move.to]),
    }
    added = [state]
    if move.pathway:
        added.append(
            {
                "url": D2A_PATHWAY_EXTENSION,
                "valueCoding": coding(D2A_PATHWAY, move.pathway, D2A_PATHWAYS[move.pathway]),
            }
        )
    return [*kept, *added, _history_entry(move)]


def _history_entry(move: Move) -> Resource:
    parts: list[Resource] = [
        {"url": "state", "valueCode": move.to},
        {"url": "at", "valueDateTime": stamp(move.at)},
        {"url": "by", "valueString": move.by},
    ]
    if move.pathway:
        parts.append({"url": "pathway", "valueCode": move.pathway})
    if move.reason:
        parts.append({"url": "reason", "valueString": move.reason})
    return {"url": D2A_HISTORY_EXTENSION, "extension": parts}


def history(episode: Resource) -> list[dict[str, str]]:
    """The journey so far: each state with when, who and (where given) pathway and reason."""
    return [
        {
            part["url"]: str(next(v for k, v in part.items() if k.startswith("value")))
            for part in e["extension"]
        }
        for e in episode.get("extension") or []
        if e.get("url") == D2A_HISTORY_EXTENSION
    ]


def _code(episode: Resource, url: str) -> str | None:
    for extension in episode.get("extension") or []:
        if extension.get("url") == url:
            found = (extension.get("valueCoding") or {}).get("code")
            return str(found) if found else None
    return None
