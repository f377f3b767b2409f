"""Handing on a case manager's caseload when they leave or are away:
``CareTeam/{id}/$rebalance`` with the case manager and the reason. Everyone on their caseload
in the team moves, fairly (``allocation.rebalance``: neighbourhood, continuity, weighted room),
in one transaction with their open Tasks; the Provenance records each move and why. Someone
nobody has room for stays where they are, and the answer says so, for a lead to place.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.caseload import allocation, teams
from services.caseload.enrolment import APPLICATION
from services.caseload.touchpoints import is_open
from services.caseload.views import team_caseload
from shared.domain import provenance
from shared.errors import unprocessable
from shared.fhir.entries import guarded_put, unversioned
from shared.fhir.parameters import read_parameters, required
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
REBALANCE_TAKES = {"caseManager": "Reference", "reason": "String"}


async def rebalance(
    client: FhirClient,
    team_id: str,
    body: bytes,
    *,
    clinician: str,
    weights: Mapping[str, int],
    now: datetime,
) -> Resource:
    asked = read_parameters(body, "$rebalance", REBALANCE_TAKES)
    leaving_ref = required(asked, "caseManager", "whose caseload is handed on")
    reason = required(asked, "reason", "why (leaving, away until ...)")
    team, episodes, tasks = await team_caseload(client, team_id)
    managers = {m.id: m for m in teams.case_managers(team, episodes, now=now)}
    leaving = managers.get(leaving_ref)
    if leaving is None:
        raise unprocessable(f"{leaving_ref} is not a case manager of CareTeam/{team_id}")
    theirs = [
        e
        for e in episodes
        if (e.get("careManager") or {}).get("reference") == leaving_ref
        and f"CareTeam/{team_id}" in {str(t.get("reference")) for t in e.get("team") or []}
    ]
    people = [await _person(client, e, team_id) for e in theirs]
    moves = allocation.rebalance(leaving, people, list(managers.values()), weights=weights)
    entries = _entries(moves, theirs, tasks)
    why = [f"{reason}: {m.patient} to {m.to_case_manager}. {' '.join(m.reasons)}" for m in moves]
    if entries:
        await client.transaction(entries, provenance=provenance(clinician, why, now, APPLICATION))
    return {"resourceType": "Parameters", "parameter": [_move(m) for m in moves]}


async def _person(client: FhirClient, episode: Resource, team_id: str) -> allocation.Person:
    patient = str(episode["patient"]["reference"])
    history = await client.search("EpisodeOfCare", [("patient", patient), ("_count", "100")])
    return teams.person(
        patient,
        team=f"CareTeam/{team_id}",
        band=teams.band_of(episode),
        episodes=[e for e in history if e.get("id") != episode.get("id")],
        teams=[],
    )


def _entries(
    moves: tuple[allocation.Move, ...], episodes: list[Resource], tasks: list[Resource]
) -> list[Resource]:
    by_patient = {str(e["patient"]["reference"]): e for e in episodes}
    entries = []
    for move in moves:
        if move.to_case_manager is None:
            continue
        episode = by_patient[move.patient]
        new_owner = {"reference": move.to_case_manager}
        entries.append(guarded_put({**unversioned(episode), "careManager": new_owner}, episode))
        for task in tasks:
            based_on = {str(b.get("reference")) for b in task.get("basedOn") or []}
            if f"EpisodeOfCare/{episode['id']}" in based_on and is_open(task):
                entries.append(guarded_put({**unversioned(task), "owner": new_owner}, task))
    return entries


def _move(move: allocation.Move) -> Resource:
    parts: list[Resource] = [
        {"name": "patient", "valueReference": {"reference": move.patient}},
        {"name": "from", "valueReference": {"reference": move.from_case_manager}},
        *({"name": "reason", "valueString": reason} for reason in move.reasons),
    ]
    if move.to_case_manager is not None:
        parts.insert(2, {"name": "to", "valueReference": {"reference": move.to_case_manager}})
    return {"name": "move", "part": parts}
