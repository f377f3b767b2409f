"""The triage decision table and the pure function that applies it to a referral.

The table (``decision-table.yaml``: versioned data, format in docs/triage.md) says which rules
fire on which facts and where each sends the referral; what a rule's ``when`` may say is the
condition language in ``services.triage.conditions``. ``load_table`` refuses a table with
anything wrong in it, naming the file, the rule and the fault, so the service never starts on
a table it cannot trust. ``decide`` is pure and deterministic. No I/O here apart from reading
the table file; nothing here knows FHIR resources, HTTP or the directory of services.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.triage.conditions import Condition, read_condition
from services.triage.facts import Decision, ReferralFacts
from shared.datafile import (
    DataFileError,
    Invalid,
    Reader,
    read_boolean,
    read_choice,
    read_keys,
    read_list,
    read_list_of,
    read_text,
    read_whole,
    read_yaml,
)
from shared.fhir.terms import TRIAGE_ROUTES

PRIORITIES = ("stat", "asap", "urgent", "routine")  # most urgent first (ServiceRequest.priority)


class DecisionTableError(DataFileError):
    """The decision table cannot be used; the message names the file, the place and the fault."""


# --- The table and the decision -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    reason: str  # one sentence a clinician reads
    when: Condition
    route: str  # a TRIAGE_ROUTES code
    priority: str  # one of PRIORITIES
    advice: str | None = None  # what the caller is told
    respond_within_minutes: int | None = None  # None: the route's deadline
    stops: bool = False  # when it fires it decides, and no later rule is tried


@dataclass(frozen=True, slots=True)
class DecisionTable:
    version: str
    default_route: str  # when no rule fires
    default_priority: str
    default_reason: str
    deadlines_minutes: Mapping[str, int | None]  # every route; None: no deadline
    precedence: tuple[str, ...]  # every route, the most urgent first
    rules: tuple[Rule, ...]
    description: str | None = None
    source: str = ""  # where the table was read from

    def deadline(self, route: str, overrides: Mapping[str, int] | None = None) -> int | None:
        """The response deadline in minutes for a route: configuration first, then the table."""
        if overrides and route in overrides:
            return overrides[route]
        return self.deadlines_minutes[route]


def decide(
    table: DecisionTable,
    facts: ReferralFacts,
    deadline_overrides: Mapping[str, int] | None = None,
) -> Decision:
    """Triage one referral. Every rule whose condition holds fires, in table order, until one
    that stops: that rule decides. Otherwise the fired route highest in the table's precedence
    wins, and its most urgent rule (the first, on a tie) gives priority, advice and deadline.
    When nothing fires the table's default decides, with the default reason."""
    check_deadline_overrides(deadline_overrides or {})
    fired = _fired(table, facts)
    if not fired:
        return Decision(
            route=table.default_route,
            priority=table.default_priority,
            respond_within_minutes=table.deadline(table.default_route, deadline_overrides),
            table_version=table.version,
            fired=(),
            reasons=(table.default_reason,),
        )
    deciding = fired[-1] if fired[-1].stops else _most_urgent(table, fired)
    minutes = deciding.respond_within_minutes
    if minutes is None:
        minutes = table.deadline(deciding.route, deadline_overrides)
    return Decision(
        route=deciding.route,
        priority=deciding.priority,
        respond_within_minutes=minutes,
        table_version=table.version,
        fired=tuple(rule.id for rule in fired),
        reasons=tuple(rule.reason for rule in fired),
        advice=deciding.advice,
    )


def check_deadline_overrides(overrides: Mapping[str, int]) -> None:
    """Refuse configured deadlines for unknown routes or of less than a minute (call at start)."""
    unknown = sorted(set(overrides) - set(TRIAGE_ROUTES))
    if unknown:
        raise ValueError(f"Deadline overrides name unknown routes: {', '.join(unknown)}")
    for route, minutes in overrides.items():
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
            raise ValueError(f"The deadline override for {route} must be whole minutes, 1 or more")


def _fired(table: DecisionTable, facts: ReferralFacts) -> list[Rule]:
    fired: list[Rule] = []
    for rule in table.rules:
        if rule.when.holds(facts):
            fired.append(rule)
            if rule.stops:
                break
    return fired


