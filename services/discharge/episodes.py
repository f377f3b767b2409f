"""The discharge hub's operations on a D2A episode, through the gateway:

- ``EpisodeOfCare/$d2a-identify``: a D2A episode for an inpatient spell (Encounter), linked
  to it, in the state identified;
- ``EpisodeOfCare/{id}/$criteria-to-reside``: a determination recorded (an Observation) and the
  discharge ready date set or cleared;
- ``EpisodeOfCare/{id}/$d2a-delay``: the reason the person is still waiting (or none now);
- ``EpisodeOfCare/{id}/$d2a-transition``: a move of the journey (``journey.transition``). On
  discharge the spell ends, the GP practice and neighbourhood team are told (a Communication,
  which subscribers see at once) and, on pathways 1 to 3, the D2A assessment is due (a Task,
  4 weeks by default); the assessment's Task follows the journey to completion.

Each operation is one transaction with a Provenance naming who did it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.discharge import delays, journey, readiness
from shared.domain import provenance
from shared.errors import FhirError, unprocessable
from shared.fhir.dates import instant, stamp
from shared.fhir.entries import created_at, guarded_put, location, new_id, unversioned
from shared.fhir.parameters import read_parameters, required
from shared.fhir.terms import (
    CARE_COORDINATION_TEAM,
    D2A_ASSESSMENT_TASK,
    D2A_PATHWAYS,
    DISCHARGE_TO_ASSESS,
    EPISODE_TYPE,
    SERVES_PRACTICE_EXTENSION,
    TASK_CODE,
    coding,
    has_coding,
)
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
DESTINATIONS = ("home", "alt-home", "other-hcf", "hosp", "long", "rehab", "snf", "psy", "oth")
TRANSITION_TAKES = {
    "state": "Code",
    "pathway": "Code",
    "reason": "String",
    "at": "DateTime",
    "destination": "Code",
}
IN_HOSPITAL = frozenset({"planned", "arrived", "triaged", "in-progress", "onleave"})
NOTIFICATION = "http://terminology.hl7.org/CodeSystem/communication-category"


@dataclass(frozen=True, slots=True)
class Hub:
    client: FhirClient
    assessment_days: int

    async def identify(self, body: bytes, *, by: str, now: datetime) -> Resource:
        asked = read_parameters(
            body, "$d2a-identify", {"spell": "Reference", "readyDate": "DateTime"}
        )
        spell = await self._spell(required(asked, "spell", "the inpatient stay (Encounter)"))
        if any(await self._open_episodes(spell)):
            raise FhirError(409, f"Encounter/{spell['id']} already has an open D2A episode")
        episode = _new_episode(spell, by, now)
        entries = []
        if asked.get("readyDate"):
            ready = _instant(asked["readyDate"])
            observation = _determined(episode, spell, meets=False, at=ready, now=now)
            episode["extension"] = readiness.with_ready_date(episode, ready, checked=ready)
            entries.append(created_at(observation))
        linked = {
            **unversioned(spell),
            "episodeOfCare": [
                *(spell.get("episodeOfCare") or []),
                {"reference": f"EpisodeOfCare/{episode['id']}"},
            ],
        }
        entries = [created_at(episode), guarded_put(linked, spell), *entries]
        return await self._write(entries, by, now, "Identified for discharge to assess")

    async def criteria_to_reside(
        self, episode_id: str, body: bytes, *, by: str, now: datetime
    ) -> Resource:
        asked = read_parameters(
            body, "$criteria-to-reside", {"meetsCriteria": "Boolean", "at": "DateTime"}
        )
        meets = required(asked, "meetsCriteria", "whether the person meets the criteria to reside")
        at = _instant(asked["at"]) if asked.get("at") else now
        episode = await self._episode(episode_id)
        if journey.state_of(episode) not in journey.BEFORE_DISCHARGE:
            raise FhirError(
                409, "The person has left hospital: the criteria to reside no longer apply"
            )
        spell = await self._spell_of(episode)
        observation = _determined(episode, spell, meets=meets, at=at, now=now)
        # A daily re-check that still finds no criteria to reside keeps the first date.
        ready = None if meets else (journey.ready_date(episode) or at)
        updated = {
            **unversioned(episode),
            "extension": readiness.with_ready_date(episode, ready, checked=at),
        }
        why = (
            "Meets the criteria to reside again"
            if meets
            else "No longer meets the criteria to reside"
        )
        return await self._write(
            [guarded_put(updated, episode), created_at(observation)], by, now, why
        )

    async def delay(self, episode_id: str, body: bytes, *, by: str, now: datetime) -> Resource:
        asked = read_parameters(
            body, "$d2a-delay", {"reason": "Code", "clear": "Boolean", "at": "DateTime"}
        )
        if bool(asked.get("reason")) == bool(asked.get("clear")):
            raise unprocessable(
                "Give a delay reason, or clear: true when nothing holds the person up now",
                code="required",
            )
        episode = await self._episode(episode_id)
        if journey.state_of(episode) not in journey.BEFORE_DISCHARGE:
            raise FhirError(409, "The person has left hospital: there is no delay to record")
        at = _instant(asked["at"]) if asked.get("at") else now
        try:
            extensions = delays.with_delay(episode, asked.get("reason"), at=at)
        except delays.UnknownDelay as unknown:
            raise unprocessable(str(unknown)) from unknown
        updated = {**unversioned(episode), "extension": extensions}
        return await self._write(
            [guarded_put(updated, episode)], by, now, f"Delay: {asked.get('reason') or 'cleared'}"
        )

    async def transition(self, episode_id: str, body: bytes, *, by: str, now: datetime) -> Resource:
        asked = read_parameters(
            body,
            "$d2a-transition",
            TRANSITION_TAKES,
        )
        to = required(asked, "state", "the state to move to")
        destination = asked.get("destination")
        if destination is not None and (to != "discharged" or destination not in DESTINATIONS):
            raise unprocessable(
                "destination goes with state discharged, as one of " + ", ".join(DESTINATIONS)
            )
        at = _instant(asked["at"]) if asked.get("at") else now
        if at > now:
            raise unprocessable(f"{stamp(at)} is in the future: record what has happened")
        episode = await self._episode(episode_id)
        move = journey.Move(
            to=to, at=at, by=by, pathway=asked.get("pathway"), reason=asked.get("reason")
        )
        try:
            moved = journey.transition(episode, move)
        except journey.TransitionRefused as refused:
            raise FhirError(
                refused.status,
                str(refused),
                code="business-rule" if refused.status == 409 else "invalid",
            ) from refused
        consequences = await self._consequences(moved, move, destination)
        entries = [guarded_put(moved, episode), *consequences]
        return await self._write(entries, by, now, asked.get("reason") or f"Now {to}")

    # --- What a transition brings with it --------------------------------------------------------

    async def _consequences(
        self, after: Resource, move: journey.Move, destination: str | None
    ) -> list[Resource]:
        if move.to == "discharged":
            return await self._discharged(after, move.at, destination)
        if move.to in ("assessment-in-progress", "assessment-complete"):
            return [
                guarded_put(_assessment_moved(t, move), t) for t in await self._assessments(after)
            ]
        return []

    async def _discharged(
        self, episode: Resource, at: datetime, destination: str | None
    ) -> list[Resource]:
        spell = await self._spell_of(episode)
        admitted = ((spell or {}).get("period") or {}).get("start")
        if admitted and at < instant(str(admitted)):
            raise unprocessable(f"The discharge ({stamp(at)}) is before the admission ({admitted})")
        entries: list[Resource] = []
        if spell is not None and spell.get("status") in IN_HOSPITAL:
            ended = {
                **unversioned(spell),
                "status": "finished",
                "period": {**spell.get("period", {}), "end": stamp(at)},
            }
            if destination is not None:
                disposition = {"coding": [coding(DISCHARGE_DISPOSITION, destination)]}
                stay = {**(spell.get("hospitalization") or {}), "dischargeDisposition": disposition}
                ended["hospitalization"] = stay
            entries.append(guarded_put(ended, spell))
        patient = await self.client.read(episode["patient"]["reference"])
        team = await self._neighbourhood_team(patient)
        pathway = journey.pathway_of(episode)
        if pathway in ("1", "2", "3"):
            entries.append(created_at(_assessment(episode, team, at, self.assessment_days)))
        entries.append(created_at(_notice(episode, patient, team, pathway, at)))
        return entries

    async def _neighbourhood_team(self, patient: Resource) -> Resource | None:
        """The neighbourhood team serving the person's GP practice, if there is one."""
        practices = {str(p.get("reference")) for p in patient.get("generalPractitioner") or []}
        teams = await self.client.search_all(
            "CareTeam",
            [
                ("status", "active"),
                (
                    "category",
                    f"{CARE_COORDINATION_TEAM['system']}|{CARE_COORDINATION_TEAM['code']}",
                ),
                ("subject:missing", "true"),
                ("_count", "500"),
            ],
        )
        return next((t for t in teams if practices & _practices_served(t)), None)

    # --- Reading and writing ------------------------------------------------------------------

    async def _episode(self, episode_id: str) -> Resource:
        episode = await self.client.read(f"EpisodeOfCare/{episode_id}")
        if not has_coding(episode.get("type") or [], EPISODE_TYPE, DISCHARGE_TO_ASSESS):
            raise FhirError(
                404,
                f"EpisodeOfCare/{episode_id} is not a discharge to assess episode",
                code="not-found",
            )
        return episode

    async def _spell(self, reference: str) -> Resource:
        if not reference.startswith("Encounter/"):
            raise unprocessable(f"{reference!r} must be the inpatient Encounter (Encounter/id)")
        spell = await self.client.read_named(reference, "a stay")
        if (spell.get("class") or {}).get("code") not in ("IMP", "ACUTE", "NONAC") or spell.get(
            "status"
        ) not in IN_HOSPITAL:
            raise unprocessable(f"{reference} is not an inpatient stay in progress")
        return spell

    async def _spell_of(self, episode: Resource) -> Resource | None:
        found = await self.client.search(
            "Encounter", [("episode-of-care", f"EpisodeOfCare/{episode['id']}"), ("_count", "1")]
        )
        return found[0] if found else None

    async def _open_episodes(self, spell: Resource) -> list[Resource]:
        linked = [
            str(e["reference"]) for e in spell.get("episodeOfCare") or [] if e.get("reference")
        ]
        episodes = [await self.client.read(reference) for reference in linked]
        return [
            e
            for e in episodes
            if e.get("status") == "active"
            and has_coding(e.get("type") or [], EPISODE_TYPE, DISCHARGE_TO_ASSESS)
        ]

    async def _assessments(self, episode: Resource) -> list[Resource]:
        found = await self.client.search(
            "Task",
            [
                ("based-on", f"EpisodeOfCare/{episode['id']}"),
                ("code", f"{TASK_CODE}|{D2A_ASSESSMENT_TASK}"),
                ("_count", "10"),
            ],
        )
        return [t for t in found if t.get("status") not in ("completed", "cancelled")]

    async def _write(self, entries: list[Resource], by: str, now: datetime, why: str) -> Resource:
        answer = await self.client.transaction(
            entries, provenance=provenance(by, [why], now, "onestory-discharge")
        )
        return await self.client.read(location(answer["entry"][0]))


