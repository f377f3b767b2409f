"""The triage decision table and the pure function that applies it to a referral.

The table (``decision-table.yaml``: versioned data, format in docs/triage.md) says which rules
fire on which facts and where each sends the referral. ``load_table`` refuses a table with
anything wrong in it, naming the file, the rule and the fault, so the service never starts on
a table it cannot trust. ``decide`` is pure and deterministic. No I/O here apart from reading
the table file; nothing here knows FHIR resources, HTTP or the directory of services.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from services.triage.facts import Decision, ReferralFacts
from shared.fhir.terms import REFERRAL_CHANNELS, REFERRAL_SERVICES, TRIAGE_ROUTES

PRIORITIES = ("stat", "asap", "urgent", "routine")  # most urgent first (ServiceRequest.priority)
EFI_BANDS = ("fit", "mild", "moderate", "severe")  # electronic Frailty Index bands


class DecisionTableError(ValueError):
    """The decision table cannot be used; the message names the file, the place and the fault."""


# --- Conditions: a small tree, each node answering whether it holds for a referral ------------


class Condition(Protocol):
    def holds(self, facts: ReferralFacts) -> bool: ...


Check = tuple[str, Any]  # (test, expected value), e.g. ("ge", 65)


@dataclass(frozen=True, slots=True)
class Combined:
    how: str  # all | any | not (one condition)
    conditions: tuple[Condition, ...]

    def holds(self, facts: ReferralFacts) -> bool:
        results = (condition.holds(facts) for condition in self.conditions)
        if self.how == "not":
            return not next(results)
        return all(results) if self.how == "all" else any(results)


@dataclass(frozen=True, slots=True)
class Includes:
    field: str  # problems | red_flags
    codes: frozenset[str] | None  # any of these; None: any at all

    def holds(self, facts: ReferralFacts) -> bool:
        found: frozenset[str] = getattr(facts, self.field)
        return bool(found) if self.codes is None else not self.codes.isdisjoint(found)


@dataclass(frozen=True, slots=True)
class FactMeets:
    name: str  # a ReferralFacts field
    checks: tuple[Check, ...]  # all must pass

    def holds(self, facts: ReferralFacts) -> bool:
        value = getattr(facts, self.name)
        return all(_passes(value, test, expected) for test, expected in self.checks)


@dataclass(frozen=True, slots=True)
class AnswerMeets:
    link_id: str
    checks: tuple[Check, ...]  # counting tests on the answers; the others on one same answer

    def holds(self, facts: ReferralFacts) -> bool:
        values = [v for v in facts.answers.get(self.link_id, ()) if v is not None]
        counted = [(t, e) for t, e in self.checks if t in _COUNTING]
        compared = [(t, e) for t, e in self.checks if t not in _COUNTING]
        return all(_COUNTING[t](len(values), e) for t, e in counted) and (
            not compared or any(all(_passes(v, t, e) for t, e in compared) for v in values)
        )


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "ge": operator.ge,
    "gt": operator.gt,
    "le": operator.le,
    "lt": operator.lt,
}
_COUNTING: dict[str, Callable[[int, Any], bool]] = {
    "present": lambda count, expected: (count > 0) is expected,
    "count_ge": operator.ge,
}


def _passes(value: Any, test: str, expected: Any) -> bool:
    if test == "present":
        return (value is not None) is expected
    if value is None:
        return False  # an unknown fact passes no comparison (test for it with present: false)
    if test in ("is", "equals"):
        return _same(value, expected)
    if test == "in":
        return any(_same(value, e) for e in expected)
    return _is_number(value) and _ORDERINGS[test](value, expected)


def _same(value: Any, expected: Any) -> bool:
    return isinstance(value, bool) == isinstance(expected, bool) and bool(value == expected)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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


class _Invalid(Exception):
    """A fault found while reading the table; ``parse_table`` adds the file's name."""

    def __init__(self, where: str, fault: str) -> None:
        super().__init__(f"{where}: {fault}" if where else fault)


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a key given twice (PyYAML would keep the last one silently)."""


def _unique_keys(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, Hashable) and key in seen:
            fault = f"the key {key!r} is given twice"
            raise yaml.constructor.ConstructorError(None, None, fault, key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_keys)


def load_table(path: str | Path) -> DecisionTable:
    """Read and check a decision table file; DecisionTableError says what is wrong and where."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DecisionTableError(f"{source}: cannot read the decision table: {error}") from error
    try:
        document = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as error:
        raise DecisionTableError(f"{source}: not valid YAML: {_yaml_fault(error)}") from error
    return parse_table(document, source=source)