def _most_urgent(table: DecisionTable, fired: list[Rule]) -> Rule:
    # min() keeps the first of equals, so table order breaks ties
    return min(fired, key=lambda r: (table.precedence.index(r.route), PRIORITIES.index(r.priority)))


# --- Reading the table: every fault named with its file and place -------------------------------


def load_table(path: str | Path) -> DecisionTable:
    """Read and check a decision table file; DecisionTableError says what is wrong and where."""
    source = str(path)
    document = read_yaml(path, "decision table", DecisionTableError)
    return parse_table(document, source=source)


def parse_table(document: object, *, source: str = "decision table") -> DecisionTable:
    """Check a decision table already read into Python objects (``load_table`` reads a file)."""
    try:
        return DecisionTable(**_record(document, "", _TABLE_FIELDS), source=source)
    except Invalid as invalid:
        raise DecisionTableError(f"{source}: {invalid}") from None


_REQUIRED = object()


def _record(value: object, where: str, fields: Mapping[str, tuple[Reader, Any]]) -> dict[str, Any]:
    """A mapping read field by field: fields maps each key to (reader, default or _REQUIRED)."""
    required = [name for name, (_, default) in fields.items() if default is _REQUIRED]
    body = read_keys(value, where, required=required, allowed=list(fields))
    found: dict[str, Any] = {}
    for name, (read, default) in fields.items():
        given = body.get(name)
        skip = given is None and default is not _REQUIRED
        found[name] = default if skip else read(given, f"{where}.{name}" if where else name)
    return found


def _deadlines(value: object, where: str) -> dict[str, int | None]:
    body = read_keys(value, where, required=list(TRIAGE_ROUTES), allowed=list(TRIAGE_ROUTES))
    return {
        route: None if body[route] is None else _minutes(body[route], f"{where}.{route}")
        for route in TRIAGE_ROUTES
    }


def _precedence(value: object, where: str) -> tuple[str, ...]:
    routes: tuple[str, ...] = read_list_of(_route)(value, where)
    twice = sorted({r for r in routes if routes.count(r) > 1})
    missing = [r for r in TRIAGE_ROUTES if r not in routes]
    if twice:
        raise Invalid(where, f"names {', '.join(twice)} more than once")
    if missing:
        raise Invalid(where, f"must list every route: it leaves out {', '.join(missing)}")
    return routes


def _rules(value: object, where: str) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for position, item in enumerate(read_list(value, where), start=1):
        named = item.get("id") if isinstance(item, dict) else None
        place = f"rule {position}" + (f" ({named})" if isinstance(named, str) else "")
        rule = Rule(**_record(item, place, _RULE_FIELDS))
        earlier = [n for n, r in enumerate(rules, start=1) if r.id == rule.id]
        if earlier:
            raise Invalid(f"{place}.id", f"{rule.id!r} is already the id of rule {earlier[0]}")
        rules.append(rule)
    return tuple(rules)


def _rule_id(value: object, where: str) -> str:
    rule_id = read_text(value, where)
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule_id):
        raise Invalid(where, f"{rule_id!r} must be lower-case words joined by hyphens")
    return rule_id


def _route(value: object, where: str) -> str:
    return read_choice(value, where, TRIAGE_ROUTES, "route")


def _priority(value: object, where: str) -> str:
    return read_choice(value, where, PRIORITIES, "priority")


def _minutes(value: object, where: str) -> int:
    return read_whole(value, where, 1, None)


# --- What the table may say: its fields and the rules' fields --------------------------------

_TABLE_FIELDS: dict[str, tuple[Reader, Any]] = {
    "version": (read_text, _REQUIRED),
    "description": (read_text, None),
    "default_route": (_route, _REQUIRED),
    "default_priority": (_priority, _REQUIRED),
    "default_reason": (read_text, _REQUIRED),
    "deadlines_minutes": (_deadlines, _REQUIRED),
    "precedence": (_precedence, _REQUIRED),
    "rules": (_rules, _REQUIRED),
}
_RULE_FIELDS: dict[str, tuple[Reader, Any]] = {
    "id": (_rule_id, _REQUIRED),
    "reason": (read_text, _REQUIRED),
    "when": (read_condition, _REQUIRED),
    "route": (_route, _REQUIRED),
    "priority": (_priority, _REQUIRED),
    "advice": (read_text, None),
    "respond_within_minutes": (_minutes, None),
    "stops": (read_boolean, False),
}
