"""x-fhir-query: the searches a Questionnaire's variables name, made concrete for one person.

``Condition?patient={{%patient.id}}&clinical-status=active`` becomes the search of Conditions
for this person: each ``{{expression}}`` is FHIRPath over the environment (``%patient`` and the
variables so far) that must give exactly one simple value, which is URL-encoded into place.
Pure: running the search is the engine's business.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote

from shared.fhir.fhirpath import FhirPathError
from shared.fhir.validation import is_resource_type

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_SIMPLE = (str, int, float, Decimal)


class QueryError(ValueError):
    """An x-fhir-query that cannot be made into a search of this record."""


def substitute(query: str, evaluate: Callable[[str], list[Any]]) -> str:
    """``query`` with each ``{{expression}}`` replaced by its one value, URL-encoded."""

    def replace(match: re.Match[str]) -> str:
        expression = match.group(1).strip()
        try:
            values = evaluate(expression)
        except FhirPathError as error:
            raise QueryError(f"{{{{{expression}}}}}: {error}") from error
        if len(values) != 1 or type(values[0]) not in (*_SIMPLE, bool):
            raise QueryError(
                f"{{{{{expression}}}}} gives {len(values)} value(s); it must give one simple value"
            )
        value = values[0]
        text = ("true" if value else "false") if type(value) is bool else str(value)
        return quote(text, safe="")

    return _PLACEHOLDER.sub(replace, query)


def split(query: str) -> tuple[str, list[tuple[str, str]]]:
    """The resource type and the decoded parameters of a relative search URL."""
    path, _, search = query.partition("?")
    resource_type = path.strip().strip("/")
    if not is_resource_type(resource_type):
        raise QueryError(f"{query!r} is not a search of a resource type (Type?name=value...)")
    return resource_type, parse_qsl(search, keep_blank_values=True)


def searchset(
    matches: list[dict[str, Any]], included: list[dict[str, Any]], base_url: str
) -> dict[str, Any]:
    """The search's answer as FHIRPath sees it: a searchset Bundle of the resources found."""
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    entries = [_entry(r, "match", base_url) for r in matches]
    entries += [_entry(r, "include", base_url) for r in included]
    if entries:
        bundle["entry"] = entries
    return bundle


def _entry(resource: dict[str, Any], mode: str, base_url: str) -> dict[str, Any]:
    return {
        "fullUrl": f"{base_url}/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
        "search": {"mode": mode},
    }