def _practices_served(team: Resource) -> set[str]:
    return {
        str((e.get("valueReference") or {}).get("reference"))
        for e in team.get("extension") or []
        if e.get("url") == SERVES_PRACTICE_EXTENSION
    }


def _instant(text: str) -> datetime:
    try:
        return instant(text)
    except ValueError as error:
        raise unprocessable(f"{text!r} is not a date and time") from error


def _determined(
    episode: Resource, spell: Resource | None, *, meets: bool, at: datetime, now: datetime
) -> Resource:
    try:
        return {
            **readiness.determination(episode, spell, meets_criteria=meets, at=at, now=now),
            "id": new_id(),
        }
    except readiness.ReadinessRefused as refused:
        raise unprocessable(str(refused)) from refused


def _new_episode(spell: Resource, by: str, now: datetime) -> Resource:
    episode: Resource = {
        "resourceType": "EpisodeOfCare",
        "id": new_id(),
        "status": "active",
        "type": [{"coding": [coding(EPISODE_TYPE, DISCHARGE_TO_ASSESS, "Discharge to assess")]}],
        "patient": spell["subject"],
        "period": {"start": stamp(now)},
        "extension": [],
    }
    if spell.get("serviceProvider"):
        episode["managingOrganization"] = spell["serviceProvider"]
    if by.startswith("Practitioner/"):
        episode["careManager"] = {"reference": by}
    episode["extension"] = journey.begun(journey.Move("identified", now, by))
    return episode


