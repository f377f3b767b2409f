"""Legitimate relationships: may this member of staff open this person's record?

Yes when the person is on the caseload or register of the staff member or their team
(EpisodeOfCare care manager or team, CareTeam participant), has a referral or task owned by
them, their team or organisation (ServiceRequest performer, Task owner), or is an inpatient
under their organisation (Encounter in progress). Answers are cached for a minute.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from gateway.recordclient import RecordClient
from shared.auth.tokens import Principal
from shared.fhir.terms import DSR_LABEL

_OPEN_TASK = "requested,received,accepted,ready,in-progress,on-hold"


@dataclass(frozen=True, slots=True)
class StaffIdentity:
    """Everything a relationship can be held through: the person, their teams, their
    organisations."""

    references: frozenset[str]


class Relationships:
    def __init__(self, record: RecordClient, *, ttl_seconds: float = 60.0) -> None:
        self.record = record
        self.ttl = ttl_seconds
        self._identities: dict[str, tuple[float, StaffIdentity]] = {}
        self._answers: dict[tuple[str, str], tuple[float, bool]] = {}
        self._register_teams: dict[tuple[str, str], tuple[float, bool]] = {}

    async def identity(self, principal: Principal) -> StaffIdentity:
        key = principal.fhir_user or principal.subject
        cached = self._identities.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        identity = await self._load_identity(principal)
        self._identities[key] = (time.monotonic() + self.ttl, identity)
        return identity

    async def _load_identity(self, principal: Principal) -> StaffIdentity:
        references = {r for r in (principal.fhir_user, principal.organization) if r}
        practitioner = (
            principal.fhir_user if (principal.fhir_user or "").startswith("Practitioner/") else None
        )
        if principal.fhir_user and principal.fhir_user.startswith("PractitionerRole/"):
            roles = await self.record.search(
                "PractitionerRole", [("_id", principal.fhir_user.split("/", 1)[1])]
            )
            practitioner = _ref(roles[0].get("practitioner")) if roles else None
        if practitioner:
            references.add(practitioner)
            roles, teams = await self.record.batch_search(
                [
                    f"PractitionerRole?practitioner={practitioner}&_count=100",
                    f"CareTeam?participant={practitioner}&status=active&_count=100",
                ]
            )
            references |= {f"PractitionerRole/{r['id']}" for r in roles}
            references |= {r for role in roles if (r := _ref(role.get("organization")))}
            references |= {f"CareTeam/{t['id']}" for t in teams}
        return StaffIdentity(frozenset(references))

    async def legitimate(self, principal: Principal, patient_id: str) -> bool:
        key = (principal.fhir_user or principal.subject, patient_id)
        cached = self._answers.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        identity = await self.identity(principal)
        answer = bool(identity.references) and await self._related(identity, patient_id)
        self._answers[key] = (time.monotonic() + self.ttl, answer)
        return answer

    async def on_register_team(self, principal: Principal, patient_id: str) -> bool:
        """Is this member of staff on the person's dynamic support register team (their
        keyworker and the professionals around them: a CareTeam with the DSR label)?"""
        key = (principal.fhir_user or principal.subject, patient_id)
        cached = self._register_teams.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        identity = await self.identity(principal)
        teams = await self.record.search(
            "CareTeam",
            [
                ("patient", patient_id),
                ("status", "active"),
                ("_security", f"{DSR_LABEL['system']}|{DSR_LABEL['code']}"),
            ],
        )
        held = identity.references
        answer = any(_participants(t) & held or {f"CareTeam/{t['id']}"} & held for t in teams)
        self._register_teams[key] = (time.monotonic() + self.ttl, answer)
        return answer

    async def _related(self, identity: StaffIdentity, patient_id: str) -> bool:
        episodes, teams, referrals, tasks, stays = await self.record.batch_search(
            [
                f"EpisodeOfCare?patient={patient_id}&status=active,planned,waitlist,onhold",
                f"CareTeam?patient={patient_id}&status=active",
                f"ServiceRequest?patient={patient_id}&status=active,on-hold,draft",
                f"Task?patient={patient_id}&status={_OPEN_TASK}",
                f"Encounter?patient={patient_id}&status=in-progress,arrived,onleave",
            ]
        )
        held = identity.references
        return (
            any(_refs(e, "careManager", "team", "managingOrganization") & held for e in episodes)
            or any(_participants(t) & held or {f"CareTeam/{t['id']}"} & held for t in teams)
            or any(_refs(r, "performer") & held for r in referrals)
            or any(_refs(t, "owner") & held for t in tasks)
            or any(_refs(s, "serviceProvider") & held or _encounter_staff(s) & held for s in stays)
        )


def _ref(value: Any) -> str | None:
    return value.get("reference") if isinstance(value, dict) else None


def _refs(resource: dict[str, Any], *fields: str) -> set[str]:
    found: set[str] = set()
    for name in fields:
        value = resource.get(name)
        for item in value if isinstance(value, list) else [value]:
            if (reference := _ref(item)) is not None:
                found.add(reference)
    return found


def _participants(team: dict[str, Any]) -> set[str]:
    return {r for p in team.get("participant", []) if (r := _ref(p.get("member")))}


def _encounter_staff(encounter: dict[str, Any]) -> set[str]:
    return {r for p in encounter.get("participant", []) if (r := _ref(p.get("individual")))}
