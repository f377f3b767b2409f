"""Putting a person on a neighbourhood team's caseload (``EpisodeOfCare/$enrol``) and taking
them off it (``EpisodeOfCare/{id}/$leave``).

Enrolment needs a clinician's confirmation: a Clinical Frailty Scale Observation of the person
(``confirmation``) or a decision with its reason (``decision``). The eFI alone never enrols
anyone. The case manager is allocated automatically (``allocation.allocate``: neighbourhood,
continuity, weighted capacity) unless a lead names one (``careManager``; over capacity or to
someone away only with an ``overrideReason``). One transaction writes the EpisodeOfCare and
the first touchpoint, with a Provenance that names the clinician and gives the reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.caseload import allocation, teams
from services.caseload.touchpoints import is_open, next_touchpoint
from services.caseload.views import with_member_names
from shared.domain import provenance
from shared.errors import FhirError, unprocessable
from shared.fhir.dates import stamp
from shared.fhir.entries import created_at, guarded_put, location, new_id, unversioned
from shared.fhir.parameters import read_parameters, required
from shared.fhir.terms import (
    CLINICAL_FRAILTY_SCALE,
    EFI_RISK,
    EPISODE_TYPE,
    FRAILTY_BAND,
    LEAVING_REASON,
    LEAVING_REASON_EXTENSION,
    LEAVING_REASONS,
    PROACTIVE_CASE_MANAGEMENT,
    SNOMED,
    coding,
    has_coding,
)
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
ENROL_TAKES = {
    "patient": "Reference",
    "team": "Reference",
    "confirmation": "Reference",
    "decision": "String",
    "careManager": "Reference",
    "overrideReason": "String",
}
LEAVE_TAKES = {"reason": "Code", "note": "String"}
APPLICATION = "onestory-caseload"
NEEDS_CONFIRMATION = (
    "Enrolment needs a clinician's confirmation: a Clinical Frailty Scale Observation of the "
    "person (confirmation) or a decision with its reason (decision). The eFI alone never "
    "enrols anyone."
)


@dataclass(frozen=True, slots=True)
class Policy:
    touchpoint_days: Mapping[str, int | None]
    weights: Mapping[str, int]


async def enrol(
    client: FhirClient, body: bytes, *, clinician: str, policy: Policy, now: datetime
) -> Resource:
    """Enrol a person: the Parameters answer holds the episode, its first touchpoint and
    the reasons for the choice of case manager."""
    asked = read_parameters(body, "$enrol", ENROL_TAKES)
    patient = _typed(required(asked, "patient", "whom to enrol"), "Patient")
    team = await _team(client, _typed(required(asked, "team", "whose caseload"), "CareTeam"))
    confirmed_by, frailty_scale = await _confirmation(client, asked, patient)
    await _not_enrolled(client, patient)
    band = await _band(client, patient) or _band_of_scale(frailty_scale)
    chosen = await _allocate(client, asked, patient, team, band, clinician, policy, now)
    episode = _episode(patient, team, band, chosen, now)
    touchpoint = next_touchpoint(
        episode, after=now, following="enrolled", days=policy.touchpoint_days
    )
    entries = [created_at(episode)]
    if touchpoint is not None:
        entries.append(created_at({**touchpoint, "id": new_id()}))
    why = [*chosen.reasons, f"Confirmed by: {confirmed_by}"]
    answer = await client.transaction(
        entries, provenance=provenance(clinician, why, now, APPLICATION)
    )
    stored = [await client.read(location(entry)) for entry in answer["entry"]]
    return _answer(stored, chosen)


async def leave(
    client: FhirClient, episode_id: str, body: bytes, *, clinician: str, now: datetime
) -> Resource:
    """Take a person off the caseload with a reason; their open touchpoints are cancelled."""
    asked = read_parameters(body, "$leave", LEAVE_TAKES)
    reason = required(asked, "reason", f"why they leave ({', '.join(LEAVING_REASONS)})")
    if reason not in LEAVING_REASONS:
        raise unprocessable(
            f"{reason!r} is not a reason to leave: use {', '.join(LEAVING_REASONS)}"
        )
    episode = await client.read(f"EpisodeOfCare/{episode_id}")
    if not teams.is_caseload_episode(episode) or episode.get("status") != "active":
        raise FhirError(409, f"EpisodeOfCare/{episode_id} is not an active caseload episode")
    ended = _ended(episode, reason, now)
    tasks = await client.search(
        "Task",
        [("based-on", f"EpisodeOfCare/{episode_id}"), ("_count", "200")],
    )
    entries = [guarded_put(ended, episode)]
    entries += [guarded_put(_cancelled(t, LEAVING_REASONS[reason]), t) for t in tasks if is_open(t)]
    why = [
        f"Left the caseload: {LEAVING_REASONS[reason]}",
        *([asked["note"]] if asked.get("note") else []),
    ]
    await client.transaction(entries, provenance=provenance(clinician, why, now, APPLICATION))
    return await client.read(f"EpisodeOfCare/{episode_id}")


# --- Checks ---------------------------------------------------------------------------------


def _typed(reference: str, kind: str) -> str:
    if not reference.startswith(f"{kind}/"):
        raise unprocessable(f"{reference!r} must be a {kind} reference ({kind}/id)")
    return reference


async def _team(client: FhirClient, reference: str) -> Resource:
    team = await with_member_names(
        client, await client.read_named(reference, "a neighbourhood team")
    )
    if not any(teams.is_case_manager(p) for p in team.get("participant") or []):
        raise unprocessable(f"{reference} has no case managers: it is not a neighbourhood team")
    return team


async def _confirmation(
    client: FhirClient, asked: Mapping[str, Any], patient: str
) -> tuple[str, int | None]:
    """What confirmed the need (the CFS Observation, or the clinician's decision), and the
    Clinical Frailty Scale score when there is one."""
    if asked.get("confirmation"):
        reference = _typed(asked["confirmation"], "Observation")
        observation = await client.read_named(reference, "an Observation")
        if not has_coding(observation.get("code"), SNOMED, CLINICAL_FRAILTY_SCALE):
            raise unprocessable(f"{reference} is not a Clinical Frailty Scale score")
        if (observation.get("subject") or {}).get("reference") != patient:
            raise unprocessable(f"{reference} is not about {patient}")
        score = observation.get("valueInteger")
        scale = score if isinstance(score, int) and 1 <= score <= 9 else None
        return f"{reference} (Clinical Frailty Scale {score})", scale
    if asked.get("decision"):
        return f"a clinician's decision: {asked['decision']}", None
    raise unprocessable(NEEDS_CONFIRMATION, code="required")


async def _not_enrolled(client: FhirClient, patient: str) -> None:
    open_episodes = await client.search(
        "EpisodeOfCare",
        [
            ("patient", patient),
            ("type", f"{EPISODE_TYPE}|{PROACTIVE_CASE_MANAGEMENT}"),
            ("status", "active,planned,waitlist,onhold"),
        ],
    )
    if open_episodes:
        raise FhirError(
            409, f"{patient} is already on a caseload (EpisodeOfCare/{open_episodes[0]['id']})"
        )


async def _band(client: FhirClient, patient: str) -> str | None:
    """What the person weighs: the band of their latest eFI, if they have one."""
    latest = await client.search(
        "RiskAssessment",
        [
            ("patient", patient),
            EFI_RISK,
            ("_sort", "-date"),
            ("_count", "1"),
        ],
    )
    for assessment in latest:
        risk = (assessment.get("prediction") or [{}])[0].get("qualitativeRisk") or {}
        for found in risk.get("coding") or []:
            if found.get("system") == FRAILTY_BAND:
                return str(found["code"])
    return None


def _band_of_scale(score: int | None) -> str:
    """Without an eFI, the band the Clinical Frailty Scale suggests (5 mild, 6 moderate,
    7 and above severe, 4 and below fit); moderate when nothing is known."""
    if score is None:
        return "moderate"
    return "severe" if score >= 7 else {6: "moderate", 5: "mild"}.get(score, "fit")


async def _allocate(
    client: FhirClient,
    asked: Mapping[str, Any],
    patient: str,
    team: Resource,
    band: str,
    clinician: str,
    policy: Policy,
    now: datetime,
) -> allocation.Allocation:
    members = [
        str(p["member"]["reference"]) for p in team.get("participant") or [] if p.get("member")
    ]
    caseloads = await client.search_all(
        "EpisodeOfCare",
        [
            ("type", f"{EPISODE_TYPE}|{PROACTIVE_CASE_MANAGEMENT}"),
            ("status", "active"),
            ("care-manager", ",".join(members)),
            ("_count", "1000"),
        ],
    )
    managers = teams.case_managers(team, caseloads, now=now)
    history = await client.search("EpisodeOfCare", [("patient", patient), ("_count", "100")])
    their_teams = await client.search("CareTeam", [("patient", patient), ("_count", "50")])
    person = teams.person(
        patient, team=f"CareTeam/{team['id']}", band=band, episodes=history, teams=their_teams
    )
    if asked.get("careManager"):
        return _overridden(person, managers, asked, clinician, policy)
    chosen = allocation.allocate(person, managers, weights=policy.weights)
    if chosen.case_manager is None:
        raise FhirError(409, " ".join(chosen.reasons) + " Name them in careManager.")
    return chosen


def _overridden(
    person: allocation.Person,
    managers: list[allocation.CaseManager],
    asked: Mapping[str, Any],
    clinician: str,
    policy: Policy,
) -> allocation.Allocation:
    wanted = asked["careManager"]
    manager = next((m for m in managers if m.id == wanted), None)
    if manager is None:
        raise unprocessable(f"{wanted} is not a case manager of this team")
    try:
        return allocation.override(
            person,
            manager,
            lead=clinician,
            reason=asked.get("overrideReason"),
            weights=policy.weights,
        )
    except allocation.OverrideRefused as refused:
        raise unprocessable(str(refused), code="required") from refused


# --- What is written ----------------------------------------------------------------------------


def _episode(
    patient: str, team: Resource, band: str, chosen: allocation.Allocation, now: datetime
) -> Resource:
    episode: Resource = {
        "resourceType": "EpisodeOfCare",
        "id": new_id(),  # chosen here, so the first touchpoint can name it
        "status": "active",
        "type": [
            {
                "coding": [
                    coding(EPISODE_TYPE, PROACTIVE_CASE_MANAGEMENT, "Proactive case management")
                ]
            }
        ],
        "patient": {"reference": patient},
        "period": {"start": stamp(now)},
        "team": [{"reference": f"CareTeam/{team['id']}", "display": team.get("name")}],
        "careManager": {"reference": str(chosen.case_manager)},
        "extension": [teams.band_coding(band)],
    }
    if team.get("managingOrganization"):
        episode["managingOrganization"] = team["managingOrganization"][0]
    return episode


def _ended(episode: Resource, reason: str, now: datetime) -> Resource:
    ended = unversioned(episode)
    ended["status"] = "finished"
    ended["period"] = {**(episode.get("period") or {}), "end": stamp(now)}
    leaving = {
        "url": LEAVING_REASON_EXTENSION,
        "valueCoding": coding(LEAVING_REASON, reason, LEAVING_REASONS[reason]),
    }
    ended["extension"] = [*(episode.get("extension") or []), leaving]
    return ended


def _cancelled(task: Resource, why: str) -> Resource:
    cancelled = unversioned(task)
    cancelled["status"] = "cancelled"
    cancelled["statusReason"] = {"text": f"Left the caseload: {why}"}
    return cancelled


def _answer(stored: list[Resource], chosen: allocation.Allocation) -> Resource:
    parameters: list[Resource] = [{"name": "episode", "resource": stored[0]}]
    if len(stored) > 1:
        parameters.append({"name": "touchpoint", "resource": stored[1]})
    parameters += [{"name": "allocation", "valueString": reason} for reason in chosen.reasons]
    parameters += [
        {"name": "passedOver", "valueString": f"{p.case_manager}: {p.reason}"}
        for p in chosen.passed_over
    ]
    return {"resourceType": "Parameters", "parameter": parameters}
