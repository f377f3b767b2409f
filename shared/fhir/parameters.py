"""Reading an operation's input Parameters: each name known, given once, with the value type
the operation declares; anything else is a 400 that names the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.errors import bad_request, unprocessable
from shared.fhir.validation import parse_json

Takes = Mapping[str, Any]  # a value type, or (for parts) another Takes


def read_parameters(body: bytes, operation: str, takes: Takes) -> dict[str, Any]:
    """The values of a Parameters resource by name. ``takes`` maps each parameter's name to
    its value type ("Reference", "String", "Code", "Boolean", ...: the value[x] read is
    ``value{type}``) or, for a parameter made of parts, to what its parts take. A name ending
    in "*" may be repeated and comes back as a list. A Reference comes back as its text."""
    parameters = parse_json(body)
    if not isinstance(parameters, dict) or parameters.get("resourceType") != "Parameters":
        raise bad_request(f"{operation} takes a Parameters resource")
    return _read(parameters.get("parameter") or [], operation, takes, "Parameters.parameter")


def _read(given: Any, operation: str, takes: Takes, place: str) -> dict[str, Any]:
    if not isinstance(given, list) or not all(isinstance(p, dict) for p in given):
        raise bad_request(f"{place} must be a list of parameters")
    kinds = {name.rstrip("*"): (kind, name.endswith("*")) for name, kind in takes.items()}
    values: dict[str, Any] = {}
    for position, parameter in enumerate(given):
        name, where = parameter.get("name"), f"{place}[{position}]"
        if name not in kinds:
            known = ", ".join(kinds)
            raise bad_request(f"{operation} takes {known}, not {name!r}", expression=[where])
        kind, many = kinds[str(name)]
        if name in values and not many:
            raise bad_request(f"The parameter {name!r} is given twice", expression=[where])
        if isinstance(kind, Mapping):
            value: Any = _read(parameter.get("part") or [], operation, kind, f"{where}.part")
        else:
            value = _value(parameter, str(name), kind, [where])
        values[str(name)] = [*values.get(str(name), []), value] if many else value
    return values


def required(values: Mapping[str, Any], name: str, meaning: str) -> Any:
    """A parameter the operation cannot do without; 422 saying what it is for."""
    if values.get(name) in (None, ""):
        raise unprocessable(f"The parameter {name!r} is required: {meaning}", code="required")
    return values[name]


def _value(parameter: Mapping[str, Any], name: str, kind: str, where: list[str]) -> Any:
    key = f"value{kind}"
    if key not in parameter:
        raise bad_request(f"{name} must be given as {key}", expression=where)
    value = parameter[key]
    if kind == "Reference":
        reference = value.get("reference") if isinstance(value, dict) else None
        if not isinstance(reference, str) or "/" not in reference:
            raise bad_request(f"{name} must be a reference such as 'Type/id'", expression=where)
        return reference
    if kind == "Boolean" and not isinstance(value, bool):
        raise bad_request(f"{name} must be true or false", expression=where)
    if kind in ("String", "Code", "DateTime") and (not isinstance(value, str) or not value.strip()):
        raise bad_request(f"{name} must be text", expression=where)
    return value.strip() if isinstance(value, str) else value
