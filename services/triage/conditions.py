"""The condition language of the triage decision table: what a rule's ``when`` may say.

It owns the condition nodes (``Combined``, ``Includes``, ``FactMeets``, ``AnswerMeets``), how each
holds or not for a referral's facts, and reading them from the table's YAML (docs/triage.md),
refusing a fault by naming its place. The small readers at the end, and ``Invalid``, are shared
with ``services.triage.rules``, which reads the rest of the table with them. Pure: no I/O; it
knows nothing of the table around it (rules, routes, deadlines), FHIR resources or HTTP.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from services.triage.facts import ReferralFacts
from shared.datafile import (
    Invalid,
    Reader,
    names,
    read_boolean,
    read_choice,
    read_keys,
    read_list,
    read_list_of,
    read_text,
    read_whole,
    shown,
)
from shared.fhir.terms import REFERRAL_CHANNELS, REFERRAL_SERVICES

EFI_BANDS = ("fit", "mild", "moderate", "severe")  # electronic Frailty Index bands

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


# --- Reading conditions: every fault named with its place --------------------------------------


def read_condition(value: object, where: str) -> Condition:
    """A rule's ``when``: a mapping with one condition form and its argument (docs/triage.md)."""
    if not isinstance(value, dict) or len(value) != 1:
        fault = f"a condition is a mapping with exactly one of: {names(_FORMS)}"
        raise Invalid(where, f"{fault}; got {shown(value)}")
    ((form, argument),) = value.items()
    if form not in _FORMS:
        raise Invalid(where, f"unknown condition {form!r}; use one of: {names(_FORMS)}")
    condition: Condition = _FORMS[form](argument, f"{where}.{form}")
    return condition


def _combined(how: str) -> Reader:
    def read(value: object, where: str) -> Combined:
        if how == "not":
            return Combined(how, (read_condition(value, where),))
        items = read_list(value, where)
        return Combined(how, tuple(read_condition(c, f"{where}[{i}]") for i, c in enumerate(items)))

    return read


def _includes(field: str, many: bool) -> Reader:
    def read(value: object, where: str) -> Includes:
        codes = read_list_of(read_text)(value, where) if many else (read_text(value, where),)
        return Includes(field, frozenset(codes))

    return read


def _red_flag_any(value: object, where: str) -> Includes:
    if value is not True:
        raise Invalid(where, "must be true (for no red flag: not: {red_flag_any: true})")
    return Includes("red_flags", None)


def _fact(value: object, where: str) -> FactMeets:
    body = dict(read_keys(value, where, required=["name"], allowed=None))
    name = body.pop("name")
    if not isinstance(name, str) or name not in _FACTS:
        raise Invalid(f"{where}.name", f"unknown fact {shown(name)}; known: {names(_FACTS)}")
    return FactMeets(name, _checks(body, where, _fact_tests(name, _FACTS[name])))


def _answer(value: object, where: str) -> AnswerMeets:
    body = dict(read_keys(value, where, required=["link_id"], allowed=None))
    link_id = read_text(body.pop("link_id"), f"{where}.link_id")
    return AnswerMeets(link_id, _checks(body, where, _ANSWER_TESTS))


def _checks(body: dict[str, Any], where: str, tests: Mapping[str, Reader]) -> tuple[Check, ...]:
    if not body:
        raise Invalid(where, f"needs at least one test: {names(tests)}")
    for test in body:
        if test not in tests:
            raise Invalid(where, f"unknown test {test!r} here; use one of: {names(tests)}")
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
            return read_choice(value, where, codes, f"{name} code")

        return {"equals": code, "in": read_list_of(code), "present": read_boolean}
    if kind.span is not None:
        low, high = kind.span

        def number(value: object, where: str) -> int:
            return read_whole(value, where, low, high)

        ordering = dict.fromkeys(_ORDERINGS, number)
        return {"equals": number, "in": read_list_of(number), "present": read_boolean, **ordering}
    return {"is": read_boolean}


def _scalar(value: object, where: str) -> str | int | float | bool:
    if not isinstance(value, str | int | float | bool):
        raise Invalid(where, f"expected a code, number or true/false, got {shown(value)}")
    return value


def _number(value: object, where: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(where, f"expected a number, got {shown(value)}")
    return value


# --- What a condition may say: its forms, the facts it may test and the tests on answers ------

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
    "in": read_list_of(_scalar),
    "present": read_boolean,
    "count_ge": lambda value, where: read_whole(value, where, 0, None),
    **dict.fromkeys(_ORDERINGS, _number),
}
