"""Rules kept as data: reading a YAML file a service decides by (triage's decision table, the
eFI's deficit table) so that every fault is named with its file and place, and a service
refuses to start on a bad file rather than decide wrongly.

``read_yaml`` reads the file strictly (a key given twice is a fault, not a silent overwrite);
the small readers each return the value they read or raise ``Invalid`` naming the place. A
loader catches ``Invalid`` and raises its own ``DataFileError`` with the file's name.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml


class DataFileError(ValueError):
    """A data file cannot be used; the message names the file, the place and the fault."""


class Invalid(Exception):
    """A fault found at a place in a data file (the loader adds the file's name)."""

    def __init__(self, where: str, fault: str) -> None:
        super().__init__(f"{where}: {fault}" if where else fault)


Reader = Callable[[object, str], Any]  # reads a value found at a place, or raises Invalid


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a key given twice (PyYAML would keep the last one silently)."""


def _unique_keys(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, Hashable) and key in seen:
            fault = f"the key {key!r} is given twice"
            raise yaml.constructor.ConstructorError(None, None, fault, key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_keys)


def read_yaml(path: str | Path, what: str, error: type[DataFileError] = DataFileError) -> object:
    """The document in a YAML file; ``error`` names the file and what is wrong with it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as failure:
        raise error(f"{path}: cannot read the {what}: {failure}") from failure
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as failure:
        raise error(f"{path}: not valid YAML: {_yaml_fault(failure)}") from failure


def _yaml_fault(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"{error.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(error)


# --- Small readers: each returns the value it reads or raises Invalid naming the place ------


def read_keys(
    value: object, where: str, *, required: list[str], allowed: list[str] | None
) -> Mapping[Any, Any]:
    """A mapping holding the required keys and, unless allowed is None, no key not allowed."""
    if not isinstance(value, dict):
        raise Invalid(where, f"expected a mapping with {names(required)}, got {shown(value)}")
    missing = [key for key in required if key not in value]
    if missing:
        raise Invalid(where, f"missing {names(missing)}")
    unknown = [] if allowed is None else [str(key) for key in value if key not in allowed]
    if unknown and allowed:
        raise Invalid(where, f"unknown key {names(unknown)}; allowed: {names(allowed)}")
    return value


def read_list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise Invalid(where, f"expected a non-empty list, got {shown(value)}")
    return value


def read_list_of(read: Reader) -> Reader:
    def read_all(value: object, where: str) -> tuple[Any, ...]:
        return tuple(read(item, f"{where}[{i}]") for i, item in enumerate(read_list(value, where)))

    return read_all


def read_text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        hint = " (quote it)" if isinstance(value, int | float) else ""
        raise Invalid(where, f"expected text, got {shown(value)}{hint}")
    return value.strip()


def read_choice(
    value: object, where: str, known: Mapping[str, Any] | tuple[str, ...], kind: str
) -> str:
    if not isinstance(value, str) or value not in known:
        hint = " (quote it)" if str(value) in known else ""  # YAML reads 111 as a number
        raise Invalid(where, f"unknown {kind} {shown(value)}{hint}; known: {names(known)}")
    return value


def read_boolean(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(where, f"expected true or false, got {shown(value)}")
    return value


def read_whole(value: object, where: str, low: int, high: int | None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(where, f"expected a whole number, got {shown(value)}")
    if value < low or (high is not None and value > high):
        span = f"{low} to {high}" if high is not None else f"{low} or more"
        raise Invalid(where, f"{value} is out of range ({span})")
    return value


def names(found: Mapping[str, Any] | tuple[str, ...] | list[str]) -> str:
    return ", ".join(str(name) for name in found)


def shown(value: object) -> str:
    """A value as a fault message shows it, with its type."""
    return "nothing" if value is None else f"{value!r} ({type(value).__name__})"
