"""The shape of a parsed FHIR search: what ``shared.fhir.queryparser`` produces and the storage
engine compiles to SQL. Pure data, no behaviour beyond small conveniences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from shared.fhir.searchparams import SearchParam

Prefix = Literal["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"]


@dataclass(frozen=True, slots=True)
class SearchValue:
    """One of the OR-ed values of a criterion, unescaped.

    ``parts`` is the value split on unescaped ``|`` for token, quantity and reference
    parameters ("sys|code" -> ("sys", "code"), "|code" -> ("", "code"), "code" -> ("code",));
    string, uri, date and number values always have exactly one part.
    ``prefix`` is only ever set for number, date and quantity parameters ("eq" when absent).
    """

    parts: tuple[str, ...]
    prefix: Prefix = "eq"

    @property
    def text(self) -> str:
        return "|".join(self.parts)


@dataclass(frozen=True, slots=True)
class Criterion:
    """``name[:modifier]=v1,v2`` on one resource type: OR between values.

    For a chained parameter (``subject:Patient.identifier=x``) ``param`` is the reference
    parameter, ``target_type`` the type chained into, ``values`` is empty and ``chain`` is the
    criterion evaluated on the target type. ``modifier`` is the modifier as written, without
    the colon (``exact``, ``contains``, ``not``, ``text``, ``missing``, ``identifier``,
    ``above``, ``below``, ``of-type``), or None; a type modifier on a reference
    (``subject:Patient=123``) is given as ``target_type`` instead.
    """

    param: SearchParam
    values: tuple[SearchValue, ...] = ()
    modifier: str | None = None
    target_type: str | None = None
    chain: Criterion | None = None


@dataclass(frozen=True, slots=True)
class HasCriterion:
    """``_has:Observation:patient:code=x``: resources referred to by a matching resource.

    ``resource_type`` is the referring type (Observation), ``reference`` the referring
    parameter (Observation's ``patient``) and ``criterion`` what the referring resource must
    match, itself possibly another ``_has``.
    """

    resource_type: str
    reference: SearchParam
    criterion: Criterion | HasCriterion


@dataclass(frozen=True, slots=True)
class SortKey:
    param: SearchParam
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Include:
    """``_include=Source:param[:Target]`` or ``_revinclude=...``, with ``:iterate``."""

    source_type: str
    param: SearchParam
    target_type: str | None = None
    reverse: bool = False
    iterate: bool = False


@dataclass(frozen=True, slots=True)
class SearchQuery:
    resource_type: str | None  # None for a search across all types
    criteria: tuple[Criterion | HasCriterion, ...] = ()
    sort: tuple[SortKey, ...] = ()
    count: int | None = None
    cursor: str | None = None  # the opaque paging token of a next/previous link
    includes: tuple[Include, ...] = ()
    total: Literal["none", "estimate", "accurate"] = "none"
    summary: Literal["true", "false", "text", "data", "count"] | None = None
    elements: tuple[str, ...] = ()
    types: tuple[str, ...] = ()  # _type, for searches across all types
    ignored: tuple[str, ...] = field(default=())  # names dropped under lenient handling
