"""_summary and _elements: the parts of a resource a client asked for, marked SUBSETTED."""

from __future__ import annotations

from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
}
_ALWAYS = ("resourceType", "id", "meta")


@cache
def _element_names(
    resource_type: str, *, summary_only: bool, required_only: bool
) -> frozenset[str]:
    """JSON names of the top-level elements that are in the summary, or mandatory."""
    names: set[str] = set()
    model = get_fhir_model_class(resource_type)
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if summary_only and not extra.get("summary_element_property"):
            continue
        if required_only and not extra.get("element_required"):
            continue
        names.add(field.alias or name)
    return frozenset(names)


def subset(
    resource: dict[str, Any], *, summary: str | None, elements: tuple[str, ...]
) -> dict[str, Any]:
    """The resource reduced as _summary / _elements ask; unchanged when they ask for all."""
    if summary in (None, "false") and not elements:
        return resource
    resource_type = resource["resourceType"]
    if summary == "data":
        kept = {k: v for k, v in resource.items() if k != "text"}
    elif summary == "true":
        keep = _element_names(resource_type, summary_only=True, required_only=False)
        kept = {k: v for k, v in resource.items() if k in keep or k in _ALWAYS}
    elif summary == "text":
        keep = _element_names(resource_type, summary_only=False, required_only=True)
        kept = {k: v for k, v in resource.items() if k in keep or k in _ALWAYS or k == "text"}
    else:
        keep = frozenset(elements)
        kept = {k: v for k, v in resource.items() if k in keep or k in _ALWAYS}
    meta = dict(kept.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    kept["meta"] = meta
    return kept
