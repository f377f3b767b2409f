"""Who may see and change whose record, by the kind of caller.

- A service (system/ scopes) acts for the care system and sees what its scopes allow.
- A resident (patient/ scopes) is confined to their own compartment.
- Staff (user/ scopes) need a legitimate relationship with the person (or break the glass),
  and the person's Consent may still keep resources or the whole record from them. What is on
  the dynamic support register (the DSR security label) only the register's team and the
  person's own DSR keyworker and team see; breaking the glass does not open it.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from gateway.compartment import in_compartment_type, patients_of
from gateway.consent import Caller, DenyRule, denied, deny_rules
from gateway.recordclient import RecordClient
from gateway.relationships import Relationships
from shared.auth.tokens import Principal
from shared.errors import FhirError
from shared.fhir.terms import DSR_LABEL, DSR_TEAM_ROLE, has_label


def forbidden(diagnostics: str) -> FhirError:
    return FhirError(403, diagnostics, code="forbidden")


class Guard(Protocol):
    async def check_patients(self, patient_ids: set[str], resource_type: str) -> None:
        """403 unless the caller may act on these patients' records."""

    async def visible(self, resource: dict[str, Any]) -> bool:
        """May the caller see this resource (it stays in, or is withheld from, an answer)?"""


class ServiceGuard:
    async def check_patients(self, patient_ids: set[str], resource_type: str) -> None:
        return None

    async def visible(self, resource: dict[str, Any]) -> bool:
        return True


class ResidentGuard:
    def __init__(self, patient_id: str) -> None:
        self.patient_id = patient_id

    async def check_patients(self, patient_ids: set[str], resource_type: str) -> None:
        if in_compartment_type(resource_type) and patient_ids != {self.patient_id}:
            raise forbidden("A resident's token reaches only their own record")

    async def visible(self, resource: dict[str, Any]) -> bool:
        if not in_compartment_type(resource.get("resourceType", "")):
            return True
        return patients_of(resource) == {self.patient_id}


class ConsentCache:
    """Each person's deny rules, read from their active Consents, kept briefly."""

    def __init__(self, record: RecordClient, *, ttl_seconds: float = 10.0) -> None:
        self.record = record
        self.ttl = ttl_seconds
        self._rules: dict[str, tuple[float, list[DenyRule]]] = {}

    async def rules(self, patient_id: str) -> list[DenyRule]:
        cached = self._rules.get(patient_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        consents = await self.record.search(
            "Consent", [("patient", patient_id), ("status", "active"), ("_count", "100")]
        )
        rules = deny_rules(consents)
        self._rules[patient_id] = (time.monotonic() + self.ttl, rules)
        return rules

    def forget(self, patient_id: str) -> None:
        self._rules.pop(patient_id, None)


class StaffGuard:
    def __init__(
        self,
        principal: Principal,
        relationships: Relationships,
        consents: ConsentCache,
        *,
        break_glass_reason: str | None,
    ) -> None:
        self.principal = principal
        self.relationships = relationships
        self.consents = consents
        self.break_glass_reason = break_glass_reason
        self.broke_glass = False
        roles = principal.claims.get("roles", [])
        self.caller = Caller(
            references=frozenset(r for r in (principal.fhir_user, principal.organization) if r),
            roles=frozenset(roles if isinstance(roles, list) else []),
        )

    async def check_patients(self, patient_ids: set[str], resource_type: str) -> None:
        for patient_id in patient_ids:
            if not await self._may_open(patient_id):
                raise forbidden(
                    "No legitimate relationship with this person: they are not on your "
                    "team's caseload or register and have no referral, task or stay with you. "
                    "In an emergency, state a reason in X-Break-Glass-Reason."
                )

    async def visible(self, resource: dict[str, Any]) -> bool:
        patient_ids = patients_of(resource)
        for patient_id in patient_ids:
            if not await self._may_open(patient_id):
                return False
            if denied(await self.consents.rules(patient_id), self.caller, resource):
                return False
        if has_label(resource, DSR_LABEL):
            return await self._may_see_register(patient_ids)
        return True

    async def _may_see_register(self, patient_ids: set[str]) -> bool:
        if DSR_TEAM_ROLE in self.caller.roles:
            return True
        if not patient_ids:
            return False
        for patient_id in patient_ids:
            if not await self.relationships.on_register_team(self.principal, patient_id):
                return False
        return True

    async def _may_open(self, patient_id: str) -> bool:
        if await self.relationships.legitimate(self.principal, patient_id):
            return True
        if self.break_glass_reason:
            self.broke_glass = True
            return True
        return False
