"""Parsing a FHIR search query into a ``SearchQuery``: the one entry point is ``parse_search``.

Owns the names of search parameters: which parameter a name means on the searched type,
its modifier, chains (``subject:Patient.name``), reverse chains (``_has:Observation:patient:code``)
and the strict / lenient handling of names the server does not know or support. The values
after ``=`` are read by ``shared.fhir.queryvalues`` and the result parameters (``_sort``,
``_include`` ...) by ``shared.fhir.queryresults``. Every refusal is a 400 ``FhirError`` whose
diagnostic names the parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shared.errors import FhirError, bad_request
from shared.fhir.queryresults import (
    RESULT_NAMES,
    UNSUPPORTED_NAMES,
    ResultOptions,
    describe,
    search_params,
)
from shared.fhir.queryvalues import parse_values
from shared.fhir.searchparams import SearchParam, get
from shared.fhir.searchquery import Criterion, HasCriterion, SearchQuery
from shared.fhir.validation import RESOURCE_TYPES

HTTP_NAMES = frozenset({"_format", "_pretty"})  # the HTTP layer's; ignored here
UNSUPPORTED_TYPES = frozenset({"composite", "special"})
MAX_CHAIN_DEPTH = 1  # subject:Patient.name, but not subject:Patient.organization.name
MAX_HAS_DEPTH = 3  # _has inside _has inside _has

MODIFIERS: dict[str, frozenset[str]] = {
    "string": frozenset({"exact", "contains", "missing"}),
    "token": frozenset({"not", "text", "missing", "of-type"}),
    "reference": frozenset({"identifier", "missing"}),  # and a resource type
    "date": frozenset({"missing"}),
    "number": frozenset({"missing"}),
    "quantity": frozenset({"missing"}),
    "uri": frozenset({"above", "below", "missing"}),
}
# Modifiers FHIR defines that this server does not implement on some or all types.
KNOWN_MODIFIERS = frozenset(
    {"missing", "exact", "contains", "text", "not", "above", "below", "in", "not-in"}
    | {"of-type", "identifier", "type", "iterate", "code-text", "text-advanced"}
)
_IDENTIFIER_BRANCH = re.compile(r"(?i)identifier\)?$")


class _Unknown(Exception):
    """A parameter the server does not know or support: 400 if strict, else ignored."""


def parse_search(
    resource_type: str | None, params: list[tuple[str, str]], *, strict: bool
) -> SearchQuery:
    """The ``SearchQuery`` of decoded ``(name, value)`` pairs, in order, on one type or all.

    Repeating a name ANDs its criteria. With ``strict`` an unknown or unsupported parameter
    name is a 400; otherwise it is dropped and listed in ``SearchQuery.ignored``. A known
    parameter used wrongly (bad value, modifier, chain) is a 400 either way.
    """
    if resource_type is not None and resource_type not in RESOURCE_TYPES:
        raise bad_request(f"Unknown resource type '{resource_type}'")
    builder = _Builder(resource_type, strict, ResultOptions(resource_type))
    for name, value in params:
        builder.add(name, value)
    return builder.build()


@dataclass
class _Builder:
    resource_type: str | None
    strict: bool
    results: ResultOptions
    criteria: list[Criterion | HasCriterion] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def add(self, name: str, value: str) -> None:
        base = name.partition(":")[0]
        if base in HTTP_NAMES:
            return
        try:
            if base in RESULT_NAMES:
                self.results.add(name, value)
            elif base == "_has":
                self.criteria.append(_has(self.resource_type, name, value, 1))
            else:
                self.criteria.append(_criterion(self.resource_type, name, value, 0))
        except _Unknown as unknown:
            if self.strict:
                raise bad_request(str(unknown)) from None
            if name not in self.ignored:
                self.ignored.append(name)

    def build(self) -> SearchQuery:
        self.results.finish()
        r = self.results
        return SearchQuery(
            resource_type=self.resource_type,
            criteria=tuple(self.criteria),
            sort=r.sort,
            count=r.count,
            cursor=r.cursor,
            includes=tuple(r.includes),
            total=r.total,
            summary=r.summary,
            elements=r.elements,
            types=r.types,
            ignored=tuple(self.ignored),
        )


def _criterion(resource_type: str | None, name: str, raw: str, depth: int) -> Criterion:
    """``code[:modifier][.chained]=raw`` on ``resource_type``; ``depth`` counts chain links."""
    head, dot, rest = name.partition(".")
    code, colon, modifier = head.partition(":")
    param = _lookup(resource_type, code)
    if dot:
        return _chain(param, modifier if colon else None, rest, raw, name, depth)
    if not colon:
        return Criterion(param=param, values=parse_values(param, None, raw, name))
    if modifier == "":
        raise bad_request(f"Search parameter '{name}' has an empty modifier after ':'")
    if param.type == "reference" and modifier not in MODIFIERS["reference"]:
        target = _type_modifier(param, modifier)
        values = parse_values(param, None, raw, name)
        return Criterion(param=param, values=values, target_type=target)
    _check_modifier(param, modifier, name)
    values = parse_values(param, modifier, raw, name)
    return Criterion(param=param, values=values, modifier=modifier)


def _lookup(resource_type: str | None, code: str) -> SearchParam:
    where = describe(resource_type)
    if code in UNSUPPORTED_NAMES:
        raise _Unknown(f"Search parameter '{code}' is not supported")
    param = search_params(resource_type).get(code)
    if param is None:
        raise _Unknown(f"Unknown search parameter '{code}' for {where}")
    if param.type in UNSUPPORTED_TYPES:
        raise _Unknown(f"Search parameter '{code}' ({param.type}) is not supported for {where}")
    return param


def _check_modifier(param: SearchParam, modifier: str, name: str) -> None:
    if modifier == "of-type" and not _is_identifier(param):
        raise bad_request(
            f"Modifier ':of-type' on '{name}' is only for identifier parameters; "
            f"'{param.code}' is not one"
        )
    if modifier not in MODIFIERS.get(param.type, frozenset()):
        raise _modifier_error(param, modifier)


def _modifier_error(param: SearchParam, modifier: str) -> FhirError:
    if modifier in KNOWN_MODIFIERS:
        return bad_request(
            f"Modifier ':{modifier}' is not supported for {param.type} parameter '{param.code}'"
        )
    choices = ", ".join(f":{m}" for m in sorted(MODIFIERS.get(param.type, ())))
    if param.type == "reference":
        choices += ", or a resource type such as :Patient"
    return bad_request(
        f"Unknown modifier ':{modifier}' on search parameter '{param.code}'; "
        f"{param.type} parameters take {choices}"
    )


def _is_identifier(param: SearchParam) -> bool:
    """Whether a token parameter searches Identifiers (so ``:of-type`` applies)."""
    branches = [b.strip() for b in param.expression.split(" | ") if b.strip()]
    return bool(branches) and all(_IDENTIFIER_BRANCH.search(b) for b in branches)


def _type_modifier(param: SearchParam, modifier: str) -> str:
    """The resource type named by ``reference:Type``, which the parameter must allow."""
    if modifier not in RESOURCE_TYPES:
        raise _modifier_error(param, modifier)
    if param.targets and modifier not in param.targets:
        raise bad_request(
            f"Search parameter '{param.code}' of {param.resource_type} never refers to "
            f"{modifier}; it refers to {', '.join(param.targets)}"
        )
    return modifier


def _chain(
    param: SearchParam, modifier: str | None, rest: str, raw: str, name: str, depth: int
) -> Criterion:
    """``reference[:Type].rest``: ``rest`` evaluated on the resource the reference points to."""
    if param.type != "reference":
        raise bad_request(
            f"'{name}' chains from '{param.code}', a {param.type} parameter; only reference "
            f"parameters can be chained"
        )
    if depth >= MAX_CHAIN_DEPTH:
        raise bad_request(
            f"'{name}' chains more than {MAX_CHAIN_DEPTH} level; longer chains are not supported"
        )
    if rest == "":
        raise bad_request(f"'{name}' ends in '.'; name the parameter to chain to after it")
    target = _chain_target(param, modifier, rest, name)
    inner = _criterion(target, rest, raw, depth + 1)
    return Criterion(param=param, target_type=target, chain=inner)


def _chain_target(param: SearchParam, modifier: str | None, rest: str, name: str) -> str:
    if modifier is not None:
        if modifier not in RESOURCE_TYPES:
            raise bad_request(
                f"'{name}': only a resource type, as in '{param.code}:Patient', may come "
                f"between a reference parameter and a chain, not ':{modifier}'"
            )
        return _type_modifier(param, modifier)
    if len(param.targets) != 1:
        targets = ", ".join(param.targets) or "any resource type"
        raise bad_request(
            f"'{name}': search parameter '{param.code}' can refer to {targets}; say which "
            f"type to chain into, as in '{param.code}:{(param.targets or ('Patient',))[0]}.{rest}'"
        )
    return param.targets[0]


def _has(resource_type: str | None, name: str, raw: str, depth: int) -> HasCriterion:
    """``_has:Type:reference:rest``: resources that a matching ``Type`` refers to."""
    if resource_type is None:
        raise _Unknown("'_has' is not supported in a search across all types")
    pieces = name.split(":", 3)
    if len(pieces) < 4 or not all(pieces[1:]):
        raise bad_request(
            f"'{name}': '_has' takes '_has:Type:reference:parameter', as in "
            f"'_has:Observation:patient:code'"
        )
    _, source, code, rest = pieces
    reference = _has_reference(resource_type, source, code, name)
    if rest.partition(":")[0] != "_has":
        return HasCriterion(source, reference, _criterion(source, rest, raw, 0))
    if depth >= MAX_HAS_DEPTH:
        raise bad_request(f"'{name}' nests '_has' more than {MAX_HAS_DEPTH} deep")
    return HasCriterion(source, reference, _has(source, rest, raw, depth + 1))


def _has_reference(resource_type: str, source: str, code: str, name: str) -> SearchParam:
    if source not in RESOURCE_TYPES:
        raise bad_request(f"'{name}': '{source}' is not a resource type")
    reference = get(source, code)
    if reference is None or reference.type != "reference":
        raise bad_request(f"'{name}': '{code}' is not a reference parameter of {source}")
    if reference.targets and resource_type not in reference.targets:
        raise bad_request(
            f"'{name}': {source}'s '{code}' never refers to {resource_type}; it refers to "
            f"{', '.join(reference.targets)}"
        )
    return reference
