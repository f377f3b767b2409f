"""SMART on FHIR scopes: parsing the v2 ``.cruds`` form and the older v1 ``.read``/``.write``.

A resource scope is ``context/ResourceType.permissions[?query]``, for example
``patient/Observation.rs?category=laboratory`` or ``user/*.read``. The context says on whose
behalf the token acts (``system`` for a service, ``user`` for a member of staff, ``patient`` for a
resident confined to their own compartment). Other scopes (``openid``, ``fhirUser``, ``launch``,
``offline_access``, ...) grant no data access and are kept apart. A resource scope that cannot be
parsed grants nothing; :func:`invalid_scopes` names them for diagnostics.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, urlencode

Context = Literal["patient", "user", "system"]
CONTEXTS: tuple[Context, ...] = ("system", "user", "patient")  # most permissive first
PERMISSION_ORDER = "cruds"
PERMISSIONS = frozenset(PERMISSION_ORDER)
V1_PERMISSIONS = {
    "read": frozenset("rs"),
    "write": frozenset("cud"),
    "*": PERMISSIONS,
}
KNOWN_OTHER_SCOPES = frozenset(
    {"openid", "fhirUser", "profile", "launch", "offline_access", "online_access"}
)

_RESOURCE_SCOPE = re.compile(
    r"^(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]*)"
    r"\.(?P<permissions>[a-z*]+)(?:\?(?P<query>.*))?$"
)
_V2_PERMISSIONS = re.compile(r"^c?r?u?d?s?$")
_RESOURCE_PREFIXES = tuple(f"{context}/" for context in CONTEXTS)
_CONTEXT_NAMES: dict[str, Context] = {context: context for context in CONTEXTS}


@dataclass(frozen=True, slots=True)
class Scope:
    """One resource scope: who it acts for, on which resource type, with which permissions."""

    context: Context
    resource_type: str  # a FHIR resource type, or "*" for every type
    permissions: frozenset[str]  # a subset of {"c", "r", "u", "d", "s"}
    query: tuple[tuple[str, str], ...] = ()  # v2 "?name=value" restrictions, in order

    def __str__(self) -> str:
        """The scope in SMART v2 form, e.g. ``user/Patient.rs``."""
        letters = "".join(p for p in PERMISSION_ORDER if p in self.permissions)
        text = f"{self.context}/{self.resource_type}.{letters}"
        return f"{text}?{urlencode(self.query, safe='|:/')}" if self.query else text

    def covers(self, resource_type: str) -> bool:
        return self.resource_type in ("*", resource_type)


@dataclass(frozen=True, slots=True)
class ParsedScopes:
    """A token's scope string, sorted into what it grants, what it asks for, and what is wrong."""

    resource: tuple[Scope, ...]
    other: frozenset[str]  # openid, fhirUser, launch/patient, offline_access, profile, ...
    invalid: tuple[str, ...]  # looked like resource scopes but could not be parsed


def read_scopes(text: str) -> ParsedScopes:
    """Sort a space-separated scope string into resource, other and invalid scopes."""
    resource: list[Scope] = []
    other: set[str] = set()
    invalid: list[str] = []
    for token in text.split():
        if not token.startswith(_RESOURCE_PREFIXES):
            other.add(token)
            continue
        scope = parse_scope(token)
        if scope is None:
            invalid.append(token)
        else:
            resource.append(scope)
    return ParsedScopes(tuple(resource), frozenset(other), tuple(invalid))


def parse_scopes(text: str) -> tuple[Scope, ...]:
    """The resource scopes in a space-separated scope string; unparseable ones are skipped."""
    return read_scopes(text).resource


def other_scopes(text: str) -> frozenset[str]:
    """The scopes that grant no data access (openid, fhirUser, launch, offline_access, ...)."""
    return read_scopes(text).other


def invalid_scopes(text: str) -> tuple[str, ...]:
    """Resource-looking scopes that could not be parsed and so grant nothing (for diagnostics)."""
    return read_scopes(text).invalid


def parse_scope(text: str) -> Scope | None:
    """One resource scope, or None when ``text`` is not a well-formed SMART resource scope."""
    match = _RESOURCE_SCOPE.match(text)
    if match is None:
        return None
    permissions = _permissions(match["permissions"])
    if permissions is None:
        return None
    query: tuple[tuple[str, str], ...] = ()
    if match["query"] is not None:
        if match["permissions"] in V1_PERMISSIONS:
            return None  # query restrictions exist only in v2
        parsed = _query(match["query"])
        if parsed is None:
            return None
        query = parsed
    return Scope(_CONTEXT_NAMES[match["context"]], match["type"], permissions, query)


def _permissions(text: str) -> frozenset[str] | None:
    if text in V1_PERMISSIONS:
        return V1_PERMISSIONS[text]
    if text and _V2_PERMISSIONS.match(text):
        return frozenset(text)
    return None


def _query(text: str) -> tuple[tuple[str, str], ...] | None:
    try:
        pairs = parse_qsl(text, keep_blank_values=False, strict_parsing=True)
    except ValueError:
        return None
    return tuple(pairs) if pairs else None


def allows(scopes: Iterable[Scope], *, resource_type: str, permission: str) -> Scope | None:
    """The scope granting ``permission`` on ``resource_type``, or None.

    When several grant it, the most permissive wins: system before user before patient, and
    within a context a scope without a query restriction before one with. A returned scope with
    a ``query`` grants only resources matching it; the caller must apply that restriction.
    """
    if permission not in PERMISSIONS:
        raise ValueError(f"Unknown permission {permission!r}; expected one of c, r, u, d, s")
    granting = [s for s in scopes if permission in s.permissions and s.covers(resource_type)]
    if not granting:
        return None
    return min(granting, key=lambda s: (CONTEXTS.index(s.context), bool(s.query)))
