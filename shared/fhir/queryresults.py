"""The result parameters of a FHIR search: what to return rather than what to match.

Owns ``_sort``, ``_count``, ``_cursor``, ``_include`` / ``_revinclude`` (with ``:iterate``),
``_total``, ``_summary``, ``_elements`` and ``_type``: reading each, refusing nonsense with a
400 that names the parameter, and collecting them into ``ResultOptions`` for
``shared.fhir.queryparser`` to put into the ``SearchQuery``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from shared.errors import FhirError, bad_request
from shared.fhir.searchparams import SearchParam, get, params_for
from shared.fhir.searchquery import Include, SortKey
from shared.fhir.validation import RESOURCE_TYPES

MAX_COUNT = 1000
RESULT_NAMES = frozenset(
    {"_sort", "_count", "_cursor", "_include", "_revinclude", "_total", "_summary"}
    | {"_elements", "_type"}
)
# Parameters FHIR defines that this server does not implement (refused, or ignored if lenient).
UNSUPPORTED_NAMES = frozenset(
    {"_text", "_content", "_list", "_query", "_filter", "_contained", "_containedType"}
)
REPEATABLE = frozenset({"_include", "_revinclude"})
UNSORTABLE_TYPES = frozenset({"composite", "special"})

Total = Literal["none", "estimate", "accurate"]
Summary = Literal["true", "false", "text", "data", "count"]
TOTALS: dict[str, Total] = {"none": "none", "estimate": "estimate", "accurate": "accurate"}
SUMMARIES: dict[str, Summary] = {
    "true": "true",
    "false": "false",
    "text": "text",
    "data": "data",
    "count": "count",
}
_ELEMENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_COUNT = re.compile(r"[0-9]+")
T = TypeVar("T", bound=str)


def search_params(resource_type: str | None) -> dict[str, SearchParam]:
    """The parameters a search may use: the type's, or the common ones across all types."""
    return params_for(resource_type or "Resource")


def describe(resource_type: str | None) -> str:
    return resource_type or "a search across all types"


@dataclass
class ResultOptions:
    """The result parameters seen so far in one search, checked as they arrive."""

    resource_type: str | None
    sort: tuple[SortKey, ...] = ()
    count: int | None = None
    cursor: str | None = None
    includes: list[Include] = field(default_factory=list)
    total: Total = "none"
    summary: Summary | None = None
    elements: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    seen: set[str] = field(default_factory=set)

    def add(self, name: str, value: str) -> None:
        """Take ``name=value`` where ``name`` is a result parameter, possibly with a modifier."""
        base, _, modifier = name.partition(":")
        if modifier and not (base in REPEATABLE and modifier == "iterate"):
            raise bad_request(f"'{base}' does not take the modifier ':{modifier}'")
        if base in self.seen and base not in REPEATABLE:
            raise bad_request(f"'{base}' may be given only once")
        self.seen.add(base)
        if value == "":
            raise bad_request(f"'{name}' has an empty value")
        self._apply(base, value, modifier == "iterate")

    def _apply(self, base: str, value: str, iterate: bool) -> None:
        if base == "_sort":
            self.sort = tuple(self._sort_key(key) for key in value.split(","))
        elif base == "_count":
            self.count = _count(value)
        elif base == "_cursor":
            self.cursor = value
        elif base in REPEATABLE:
            self.includes.append(self._include(value, base == "_revinclude", iterate))
        elif base == "_total":
            self.total = _choice("_total", value, TOTALS)
        elif base == "_summary":
            self.summary = _choice("_summary", value, SUMMARIES)
        elif base == "_elements":
            self.elements = _elements(value)
        else:
            self.types = self._types(value)

    def finish(self) -> None:
        """Checks that need every parameter: a plain ``_include`` must start at a searched type."""
        for include in self.includes:
            if include.reverse or include.iterate or self.resource_type is not None:
                continue
            if self.types and include.source_type not in self.types:
                raise bad_request(
                    f"'_include={include.source_type}:{include.param.code}' starts at a type "
                    f"not listed in _type ({', '.join(self.types)}); add ':iterate' or the type"
                )

    def _sort_key(self, key: str) -> SortKey:
        descending = key.startswith("-")
        code = key[1:] if descending else key
        params = search_params(self.resource_type)
        param = None if code in UNSUPPORTED_NAMES else params.get(code)
        if param is None or param.type in UNSORTABLE_TYPES:
            raise bad_request(
                f"'_sort' key '{key}' is not a sortable search parameter of "
                f"{describe(self.resource_type)}; use a parameter such as _id or _lastUpdated, "
                f"with '-' in front for descending"
            )
        return SortKey(param=param, descending=descending)

    def _types(self, value: str) -> tuple[str, ...]:
        if self.resource_type is not None:
            raise bad_request(
                f"'_type' is only for searches across all types, not a search of "
                f"{self.resource_type}"
            )
        types = tuple(t.strip() for t in value.split(","))
        unknown = [t for t in types if t not in RESOURCE_TYPES]
        if unknown:
            raise bad_request(f"'_type' names unknown resource types: {', '.join(unknown)}")
        return types

    def _include(self, value: str, reverse: bool, iterate: bool) -> Include:
        name = "_revinclude" if reverse else "_include"
        source, param, target = _include_parts(name, value)
        if not reverse and not iterate and self.resource_type not in (None, source):
            raise bad_request(
                f"'{name}={value}' starts at {source}, but this search is of "
                f"{self.resource_type}; use '{self.resource_type}:...' or '{name}:iterate'"
            )
        if reverse and not iterate:
            _check_refers_to(name, value, param, self.resource_type)
        return Include(source, param, target, reverse=reverse, iterate=iterate)