def parse_table(document: object, *, source: str = "decision table") -> DecisionTable:
    """Check a decision table already read into Python objects (``load_table`` reads a file)."""
    try:
        return DecisionTable(**_record(document, "", _TABLE_FIELDS), source=source)
    except _Invalid as invalid:
        raise DecisionTableError(f"{source}: {invalid}") from None


def _yaml_fault(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"{error.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(error)


Reader = Callable[[object, str], Any]  # reads a value found at a place, or raises _Invalid
_REQUIRED = object()


def _record(value: object, where: str, fields: Mapping[str, tuple[Reader, Any]]) -> dict[str, Any]:
    """A mapping read field by field: fields maps each key to (reader, default or _REQUIRED)."""
    required = [name for name, (_, default) in fields.items() if default is _REQUIRED]
    body = _keys(value, where, required=required, allowed=list(fields))
    found: dict[str, Any] = {}
    for name, (read, default) in fields.items():
        given = body.get(name)
        skip = given is None and default is not _REQUIRED
        found[name] = default if skip else read(given, f"{where}.{name}" if where else name)
    return found


def _deadlines(value: object, where: str) -> dict[str, int | None]:
    body = _keys(value, where, required=list(TRIAGE_ROUTES), allowed=list(TRIAGE_ROUTES))
    return {
        route: None if body[route] is None else _minutes(body[route], f"{where}.{route}")
        for route in TRIAGE_ROUTES
    }


def _precedence(value: object, where: str) -> tuple[str, ...]:
    routes: tuple[str, ...] = _list_of(_route)(value, where)
    twice = sorted({r for r in routes if routes.count(r) > 1})
    missing = [r for r in TRIAGE_ROUTES if r not in routes]
    if twice:
        raise _Invalid(where, f"names {', '.join(twice)} more than once")
    if missing:
        raise _Invalid(where, f"must list every route: it leaves out {', '.join(missing)}")
    return routes


def _rules(value: object, where: str) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for position, item in enumerate(_list(value, where), start=1):
        named = item.get("id") if isinstance(item, dict) else None
        place = f"rule {position}" + (f" ({named})" if isinstance(named, str) else "")
        rule = Rule(**_record(item, place, _RULE_FIELDS))
        earlier = [n for n, r in enumerate(rules, start=1) if r.id == rule.id]
        if earlier:
            raise _Invalid(f"{place}.id", f"{rule.id!r} is already the id of rule {earlier[0]}")
        rules.append(rule)
    return tuple(rules)


def _rule_id(value: object, where: str) -> str:
    rule_id = _text(value, where)
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule_id):
        raise _Invalid(where, f"{rule_id!r} must be lower-case words joined by hyphens")
    return rule_id


# --- The condition language (docs/triage.md) --------------------------------------------------


def _condition(value: object, where: str) -> Condition:
    if not isinstance(value, dict) or len(value) != 1:
        fault = f"a condition is a mapping with exactly one of: {_names(_FORMS)}"
        raise _Invalid(where, f"{fault}; got {_shown(value)}")
    ((form, argument),) = value.items()
    if form not in _FORMS:
        raise _Invalid(where, f"unknown condition {form!r}; use one of: {_names(_FORMS)}")
    condition: Condition = _FORMS[form](argument, f"{where}.{form}")
    return condition


