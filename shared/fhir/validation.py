"""Is this a valid FHIR R4B resource? Structure by the fhir.resources models, plus the rules
the models do not know: NHS numbers must pass Modulus 11.

Raises ``FhirError``: 400 when the body cannot be understood as a resource at all, 422 when it
is a resource that breaks the specification's or OneStory's rules. Each issue names where.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from shared.errors import FhirError, bad_request
from shared.nhs_number import NHS_NUMBER_SYSTEM, is_valid

_MAX_ISSUES = 20
_ABSTRACT = frozenset({"Resource", "DomainResource"})


@cache
def is_resource_type(name: str) -> bool:
    """True for the name of a FHIR R4B resource type (Patient, Binary...), False otherwise."""
    if not name[:1].isupper() or not name.isalnum() or name in _ABSTRACT:
        return False
    try:
        model = get_fhir_model_class(name)
    except ValueError:
        return False
    return issubclass(model, Resource)


def parse_json(body: bytes) -> Any:
    """The JSON value of a request body, or 400 saying where it stopped making sense."""
    if not body.strip():
        raise bad_request("The request body is empty; send a FHIR resource as JSON")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise bad_request(f"The request body is not valid JSON: {error}") from error


def parse_resource(body: bytes) -> dict[str, Any]:
    """A JSON object with a known resourceType, not yet validated against its model."""
    value = parse_json(body)
    if not isinstance(value, dict):
        raise bad_request("The request body must be a JSON object holding one FHIR resource")
    resource_type = value.get("resourceType")
    if not isinstance(resource_type, str) or not is_resource_type(resource_type):
        raise bad_request(
            f"'resourceType' must name a FHIR R4B resource type, not {resource_type!r}",
            expression=["resourceType"],
        )
    return value


def validate(resource: dict[str, Any]) -> None:
    """422 with one issue per problem if the resource breaks FHIR or OneStory rules."""
    issues = list(_model_issues(resource)) + list(_nhs_number_issues(resource))
    if issues:
        first = issues[0]["diagnostics"]
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        raise FhirError(
            422,
            f"{resource['resourceType']} is not valid: {first}{more}",
            code="invariant" if issues[0]["code"] == "invariant" else "structure",
            issues=issues[:_MAX_ISSUES],
        )


def _model_issues(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    model = get_fhir_model_class(resource["resourceType"])
    try:
        model.model_validate(resource)
    except ValidationError as error:
        for problem in error.errors():
            path = ".".join(str(part) for part in (resource["resourceType"], *problem["loc"]))
            message = problem["msg"].removeprefix("Value error, ")
            yield {
                "severity": "error",
                "code": "required" if "required" in message else "structure",
                "diagnostics": f"{path}: {message}",
                "expression": [path],
            }


def _nhs_number_issues(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    identifiers = resource.get("identifier")
    if not isinstance(identifiers, list):
        return
    for position, identifier in enumerate(identifiers):
        if not isinstance(identifier, dict) or identifier.get("system") != NHS_NUMBER_SYSTEM:
            continue
        value = identifier.get("value")
        if not isinstance(value, str) or not is_valid(value):
            path = f"{resource['resourceType']}.identifier[{position}].value"
            yield {
                "severity": "error",
                "code": "invariant",
                "diagnostics": f"{path}: {value!r} is not a valid NHS number "
                "(10 digits with a Modulus 11 check digit)",
                "expression": [path],
            }


def local_references(resource: Any) -> Iterator[str]:
    """Every ``Reference.reference`` string anywhere in the resource, contained ones aside."""
    if isinstance(resource, dict):
        for key, value in resource.items():
            if key == "reference" and isinstance(value, str):
                yield value
            elif key != "contained":
                yield from local_references(value)
    elif isinstance(resource, list):
        for item in resource:
            yield from local_references(item)


@cache
def all_resource_types() -> tuple[str, ...]:
    """Every FHIR R4B resource type, sorted."""
    from fhir.resources.R4B import fhirtypes

    names = (name.removesuffix("Type") for name in dir(fhirtypes) if name.endswith("Type"))
    return tuple(sorted(name for name in names if is_resource_type(name)))


class _ResourceTypes:
    """``name in RESOURCE_TYPES``: is it a FHIR R4B resource type? Loads models lazily."""

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and is_resource_type(name)


RESOURCE_TYPES = _ResourceTypes()
