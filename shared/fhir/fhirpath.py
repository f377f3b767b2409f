"""A small, fast FHIRPath evaluator over FHIR JSON: search-parameter and pre-fill expressions.

Owns compiling an expression (once, cached by its text) into a plain function from a resource
dict to the list of JSON nodes it selects, arrays flattened as FHIRPath does. Supported: paths
(the leading type name must match the resource; ``Resource``/``DomainResource`` match any),
choice elements (``value as Quantity``, ``onset.as(dateTime)``, ``ofType(Period)`` read
``valueQuantity``/``onsetDateTime``/..., a bare choice such as ``Observation.effective`` reads
every ``effective[x]``), ``|``, ``[n]``, ``=``, ``!=``, ``and``, ``or``, ``&``, literals,
``$this``, environment variables (``%patient``, named variables: see ``evaluate``), ``resolve()
is Type`` (by the reference text or ``Reference.type``) and the functions of
``shared.fhir.fhirpath_functions``. Anything else fails at compile time with ``FhirPathError``.
``first_elements`` tells which top-level elements an expression needs, so callers can skip
expressions that cannot select anything in a resource.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from functools import cache
from typing import Any

from shared.fhir.fhirpath_functions import FUNCTIONS, Step
from shared.fhir.fhirpath_parse import (
    Binary,
    Call,
    Const,
    FhirPathError,
    Index,
    Invoke,
    Name,
    Node,
    This,
    TypeOp,
    Variable,
    lower_casts,
    parse,
    variables_in,
)
from shared.fhir.fhirpath_types import (
    CHOICE_PATHS,
    RESOURCE_BASES,
    Resolved,
    is_type,
    truth,
    values_equal,
)

__all__ = [
    "FhirPathError",
    "Step",
    "compile_path",
    "evaluate",
    "first_elements",
    "variables_named",
]

# The environment (%patient, named variables) of the evaluation under way. A context variable
# rather than an argument of every step: search extraction, the hot path, runs the same
# one-argument steps and never pays for an environment it does not use.
_ENVIRONMENT: ContextVar[Mapping[str, list[Any]]] = ContextVar("fhirpath_environment")


def _walk(items: list[Any], keys: tuple[str, ...]) -> list[Any]:
    """Follow plain element names, flattening arrays at each step."""
    for key in keys:
        out: list[Any] = []
        for item in items:
            if type(item) is dict:
                value = item.get(key)
                if value is None:
                    continue
                if type(value) is list:
                    out.extend(value)
                else:
                    out.append(value)
        if not out:
            return out
        items = out
    return items


def _members(keys: tuple[str, ...]) -> Step:
    return lambda items: _walk(items, keys)


def _is_resource(item: Any, type_name: str) -> bool:
    if type(item) is not dict:
        return False
    declared = item.get("resourceType")
    return declared == type_name or (declared is not None and type_name in RESOURCE_BASES)


def _type_root(type_name: str, keys: tuple[str, ...] = ()) -> Step:
    """The leading ``Patient`` of ``Patient.name.given``, fused with the plain steps after it."""
    any_type = type_name in RESOURCE_BASES

    def step(items: list[Any]) -> list[Any]:
        if len(items) == 1:  # the usual case: the resource itself
            item = items[0]
            if type(item) is not dict or "resourceType" not in item:
                return []
            if not any_type and item["resourceType"] != type_name:
                return []
        else:
            items = [i for i in items if _is_resource(i, type_name)]
        return _walk(items, keys) if keys else items

    return step


def _choice(name: str) -> Step:
    """A choice element named without its type: every ``name[x]`` key."""
    size = len(name)

    def step(items: list[Any]) -> list[Any]:
        out: list[Any] = []
        for item in items:
            if type(item) is dict:
                for key, value in item.items():
                    if key.startswith(name) and len(key) > size and key[size].isupper():
                        out.extend(value if type(value) is list else (value,))
        return out

    return step


def _then(first: Step, second: Step) -> Step:
    return lambda items: second(first(items))


def _variable(name: str) -> Step:
    def step(_items: list[Any]) -> list[Any]:
        environment = _ENVIRONMENT.get(None)
        if environment is None or name not in environment:
            raise FhirPathError(f"%{name} is not defined")
        return list(environment[name])

    return step


class _Compiler:
    """Turns a syntax tree into nested closures; tracks the element path for choice types."""

    def __init__(self, expression: str) -> None:
        self.expression = expression

    def fail(self, what: str) -> FhirPathError:
        return FhirPathError(f"{what} in FHIRPath {self.expression!r}")

    def compile(self, node: Node, path: str | None = None) -> tuple[Step, str | None]:
        """The step for ``node`` applied to a focus whose element path is ``path``."""
        if isinstance(node, Name):
            return self.name(node.name, path, term=True)
        if isinstance(node, Invoke):
            return self.invoke(node, path)
        if isinstance(node, Call):
            return self.call(node, path), path
        if isinstance(node, Index):
            inner, inner_path = self.compile(node.target, path)
            at = node.index
            return _then(inner, lambda items: items[at : at + 1]), inner_path
        if isinstance(node, TypeOp):
            return self.type_op(node, path), None
        if isinstance(node, Binary):
            return self.binary(node, path), None
        if isinstance(node, Const):
            value = node.value
            return (lambda _items: [value]), None
        if isinstance(node, This):
            return (lambda items: items), path
        if isinstance(node, Variable):
            return _variable(node.name), None
        raise self.fail(f"unsupported construct {type(node).__name__}")

    def name(self, name: str, path: str | None, term: bool) -> tuple[Step, str | None]:
        if term and name[:1].isupper():
            return _type_root(name), name
        child = f"{path}.{name}" if path else None
        if child in CHOICE_PATHS:
            return _choice(name), child
        return _members((name,)), child

    def invoke(self, node: Invoke, path: str | None) -> tuple[Step, str | None]:
        names: list[str] = []
        target: Node = node
        while isinstance(target, Invoke) and isinstance(target.member, Name):
            names.append(target.member.name)
            target = target.target
        if not names:
            assert isinstance(node.member, Call)
            inner, inner_path = self.compile(node.target, path)
            return _then(inner, self.call(node.member, inner_path)), inner_path
        names.reverse()
        if isinstance(target, Name) and target.name[:1].isupper():
            return self.walk(None, target.name, target.name, names)
        inner, inner_path = self.compile(target, path)
        return self.walk(inner, None, inner_path, names)

    def walk(
        self, inner: Step | None, root: str | None, path: str | None, names: list[str]
    ) -> tuple[Step, str | None]:
        """Member steps after ``inner`` (or after the type ``root``), plain runs fused."""
        run: list[str] = []

        def flush(previous: Step | None) -> Step:
            if previous is None:
                assert root is not None
                return _type_root(root, tuple(run))
            return _then(previous, _members(tuple(run))) if run else previous

        for name in names:
            path = f"{path}.{name}" if path else None
            if path in CHOICE_PATHS:
                inner, run = flush(inner), []
                inner = _then(inner, _choice(name))
            else:
                run.append(name)
        return flush(inner) if run or inner is None else inner, path

    def call(self, call: Call, path: str | None) -> Step:
        handler = FUNCTIONS.get(call.name)
        if handler is None:
            raise self.fail(f"unsupported function {call.name}()")
        return handler(self, call, path)

    def type_op(self, node: TypeOp, path: str | None) -> Step:
        if node.op == "is":
            inner, _ = self.compile(node.target, path)
            type_name = node.type_name
            return lambda items: [is_type(i, type_name) for i in inner(items)[:1]]
        raise self.fail(f"'as {node.type_name}' is only supported directly on an element")

    def binary(self, node: Binary, path: str | None) -> Step:
        left, _ = self.compile(node.left, path)
        right, _ = self.compile(node.right, path)
        if node.op == "|":
            return lambda items: _union(left(items), right(items))
        if node.op in ("=", "!="):
            negate = node.op == "!="
            return lambda items: _equals(left(items), right(items), negate)
        if node.op == "and":
            return lambda items: _and(truth(left(items)), truth(right(items)))
        if node.op == "or":
            return lambda items: _or(truth(left(items)), truth(right(items)))
        if node.op == "&":
            return lambda items: _concatenate(left(items), right(items))
        raise self.fail(f"unsupported operator {node.op!r}")


def _union(left: list[Any], right: list[Any]) -> list[Any]:
    if not right and len(left) < 2:
        return left
    if not left and len(right) < 2:
        return right
    out: list[Any] = []
    for item in (*left, *right):
        if not any(values_equal(item, seen) for seen in out):
            out.append(item)
    return out


def _equals(left: list[Any], right: list[Any], negate: bool) -> list[Any]:
    if not left or not right:
        return []
    same = len(left) == len(right) and all(map(values_equal, left, right))
    return [same != negate]


def _and(left: bool | None, right: bool | None) -> list[Any]:
    if left is False or right is False:
        return [False]
    return [] if left is None or right is None else [True]


def _or(left: bool | None, right: bool | None) -> list[Any]:
    if left is True or right is True:
        return [True]
    return [] if left is None or right is None else [False]


def _concatenate(left: list[Any], right: list[Any]) -> list[Any]:
    """``a & b``: string concatenation, an empty side read as the empty string."""
    texts = []
    for side in (left, right):
        if len(side) > 1 or (side and type(side[0]) is not str):
            raise FhirPathError("'&' joins single strings only")
        texts.append(side[0] if side else "")
    return [texts[0] + texts[1]]


@cache
def compile_path(expression: str) -> Callable[[dict[str, Any]], list[Any]]:
    """Compile once; the function returns the JSON nodes ``expression`` selects in a resource."""
    step, _ = _Compiler(expression).compile(lower_casts(parse(expression)))

    def evaluate_compiled(resource: dict[str, Any]) -> list[Any]:
        return step([resource])

    def evaluate_resolving(resource: dict[str, Any]) -> list[Any]:
        return [i for i in step([resource]) if type(i) is not Resolved]

    return evaluate_resolving if "resolve" in expression else evaluate_compiled


_PASS_THROUGH = frozenset({"where", "first", "resolve"})


def _first_elements(node: Node) -> frozenset[str] | None:
    """The elements under the root a path-shaped expression starts from; None if not a path."""
    if isinstance(node, Binary):
        if node.op != "|":
            return None
        left, right = _first_elements(node.left), _first_elements(node.right)
        return None if left is None or right is None else left | right
    if isinstance(node, Index):
        return _first_elements(node.target)
    if isinstance(node, TypeOp):
        return _first_elements(node.target) if node.op == "as" else None
    if not isinstance(node, Invoke):
        return None
    if isinstance(node.member, Call) and node.member.name not in _PASS_THROUGH:
        return None
    target = node.target
    if isinstance(target, Name) and target.name[:1].isupper() and isinstance(node.member, Name):
        return frozenset({node.member.name})
    return _first_elements(target)


@cache
def first_elements(expression: str) -> frozenset[str] | None:
    """Top-level elements ``expression`` reads first (``effective`` for ``effective[x]``).

    When none of them is in a resource the expression selects nothing, so callers may skip
    it. None when that cannot be said (``Patient.deceased.exists()`` is ``false``, not empty).
    """
    return _first_elements(lower_casts(parse(expression)))


def evaluate(
    expression: str,
    resource: dict[str, Any],
    environment: Mapping[str, Any] | None = None,
) -> list[Any]:
    """The JSON nodes ``expression`` selects in ``resource`` (compiled and cached on first use).

    ``environment`` gives the values of ``%name`` variables: a list is a collection, None the
    empty collection, anything else a collection of one. A variable it does not name is a
    ``FhirPathError`` when the expression reaches it.
    """
    select = compile_path(expression)
    if environment is None:
        return select(resource)
    token = _ENVIRONMENT.set({name: _collection(value) for name, value in environment.items()})
    try:
        return select(resource)
    finally:
        _ENVIRONMENT.reset(token)


def _collection(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if type(value) is list else [value]


@cache
def variables_named(expression: str) -> frozenset[str]:
    """The ``%variables`` an expression reads: ``{"patient"}`` for ``%patient.name``."""
    return variables_in(parse(expression))