def _combined(how: str) -> Reader:
    def read(value: object, where: str) -> Combined:
        if how == "not":
            return Combined(how, (_condition(value, where),))
        items = _list(value, where)
        return Combined(how, tuple(_condition(c, f"{where}[{i}]") for i, c in enumerate(items)))

    return read


def _includes(field: str, many: bool) -> Reader:
    def read(value: object, where: str) -> Includes:
        codes = _list_of(_text)(value, where) if many else (_text(value, where),)
        return Includes(field, frozenset(codes))

    return read


def _red_flag_any(value: object, where: str) -> Includes:
    if value is not True:
        raise _Invalid(where, "must be true (for no red flag: not: {red_flag_any: true})")
    return Includes("red_flags", None)


def _fact(value: object, where: str) -> FactMeets:
    body = dict(_keys(value, where, required=["name"], allowed=None))
    name = body.pop("name")
    if not isinstance(name, str) or name not in _FACTS:
        raise _Invalid(f"{where}.name", f"unknown fact {_shown(name)}; known: {_names(_FACTS)}")
    return FactMeets(name, _checks(body, where, _fact_tests(name, _FACTS[name])))


def _answer(value: object, where: str) -> AnswerMeets:
    body = dict(_keys(value, where, required=["link_id"], allowed=None))
    link_id = _text(body.pop("link_id"), f"{where}.link_id")
    return AnswerMeets(link_id, _checks(body, where, _ANSWER_TESTS))


def _checks(body: dict[str, Any], where: str, tests: Mapping[str, Reader]) -> tuple[Check, ...]:
    if not body:
        raise _Invalid(where, f"needs at least one test: {_names(tests)}")
    for test in body:
        if test not in tests:
            raise _Invalid(where, f"unknown test {test!r} here; use one of: {_names(tests)}")
    return tuple(
        (test, tests[test](expected, f"{where}.{test}")) for test, expected in body.items()
    )


@dataclass(frozen=True, slots=True)
class _FactKind:
    codes: Mapping[str, Any] | tuple[str, ...] | None = None  # a coded fact: its codes
    span: tuple[int, int | None] | None = None  # a whole-number fact: its range
    # neither: a yes/no fact


def _fact_tests(name: str, kind: _FactKind) -> dict[str, Reader]:
    """The tests a fact allows, each reading its expected value with the fact's own type."""
    if kind.codes is not None:
        codes = kind.codes

        def code(value: object, where: str) -> str:
            return _choice(value, where, codes, f"{name} code")

        return {"equals": code, "in": _list_of(code), "present": _boolean}
    if kind.span is not None:
        low, high = kind.span

        def number(value: object, where: str) -> int:
            return _whole(value, where, low, high)

        ordering = dict.fromkeys(_ORDERINGS, number)
        return {"equals": number, "in": _list_of(number), "present": _boolean, **ordering}
    return {"is": _boolean}


# --- Small readers: each returns the value it reads or raises _Invalid naming the place ------


def _keys(
    value: object, where: str, *, required: list[str], allowed: list[str] | None
) -> Mapping[Any, Any]:
    """A mapping holding the required keys and, unless allowed is None, no key not allowed."""
    if not isinstance(value, dict):
        raise _Invalid(where, f"expected a mapping with {_names(required)}, got {_shown(value)}")
    missing = [key for key in required if key not in value]
    if missing:
        raise _Invalid(where, f"missing {_names(missing)}")
    unknown = [] if allowed is None else [str(key) for key in value if key not in allowed]
    if unknown and allowed:
        raise _Invalid(where, f"unknown key {_names(unknown)}; allowed: {_names(allowed)}")
    return value


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _Invalid(where, f"expected a non-empty list, got {_shown(value)}")
    return value


def _list_of(read: Reader) -> Reader:
    def read_all(value: object, where: str) -> tuple[Any, ...]:
        return tuple(read(item, f"{where}[{i}]") for i, item in enumerate(_list(value, where)))

    return read_all


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        hint = " (quote it)" if isinstance(value, int | float) else ""
        raise _Invalid(where, f"expected text, got {_shown(value)}{hint}")
    return value.strip()


