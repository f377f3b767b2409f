"""Auto-allocation of proactive case management: which case manager takes a person, a team
lead's override, and rebalancing a caseload when its case manager leaves or is away.

Pure and deterministic: no I/O, no HTTP, no database. People are known by their neighbourhood,
risk band and the case managers who already know them; case managers by their neighbourhoods,
capacity in weighted points and current caseload. The service reads those from CareTeams and
EpisodesOfCare and writes the outcome back (EpisodeOfCare.careManager, with the reasons).
Every outcome carries reasons a person can read, including why others were passed over.

The rules, in order: only available case managers with room for the person's weight; the
person's own neighbourhood (required while anyone there has room); continuity (someone who
already knows the person); then the most spare capacity after taking them; then id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

# The points a person weighs on a caseload, by eFI band (configurable).
DEFAULT_WEIGHTS: Mapping[str, int] = MappingProxyType(
    {"severe": 3, "moderate": 2, "mild": 1, "fit": 1}
)


class OverrideRefused(ValueError):
    """A lead's override that cannot be accepted as given; the message says why."""


@dataclass(frozen=True, slots=True)
class CaseManager:
    id: str  # "PractitionerRole/12": what EpisodeOfCare.careManager will name
    name: str
    neighbourhoods: frozenset[str]  # the neighbourhood teams they work in
    capacity: int  # in weighted points
    caseload: tuple[str, ...] = ()  # the eFI band of each person on their caseload now
    role: str = "case manager"  # "community matron", "social worker": shown in the reasons
    available: bool = True  # False: away or leaving, so given nobody new


@dataclass(frozen=True, slots=True)
class Person:
    patient: str  # "Patient/123"
    neighbourhood: str
    band: str  # fit | mild | moderate | severe: what they weigh
    known_by: frozenset[str] = frozenset()  # ids of case managers who already know them


@dataclass(frozen=True, slots=True)
class PassedOver:
    case_manager: str
    reason: str


@dataclass(frozen=True, slots=True)
class Allocation:
    patient: str
    case_manager: str | None  # None: nobody has room; a team lead must choose (override)
    reasons: tuple[str, ...]  # why this case manager, or why nobody
    passed_over: tuple[PassedOver, ...] = ()  # everyone else in the team, each with why not


@dataclass(frozen=True, slots=True)
class Move:
    patient: str
    from_case_manager: str
    to_case_manager: str | None  # None: nobody has room; a team lead must place them
    reasons: tuple[str, ...]


def load(manager: CaseManager, weights: Mapping[str, int] = DEFAULT_WEIGHTS) -> int:
    """The weighted points of a case manager's caseload."""
    return sum(weight(band, weights) for band in manager.caseload)


def spare(manager: CaseManager, weights: Mapping[str, int] = DEFAULT_WEIGHTS) -> int:
    """Capacity left, in points (negative when over capacity)."""
    return manager.capacity - load(manager, weights)


def weight(band: str, weights: Mapping[str, int] = DEFAULT_WEIGHTS) -> int:
    points = weights.get(band)
    if isinstance(points, bool) or not isinstance(points, int) or points < 1:
        known = ", ".join(sorted(weights))
        raise ValueError(f"No weight of 1 point or more for band {band!r} (weights: {known})")
    return points


# --- Auto-allocation --------------------------------------------------------------------------


def allocate(
    person: Person,
    team: Sequence[CaseManager],
    *,
    weights: Mapping[str, int] = DEFAULT_WEIGHTS,
) -> Allocation:
    """Choose the case manager for a person, or nobody when no one available has room (then
    a team lead must choose). The reasons explain the choice; every other member of the team
    is passed over with a reason of their own."""
    _check_unique(m.id for m in team)
    need = weight(person.band, weights)
    passed: dict[str, str] = {}
    with_room = _with_room(team, need, weights, passed)
    local = _local(person, with_room, passed)
    pool = _who_know(person, local or with_room, passed)
    if not pool:
        why = f"Nobody available has room for this person ({person.band}, {need} points)"
        nobody = f"{why}: a team lead must choose, and may go over capacity with a reason."
        return Allocation(person.patient, None, (nobody,), _in_order(passed))
    chosen = _most_spare(pool, need, weights, passed)
    reasons = _chosen_because(person, chosen, need, weights, in_neighbourhood=bool(local))
    return Allocation(person.patient, chosen.id, reasons, _in_order(passed))


def _with_room(
    team: Sequence[CaseManager], need: int, weights: Mapping[str, int], passed: dict[str, str]
) -> list[CaseManager]:
    found = []
    for manager in sorted(team, key=lambda m: m.id):
        if not manager.available:
            passed[manager.id] = "Away: not taking anyone new."
        elif spare(manager, weights) < need:
            in_use = f"{load(manager, weights)} of {manager.capacity} points in use"
            passed[manager.id] = f"No room: {in_use}, and this person needs {need}."
        else:
            found.append(manager)
    return found


def _local(person: Person, pool: list[CaseManager], passed: dict[str, str]) -> list[CaseManager]:
    local = [m for m in pool if person.neighbourhood in m.neighbourhoods]
    if local:  # the others are passed over only while someone local has room
        for manager in pool:
            if person.neighbourhood not in manager.neighbourhoods:
                where = ", ".join(sorted(manager.neighbourhoods)) or "no neighbourhood"
                passed[manager.id] = f"Works in {where}, not {person.neighbourhood}."
    return local


