"""What the FHIRPath evaluator knows about FHIR types in JSON, and about reference text.

Owns the choice elements the search expressions name without a type (``Observation.effective``
reads every ``effective[x]`` key), the ``resolve()`` stand-in (the type a Reference points at,
from its text or ``Reference.type``, without fetching anything), ``is Type`` checks,
FHIRPath equality and the boolean reading of a collection. ``parse_reference`` is shared with
``shared.fhir.extract``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

# Choice elements ([x]) that the R4 search expressions use without ``as Type``.
CHOICE_PATHS = frozenset(
    {
        "CarePlan.activity.detail.scheduled",
        "ChargeItem.occurrence",
        "Condition.abatement",
        "Condition.onset",
        "Consent.source",
        "DetectedIssue.identified",
        "DiagnosticReport.effective",
        "Immunization.occurrence",
        "Media.created",
        "MedicationAdministration.effective",
        "MedicationStatement.effective",
        "MessageDefinition.event",
        "MessageHeader.event",
        "Observation.effective",
        "Observation.value",
        "Observation.component.value",
        "Patient.deceased",
        "Patient.multipleBirth",
        "PlanDefinition.action.definition",
        "Procedure.performed",
        "RiskAssessment.occurrence",
        "RiskAssessment.prediction.probability",
        "ServiceRequest.occurrence",
        "Specimen.collection.collected",
    }
)
RESOURCE_BASES = frozenset({"Resource", "DomainResource"})
_STRING_TYPES = frozenset(
    {
        "string",
        "code",
        "id",
        "uri",
        "url",
        "canonical",
        "oid",
        "uuid",
        "markdown",
        "base64Binary",
        "date",
        "dateTime",
        "instant",
        "time",
    }
)
_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


@dataclass(frozen=True, slots=True)
class Resolved:
    """What ``resolve()`` yields for a Reference: only the type of the resource it names."""

    type: str


@lru_cache(maxsize=16_384)
def parse_reference(text: str) -> tuple[str, str] | None:
    """("Patient", "123") for "Patient/123", ".../Patient/123/_history/2" or a canonical.

    None for local ("#x") and URN references, and for text that does not end in Type/id.
    """
    if not text or text[0] == "#" or text.startswith("urn:"):
        return None
    base = text.split("|", 1)[0].split("/_history/", 1)[0]
    parts = base.rsplit("/", 2)
    if len(parts) < 2:
        return None
    type_name, resource_id = parts[-2], parts[-1]
    if _TYPE.fullmatch(type_name) and _ID.fullmatch(resource_id):
        return type_name, resource_id
    return None


def resolve(item: Any) -> Any:
    """The stand-in for resolving a Reference (or canonical), None when the type is unknown."""
    if type(item) is str:
        parsed = parse_reference(item)
        return Resolved(parsed[0]) if parsed else None
    if type(item) is not dict:
        return None
    if "resourceType" in item:
        return item
    reference = item.get("reference")
    parsed = parse_reference(reference) if type(reference) is str else None
    if parsed:
        return Resolved(parsed[0])
    declared = item.get("type")
    return Resolved(declared) if type(declared) is str else None


def is_type(item: Any, type_name: str) -> bool:
    """``item is type_name``, as far as JSON tells: resources, resolved references, primitives."""
    kind = type(item)
    if kind is Resolved:
        return bool(item.type == type_name)
    if kind is dict:
        declared = item.get("resourceType")
        return declared is not None and (declared == type_name or type_name in RESOURCE_BASES)
    if kind is bool:
        return type_name in ("boolean", "Boolean")
    if kind is int:
        return type_name in ("integer", "Integer", "decimal", "Decimal")
    if kind in (float, Decimal):
        return type_name in ("decimal", "Decimal")
    if kind is str:
        return type_name in _STRING_TYPES or type_name == "String"
    return False


def values_equal(left: Any, right: Any) -> bool:
    """FHIRPath ``=`` on two items: booleans only equal booleans, numbers compare by value."""
    if type(left) is bool or type(right) is bool:
        return type(left) is type(right) and left == right
    if type(left) is float and type(right) is Decimal:
        left = Decimal(str(left))
    elif type(right) is float and type(left) is Decimal:
        right = Decimal(str(right))
    return bool(left == right)


def truth(items: list[Any]) -> bool | None:
    """A collection read as a boolean: empty is unknown, one non-boolean item is true."""
    if not items:
        return None
    if len(items) == 1 and type(items[0]) is bool:
        return bool(items[0])
    return True