def _count(value: str) -> int:
    if not _COUNT.fullmatch(value):
        raise bad_request(f"'_count' must be a whole number of 0 or more, not '{value}'")
    digits = value.lstrip("0") or "0"  # capped before int() could refuse a long string
    return MAX_COUNT if len(digits) > 6 else min(int(digits), MAX_COUNT)


def _elements(value: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in value.split(","))
    for name in names:
        if not _ELEMENT.fullmatch(name):
            raise bad_request(
                f"'_elements' takes a comma-separated list of element names "
                f"such as 'identifier,name'; '{name}' is not one"
            )
    return names


def _choice(name: str, value: str, choices: dict[str, T]) -> T:
    if value not in choices:
        raise bad_request(f"'{name}' must be one of {', '.join(choices)}, not '{value}'")
    return choices[value]


def _include_parts(name: str, value: str) -> tuple[str, SearchParam, str | None]:
    pieces = value.split(":")
    if "*" in pieces:
        raise bad_request(
            f"'{name}' with '*' is not supported; name the parameter, as in 'Observation:subject'"
        )
    if len(pieces) not in (2, 3):
        raise _include_form(name, value)
    source, code, *rest = pieces
    if source not in RESOURCE_TYPES:
        raise bad_request(f"'{name}={value}' names an unknown resource type '{source}'")
    param = get(source, code)
    if param is None or param.type != "reference":
        raise bad_request(f"'{name}={value}': '{code}' is not a reference parameter of {source}")
    target = rest[0] if rest else None
    if target is not None and not _may_refer_to(param, target):
        raise bad_request(
            f"'{name}={value}': {source}'s '{code}' never refers to '{target}'; "
            f"it refers to {', '.join(param.targets)}"
        )
    return source, param, target


def _include_form(name: str, value: str) -> FhirError:
    return bad_request(
        f"'{name}' takes 'Type:parameter' or 'Type:parameter:TargetType', as in "
        f"'Observation:subject:Patient', not '{value}'"
    )


def _check_refers_to(name: str, value: str, param: SearchParam, searched: str | None) -> None:
    if searched is not None and not _may_refer_to(param, searched):
        raise bad_request(
            f"'{name}={value}': {param.resource_type}'s '{param.code}' never refers to "
            f"{searched}; it refers to {', '.join(param.targets)}"
        )


def _may_refer_to(param: SearchParam, resource_type: str) -> bool:
    """Whether a reference parameter can point at a type (no declared targets: any type)."""
    if resource_type not in RESOURCE_TYPES:
        return False
    return not param.targets or resource_type in param.targets