def _who_know(person: Person, pool: list[CaseManager], passed: dict[str, str]) -> list[CaseManager]:
    knowing = [m for m in pool if m.id in person.known_by]
    if knowing:  # the others are passed over only while someone who knows them has room
        names = " and ".join(m.name for m in knowing)
        for manager in pool:
            if manager.id not in person.known_by:
                passed[manager.id] = f"Does not know the person; {names} does (continuity)."
    return knowing or pool


def _most_spare(
    pool: list[CaseManager], need: int, weights: Mapping[str, int], passed: dict[str, str]
) -> CaseManager:
    chosen = min(pool, key=lambda m: (-spare(m, weights), m.id))
    after = spare(chosen, weights) - need
    for manager in (m for m in pool if m is not chosen):
        left = spare(manager, weights) - need
        if left == after:
            passed[manager.id] = f"As much room as {chosen.name}; the tie goes to the first by id."
        else:
            passed[manager.id] = f"Less room: {left} points free after this person, not {after}."
    return chosen


def _chosen_because(
    person: Person,
    chosen: CaseManager,
    need: int,
    weights: Mapping[str, int],
    *,
    in_neighbourhood: bool,
) -> tuple[str, ...]:
    reasons = [f"{chosen.name} ({chosen.role}) is chosen."]
    if in_neighbourhood:
        reasons.append(f"Works in {person.neighbourhood}, where the person lives.")
    else:
        reasons.append(
            f"Nobody working in {person.neighbourhood} has room, so this is a case manager from "
            "another neighbourhood: a team lead may prefer to override."
        )
    if chosen.id in person.known_by:
        reasons.append("Already knows the person (continuity).")
    left = spare(chosen, weights) - need
    reasons.append(
        f"Most room: {left} of {chosen.capacity} points free after this person "
        f"({person.band} counts {need})."
    )
    return tuple(reasons)


def _in_order(passed: Mapping[str, str]) -> tuple[PassedOver, ...]:
    return tuple(PassedOver(manager, passed[manager]) for manager in sorted(passed))


def _check_unique(ids: Iterable[str]) -> None:
    seen: set[str] = set()
    for given in ids:
        if given in seen:
            raise ValueError(f"{given} is given twice")
        seen.add(given)


# --- A team lead's override -------------------------------------------------------------------


def override(
    person: Person,
    chosen: CaseManager,
    *,
    lead: str,
    reason: str | None = None,
    weights: Mapping[str, int] = DEFAULT_WEIGHTS,
) -> Allocation:
    """A team lead's choice of case manager for a person. Over capacity, or to someone who is
    away, it needs a reason; OverrideRefused otherwise (and without the lead's name)."""
    if not lead.strip():
        raise OverrideRefused("An override must name the team lead who made it")
    need = weight(person.band, weights)
    given = (reason or "").strip()
    concerns = _override_concerns(person, chosen, need, weights)
    if concerns and not given:
        raise OverrideRefused(f"{' '.join(concerns)} An override like this needs a reason.")
    reasons = [f"{chosen.name} ({chosen.role}) is chosen by {lead.strip()} (team lead)."]
    reasons += concerns
    if given:
        reasons.append(f"Reason: {given}")
    if person.neighbourhood not in chosen.neighbourhoods:
        reasons.append(f"Works outside {person.neighbourhood}, where the person lives.")
    if chosen.id in person.known_by:
        reasons.append("Already knows the person (continuity).")
    return Allocation(person.patient, chosen.id, tuple(reasons))


def _override_concerns(
    person: Person, chosen: CaseManager, need: int, weights: Mapping[str, int]
) -> list[str]:
    concerns = []
    if not chosen.available:
        concerns.append(f"{chosen.name} is away.")
    after = load(chosen, weights) + need
    if after > chosen.capacity:
        concerns.append(
            f"{chosen.name} goes over capacity: {after} of {chosen.capacity} points with this "
            f"person ({person.band} counts {need})."
        )
    return concerns


# --- Rebalancing a caseload -------------------------------------------------------------------


def rebalance(
    leaving: CaseManager,
    caseload: Sequence[Person],
    team: Sequence[CaseManager],
    *,
    weights: Mapping[str, int] = DEFAULT_WEIGHTS,
) -> tuple[Move, ...]:
    """Move everyone on the caseload of a case manager who is leaving or away to the rest of
    the team, fairly: the heaviest first, each allocated as ``allocate`` would (neighbourhood,
    continuity with anyone else who knows them, then the most room after the moves so far), so
    the weighted load spreads. One Move per person, in the caseload's order: nobody is lost or
    moved twice; someone nobody has room for gets no new case manager, for a lead to place."""
    _check_unique(person.patient for person in caseload)
    _check_unique(m.id for m in team)
    others = {m.id: m for m in team if m.id != leaving.id}
    moves: dict[str, Move] = {}
    for person in sorted(caseload, key=lambda p: (-weight(p.band, weights), p.patient)):
        moves[person.patient] = _move(leaving, person, others, weights)
    return tuple(moves[person.patient] for person in caseload)


def _move(
    leaving: CaseManager,
    person: Person,
    others: dict[str, CaseManager],
    weights: Mapping[str, int],
) -> Move:
    """Allocate one person among the others, and add them to the chosen one's caseload."""
    still_known = replace(person, known_by=person.known_by - {leaving.id})
    allocation = allocate(still_known, list(others.values()), weights=weights)
    if allocation.case_manager is not None:
        taker = others[allocation.case_manager]
        others[taker.id] = replace(taker, caseload=(*taker.caseload, person.band))
    handed_on = f"Handed on from {leaving.name}, who is leaving or away."
    return Move(
        person.patient, leaving.id, allocation.case_manager, (handed_on, *allocation.reasons)
    )