def _assessment(episode: Resource, team: Resource | None, at: datetime, days: int) -> Resource:
    pathway = journey.pathway_of(episode) or "?"
    on = D2A_PATHWAYS.get(pathway, pathway)
    task: Resource = {
        "resourceType": "Task",
        "id": new_id(),
        "status": "requested",
        "intent": "order",
        "priority": "routine",
        "code": {"coding": [coding(TASK_CODE, D2A_ASSESSMENT_TASK, "D2A assessment")]},
        "description": f"Assess longer-term needs after discharge on {on}",
        "for": episode["patient"],
        "basedOn": [{"reference": f"EpisodeOfCare/{episode['id']}"}],
        "focus": {"reference": f"EpisodeOfCare/{episode['id']}"},
        "authoredOn": stamp(at),
        "restriction": {"period": {"end": stamp(at + timedelta(days=days))}},
    }
    if team is not None:
        task["owner"] = {"reference": f"CareTeam/{team['id']}", "display": team.get("name")}
    return task


def _assessment_moved(task: Resource, move: journey.Move) -> Resource:
    """The assessment Task as the journey moves: started, then done (its execution period
    says when, so overdue assessments can be counted at any date)."""
    moved = unversioned(task)
    period = dict(task.get("executionPeriod") or {})
    if move.to == "assessment-in-progress":
        moved["status"], period["start"] = "in-progress", stamp(move.at)
    else:
        moved["status"], period["end"] = "completed", stamp(move.at)
        period.setdefault("start", stamp(move.at))
    moved["executionPeriod"] = period
    return moved


def _notice(
    episode: Resource, patient: Resource, team: Resource | None, pathway: str | None, at: datetime
) -> Resource:
    recipients = [
        {"reference": p["reference"]}
        for p in patient.get("generalPractitioner") or []
        if p.get("reference")
    ]
    if team is not None:
        recipients.append({"reference": f"CareTeam/{team['id']}"})
    where = D2A_PATHWAYS.get(pathway or "", "a pathway not recorded")
    return {
        "resourceType": "Communication",
        "id": new_id(),
        "status": "completed",
        "category": [{"coding": [{"system": NOTIFICATION, "code": "notification"}]}],
        "subject": episode["patient"],
        "about": [{"reference": f"EpisodeOfCare/{episode['id']}"}],
        "sent": stamp(at),
        "recipient": recipients,
        "sender": {"display": "Hospital discharge hub"},
        "payload": [{"contentString": f"Discharged from hospital on {stamp(at)[:10]}: {where}."}],
    }
