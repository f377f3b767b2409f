"""Where an answer an expression gave came from: the resource in the environment that holds it.

The evaluator hands back the very JSON nodes it selected, so a value that is a node of one of
the resources the expression read (a Coding of one Condition, the birth date of the Patient)
is found there by identity. A value the expression computed (a joined name) comes from the only
resource it read, when it read only one; otherwise its source is not pinned to a resource.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# What the Questionnaire itself provides is never the source of an answer about the person.
_NOT_SOURCES = frozenset({"questionnaire", "resource", "qitem"})


def resources_read(environment: Mapping[str, Any], names: Iterable[str]) -> list[dict[str, Any]]:
    """The stored resources behind the variables ``names``: searches opened into their entries."""
    found: list[dict[str, Any]] = []
    for name in names:
        if name in _NOT_SOURCES:
            continue
        value = environment.get(name)
        for item in value if isinstance(value, list) else [value]:
            found += _resources(item)
    unique = {id(r): r for r in found}
    return list(unique.values())


def _resources(item: Any) -> list[dict[str, Any]]:
    if not isinstance(item, dict) or not isinstance(item.get("resourceType"), str):
        return []
    if item["resourceType"] != "Bundle":
        return [item] if isinstance(item.get("id"), str) else []
    entries = item.get("entry") or []
    return [r for e in entries if isinstance(e, dict) for r in _resources(e.get("resource"))]


def sources_of(value: Any, candidates: list[dict[str, Any]]) -> list[str]:
    """``Type/id`` of the resources ``value`` came from: the one holding it when that can be
    said, otherwise every resource the expression read (a value computed from several)."""
    if isinstance(value, dict | str):
        holders = [c for c in candidates if _holds(c, value)]
        if len(holders) == 1:
            return [_reference(holders[0])]
    return [_reference(c) for c in candidates]


def _holds(node: Any, value: Any) -> bool:
    if node is value:
        return True
    if isinstance(node, dict):
        return any(_holds(child, value) for child in node.values())
    if isinstance(node, list):
        return any(_holds(child, value) for child in node)
    return False


def _reference(resource: dict[str, Any]) -> str:
    return f"{resource['resourceType']}/{resource['id']}"