def _choice(
    value: object, where: str, known: Mapping[str, Any] | tuple[str, ...], kind: str
) -> str:
    if not isinstance(value, str) or value not in known:
        hint = " (quote it)" if str(value) in known else ""  # YAML reads 111 as a number
        raise _Invalid(where, f"unknown {kind} {_shown(value)}{hint}; known: {_names(known)}")
    return value


def _route(value: object, where: str) -> str:
    return _choice(value, where, TRIAGE_ROUTES, "route")


def _priority(value: object, where: str) -> str:
    return _choice(value, where, PRIORITIES, "priority")


def _boolean(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(where, f"expected true or false, got {_shown(value)}")
    return value


def _whole(value: object, where: str, low: int, high: int | None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Invalid(where, f"expected a whole number, got {_shown(value)}")
    if value < low or (high is not None and value > high):
        span = f"{low} to {high}" if high is not None else f"{low} or more"
        raise _Invalid(where, f"{value} is out of range ({span})")
    return value


def _minutes(value: object, where: str) -> int:
    return _whole(value, where, 1, None)


def _scalar(value: object, where: str) -> str | int | float | bool:
    if not isinstance(value, str | int | float | bool):
        raise _Invalid(where, f"expected a code, number or true/false, got {_shown(value)}")
    return value


def _number(value: object, where: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(where, f"expected a number, got {_shown(value)}")
    return value


def _names(names: Mapping[str, Any] | tuple[str, ...] | list[str]) -> str:
    return ", ".join(str(name) for name in names)


def _shown(value: object) -> str:
    return "nothing" if value is None else f"{value!r} ({type(value).__name__})"


# --- What the table may say: its fields, the rules' fields, the conditions and the facts ------

_TABLE_FIELDS: dict[str, tuple[Reader, Any]] = {
    "version": (_text, _REQUIRED),
    "description": (_text, None),
    "default_route": (_route, _REQUIRED),
    "default_priority": (_priority, _REQUIRED),
    "default_reason": (_text, _REQUIRED),
    "deadlines_minutes": (_deadlines, _REQUIRED),
    "precedence": (_precedence, _REQUIRED),
    "rules": (_rules, _REQUIRED),
}
_RULE_FIELDS: dict[str, tuple[Reader, Any]] = {
    "id": (_rule_id, _REQUIRED),
    "reason": (_text, _REQUIRED),
    "when": (_condition, _REQUIRED),
    "route": (_route, _REQUIRED),
    "priority": (_priority, _REQUIRED),
    "advice": (_text, None),
    "respond_within_minutes": (_minutes, None),
    "stops": (_boolean, False),
}
_FORMS: dict[str, Reader] = {
    "all": _combined("all"),
    "any": _combined("any"),
    "not": _combined("not"),
    "problem": _includes("problems", many=False),
    "problem_in": _includes("problems", many=True),
    "red_flag": _includes("red_flags", many=False),
    "red_flag_in": _includes("red_flags", many=True),
    "red_flag_any": _red_flag_any,
    "fact": _fact,
    "answer": _answer,
}
_FACTS: dict[str, _FactKind] = {  # every ReferralFacts field a rule may test with `fact`
    "channel": _FactKind(codes=REFERRAL_CHANNELS),
    "requested_service": _FactKind(codes=REFERRAL_SERVICES),
    "frailty": _FactKind(codes=EFI_BANDS),
    "age": _FactKind(span=(0, 130)),
    "clinical_frailty_scale": _FactKind(span=(1, 9)),
    "discharged_days_ago": _FactKind(span=(0, None)),
    "on_caseload": _FactKind(),
    "on_register": _FactKind(),
    "learning_disability_or_autism": _FactKind(),
}
_ANSWER_TESTS: dict[str, Reader] = {
    "equals": _scalar,
    "in": _list_of(_scalar),
    "present": _boolean,
    "count_ge": lambda value, where: _whole(value, where, 0, None),
    **dict.fromkeys(_ORDERINGS, _number),
}
