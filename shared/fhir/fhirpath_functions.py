"""The FHIRPath functions ``shared.fhir.fhirpath`` compiles: one small step builder each.

Owns ``where()``, ``select()``, ``exists()``, ``empty()``, ``not()``, ``first()``, ``last()``,
``count()``, ``join()``, ``resolve()`` and ``is()``. Each builder checks its arguments when the
expression is compiled (a wrong count is a ``FhirPathError`` then, not at evaluation) and returns
a step: a function from the input collection to the output collection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from shared.fhir.fhirpath_parse import Call, FhirPathError, Name, Node
from shared.fhir.fhirpath_types import is_type, resolve, truth

Step = Callable[[list[Any]], list[Any]]


class Compiler(Protocol):
    """What a function needs of the compiler: its arguments compiled, and a way to fail."""

    def compile(self, node: Node, path: str | None = None) -> tuple[Step, str | None]: ...

    def fail(self, what: str) -> FhirPathError: ...


def _arguments(compiler: Compiler, call: Call, count: int) -> tuple[Node, ...]:
    if len(call.args) != count:
        raise compiler.fail(f"{call.name}() takes {count} argument(s)")
    return call.args


def _where(compiler: Compiler, call: Call, path: str | None) -> Step:
    (arg,) = _arguments(compiler, call, 1)
    criterion, _ = compiler.compile(arg, path)
    return lambda items: [i for i in items if truth(criterion([i]))]


def _select(compiler: Compiler, call: Call, path: str | None) -> Step:
    (arg,) = _arguments(compiler, call, 1)
    projection, _ = compiler.compile(arg, path)
    return lambda items: [out for item in items for out in projection([item])]


def _exists(compiler: Compiler, call: Call, path: str | None) -> Step:
    if not call.args:
        return lambda items: [bool(items)]
    where = _where(compiler, call, path)
    return lambda items: [bool(where(items))]


def _empty(compiler: Compiler, call: Call, path: str | None) -> Step:
    _arguments(compiler, call, 0)
    return lambda items: [not items]


def _not(compiler: Compiler, call: Call, path: str | None) -> Step:
    _arguments(compiler, call, 0)

    def step(items: list[Any]) -> list[Any]:
        value = truth(items)
        return [] if value is None else [not value]

    return step


def _first(compiler: Compiler, call: Call, path: str | None) -> Step:
    _arguments(compiler, call, 0)
    return lambda items: items[:1]


def _last(compiler: Compiler, call: Call, path: str | None) -> Step:
    _arguments(compiler, call, 0)
    return lambda items: items[-1:]


def _count(compiler: Compiler, call: Call, path: str | None) -> Step:
    _arguments(compiler, call, 0)
    return lambda items: [len(items)]


def _join(compiler: Compiler, call: Call, path: str | None) -> Step:
    """``join(separator)``: strings joined into one; empty in, empty out."""
    if len(call.args) > 1:
        raise compiler.fail("join() takes at most one argument")
    separator = compiler.compile(call.args[0], path)[0] if call.args else None

    def step(items: list[Any]) -> list[Any]:
        if not items:
            return []
        if any(type(item) is not str for item in items):
            raise FhirPathError("join() can only join strings")
        between = separator(items[:1]) if separator else [""]
        if len(between) != 1 or type(between[0]) is not str:
            raise FhirPathError("join() needs a single string as its separator")
        return [between[0].join(items)]

    return step


def _resolve(compiler: Compiler, call: Call, path: str | None) -> Step:
    _arguments(compiler, call, 0)
    return lambda items: [r for r in map(resolve, items) if r is not None]


def _is_call(compiler: Compiler, call: Call, path: str | None) -> Step:
    (arg,) = _arguments(compiler, call, 1)
    if not isinstance(arg, Name):
        raise compiler.fail(f"{call.name}() needs a type name")
    type_name = arg.name
    return lambda items: [is_type(i, type_name) for i in items[:1]]


FUNCTIONS: dict[str, Callable[[Compiler, Call, str | None], Step]] = {
    "where": _where,
    "select": _select,
    "exists": _exists,
    "empty": _empty,
    "not": _not,
    "first": _first,
    "last": _last,
    "count": _count,
    "join": _join,
    "resolve": _resolve,
    "is": _is_call,
}
