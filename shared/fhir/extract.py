"""Everything a resource is searchable by: its index values, one record per parameter value.

Owns applying the registry's search parameters for a resource type to one resource: each
parameter's FHIRPath expression (compiled once) selects JSON nodes, the converter for the
parameter's type (``shared.fhir.nodevalues``) turns them into value records, and identical
records are dropped. Composite and special parameters, and ones without an expression
(``_text``, ``_content``, ``_query``), are not indexed. ``_id`` and ``_lastUpdated`` come
from the Resource-level parameters every type has.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any, NamedTuple

from shared.errors import bad_request
from shared.fhir.fhirpath import compile_path, first_elements
from shared.fhir.indexvalues import IndexValues
from shared.fhir.nodevalues import CONVERTERS, Converter
from shared.fhir.searchparams import params_for

_LOWER_PREFIX = re.compile(r"[a-z0-9_]+")
# Which IndexValues list each parameter type fills, by position in ``_BUCKETS``.
_BUCKETS = ("strings", "tokens", "references", "dates", "numbers", "quantities", "uris")
_BUCKET_OF = {
    "string": 0,
    "token": 1,
    "reference": 2,
    "date": 3,
    "number": 4,
    "quantity": 5,
    "uri": 6,
}


class _Indexer(NamedTuple):
    """One parameter of one resource type, ready to run."""

    code: str
    select: Callable[[dict[str, Any]], list[Any]]
    convert: Converter
    bucket: int
    needs: frozenset[str] | None  # top-level elements it reads; skipped if none is present


@cache
def indexers(resource_type: str) -> tuple[_Indexer, ...]:
    """The compiled parameters of a resource type that produce index values."""
    plan: list[_Indexer] = []
    for code, param in sorted(params_for(resource_type).items()):
        bucket = _BUCKET_OF.get(param.type)
        if bucket is None or not param.expression:
            continue
        select = compile_path(param.expression)
        needs = first_elements(param.expression)
        plan.append(_Indexer(code, select, CONVERTERS[param.type], bucket, needs))
    return tuple(plan)


@lru_cache(maxsize=4096)
def _element_name(key: str) -> str:
    """``effective`` for ``effectiveDateTime``: a JSON key up to its first capital."""
    match = _LOWER_PREFIX.match(key)
    return match.group() if match else key


def _present(resource: dict[str, Any]) -> set[str]:
    """The resource's top-level keys, and their choice-element names."""
    names = set(resource)
    names.update(map(_element_name, resource))
    return names


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values)) if len(values) > 1 else values


def extract(resource: dict[str, Any]) -> IndexValues:
    """The search index values of one resource (a FHIR JSON dict)."""
    resource_type = resource.get("resourceType")
    if type(resource_type) is not str or not resource_type:
        raise bad_request("A resource must have a resourceType to be indexed")
    buckets: tuple[list[Any], ...] = ([], [], [], [], [], [], [])
    present = _present(resource)
    for code, select, convert, bucket, needs in indexers(resource_type):
        if needs is not None and needs.isdisjoint(present):
            continue
        nodes = select(resource)
        if nodes:
            out = buckets[bucket]
            for node in nodes:
                convert(code, node, out)
    return IndexValues(**{name: _unique(b) for name, b in zip(_BUCKETS, buckets, strict=True)})
