"""The registry of FHIR search parameters and the Patient compartment.

Owns the parameter definitions the record indexes and searches by. They come from the official
FHIR R4 SearchParameter bundle, reduced to the fields the engine needs and shipped as data in
``data/search-parameters.json`` (regenerate with ``python -m shared.fhir.searchparams PATH``).
Nothing here touches storage or HTTP.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
PARAMETERS_FILE = DATA / "search-parameters.json"
COMPARTMENT_FILE = DATA / "compartmentdefinition-patient.json"

# Parameters every resource type has (base "Resource" in the specification).
RESOURCE_BASES = ("Resource", "DomainResource")


@dataclass(frozen=True, slots=True)
class Component:
    """One part of a composite parameter: the parameter it uses and where to find it."""

    definition: str
    expression: str


@dataclass(frozen=True, slots=True)
class SearchParam:
    """A search parameter as it applies to one resource type."""

    code: str
    resource_type: str
    type: str
    expression: str
    url: str
    targets: tuple[str, ...] = ()
    components: tuple[Component, ...] = ()


def _reduce(entry: dict[str, Any]) -> dict[str, Any]:
    keep = ("url", "code", "base", "type", "expression", "target", "component")
    reduced = {k: entry[k] for k in keep if k in entry}
    if "component" in reduced:
        reduced["component"] = [
            {"definition": c["definition"], "expression": c["expression"]}
            for c in reduced["component"]
        ]
    return reduced


def refresh(official_bundle: Path) -> None:
    """Regenerate the shipped data from the official SearchParameter bundle."""
    bundle = json.loads(official_bundle.read_text())
    entries = [_reduce(e["resource"]) for e in bundle["entry"]]
    lines = ",\n".join(json.dumps(e, separators=(",", ":")) for e in entries)
    PARAMETERS_FILE.write_text("[\n" + lines + "\n]\n")


def _for_type(expression: str, resource_type: str, bases: list[str]) -> str:
    """Keep the union branches of a shared expression that belong to one resource type."""
    if not expression or len(bases) == 1:
        return expression
    branches = [b.strip() for b in expression.split(" | ")]
    own = [b for b in branches if b.lstrip("(").startswith(resource_type + ".")]
    return " | ".join(own)


@cache
def _registry() -> dict[str, dict[str, SearchParam]]:
    registry: dict[str, dict[str, SearchParam]] = {}
    for entry in json.loads(PARAMETERS_FILE.read_text()):
        for base in entry["base"]:
            param = SearchParam(
                code=entry["code"],
                resource_type=base,
                type=entry["type"],
                expression=_for_type(entry.get("expression", ""), base, entry["base"]),
                url=entry["url"],
                targets=tuple(entry.get("target", ())),
                components=tuple(Component(**c) for c in entry.get("component", ())),
            )
            registry.setdefault(base, {})[param.code] = param
    return registry


@cache
def params_for(resource_type: str) -> dict[str, SearchParam]:
    """Every search parameter of a resource type, keyed by code, common ones included."""
    registry = _registry()
    merged: dict[str, SearchParam] = {}
    for base in (*RESOURCE_BASES, resource_type):
        merged.update(registry.get(base, {}))
    return merged


def get(resource_type: str, code: str) -> SearchParam | None:
    return params_for(resource_type).get(code)


def by_url(url: str) -> SearchParam | None:
    """The parameter a composite component points at, by its canonical URL."""
    for params in _registry().values():
        for param in params.values():
            if param.url == url:
                return param
    return None


@cache
def resource_types() -> frozenset[str]:
    """Resource types named by the specification's parameters (all of FHIR R4's)."""
    return frozenset(t for t in _registry() if t not in RESOURCE_BASES)


@cache
def patient_compartment() -> dict[str, tuple[str, ...]]:
    """Resource type -> the parameters that put a resource in a Patient's compartment."""
    definition = json.loads(COMPARTMENT_FILE.read_text())
    return {r["code"]: tuple(r.get("param", ())) for r in definition["resource"] if r.get("param")}


if __name__ == "__main__":
    refresh(Path(sys.argv[1]))
