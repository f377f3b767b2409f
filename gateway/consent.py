"""A resident's Consent decides who may see their record.

By default every partner may (implied consent for direct care). An active Consent whose
provisions say ``deny`` takes away access, for everyone or for named actors (an organisation,
a practitioner, a role), to everything or only to resources with a given security label
(mental health, sexual health...). Nested provisions are read as exceptions to the base rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.fhir.dates import date_range


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks, in the terms Consent provisions name actors by."""

    references: frozenset[str]  # "Practitioner/1", "Organization/rhu", ...
    roles: frozenset[str]  # role codes


@dataclass(frozen=True, slots=True)
class DenyRule:
    actors: frozenset[str]
    roles: frozenset[str]
    labels: frozenset[tuple[str | None, str]]
    start: int | None
    end: int | None

    def applies_to(self, caller: Caller, now: int) -> bool:
        if self.start is not None and now < self.start:
            return False
        if self.end is not None and now > self.end:
            return False
        if not self.actors and not self.roles:
            return True
        return bool(self.actors & caller.references or self.roles & caller.roles)

    def covers(self, resource: dict[str, Any]) -> bool:
        if not self.labels:
            return True
        labels = {(c.get("system"), c.get("code")) for c in _codings(resource, "security")}
        codes = {code for _, code in labels}
        return any(
            label in labels or (label[0] is None and label[1] in codes) for label in self.labels
        )


def deny_rules(consents: Iterable[dict[str, Any]]) -> list[DenyRule]:
    rules: list[DenyRule] = []
    for consent in consents:
        if consent.get("status") != "active":
            continue
        rules += list(_provision_rules(consent.get("provision") or {}))
    return rules


def _provision_rules(provision: dict[str, Any]) -> Iterable[DenyRule]:
    if provision.get("type") == "deny":
        yield _rule(provision)
    for nested in provision.get("provision", []) or []:
        yield from _provision_rules(nested)


def _rule(provision: dict[str, Any]) -> DenyRule:
    actors, roles = set(), set()
    for actor in provision.get("actor", []) or []:
        reference = (actor.get("reference") or {}).get("reference")
        if reference:
            actors.add(reference)
        roles |= {c.get("code") for c in (actor.get("role") or {}).get("coding", [])}
    labels = {
        (c.get("system"), c["code"])
        for c in provision.get("securityLabel", []) or []
        if c.get("code")
    }
    period = provision.get("period") or {}
    start = date_range(period["start"])[0] if period.get("start") else None
    end = date_range(period["end"])[1] if period.get("end") else None
    return DenyRule(
        frozenset(actors), frozenset(r for r in roles if r), frozenset(labels), start, end
    )


def denied(rules: list[DenyRule], caller: Caller, resource: dict[str, Any]) -> bool:
    """Does any deny provision keep ``resource`` from ``caller``?"""
    now = int(datetime.now(UTC).timestamp() * 1_000_000)
    return any(rule.applies_to(caller, now) and rule.covers(resource) for rule in rules)


def _codings(resource: dict[str, Any], field: str) -> list[dict[str, Any]]:
    codings = (resource.get("meta") or {}).get(field, [])
    return [c for c in codings if isinstance(c, dict)]
