"""A small, fast FHIRPath evaluator over FHIR JSON, for the search-parameter expressions.

Owns compiling an expression (once, cached by its text) into a plain function from a resource
dict to the list of JSON nodes it selects, arrays flattened as FHIRPath does. Supported: paths
(the leading type name must match the resource; ``Resource``/``DomainResource`` match any),
choice elements (``value as Quantity``, ``onset.as(dateTime)``, ``ofType(Period)`` read
``valueQuantity``/``onsetDateTime``/..., a bare choice such as ``Observation.effective`` reads
every ``effective[x]``), ``|``, ``[n]``, ``where(...)``, ``exists()``, ``empty()``, ``not()``,
``first()``, ``resolve() is Type`` (by the reference text or ``Reference.type``), ``=``,
``!=``, ``and``, ``or``, literals and ``$this``. Anything else fails at compile time with
``FhirPathError``. ``first_elements`` tells which top-level elements an expression needs, so
callers can skip expressions that cannot select anything in a resource.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

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
    parse,
)
from shared.fhir.fhirpath_types import (
    CHOICE_PATHS,
    RESOURCE_BASES,
    Resolved,
    is_type,
    resolve,
    truth,
    values_equal,
)

__all__ = ["FhirPathError", "Step", "compile_path", "evaluate", "first_elements"]

Step = Callable[[list[Any]], list[Any]]


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
        handler = _FUNCTIONS.get(call.name)
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
        raise self.fail(f"unsupported operator {node.op!r}")

    def argument(self, call: Call, count: int) -> tuple[Node, ...]:
        if len(call.args) != count:
            raise self.fail(f"{call.name}() takes {count} argument(s)")
        return call.args

    def type_argument(self, call: Call) -> str:
        (arg,) = self.argument(call, 1)
        if not isinstance(arg, Name):
            raise self.fail(f"{call.name}() needs a type name")
        return arg.name


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


def _where(compiler: _Compiler, call: Call, path: str | None) -> Step:
    (arg,) = compiler.argument(call, 1)
    criterion, _ = compiler.compile(arg, path)
    return lambda items: [i for i in items if truth(criterion([i]))]


def _exists(compiler: _Compiler, call: Call, path: str | None) -> Step:
    if not call.args:
        return lambda items: [bool(items)]
    where = _where(compiler, call, path)
    return lambda items: [bool(where(items))]


def _empty(compiler: _Compiler, call: Call, path: str | None) -> Step:
    compiler.argument(call, 0)
    return lambda items: [not items]


def _not(compiler: _Compiler, call: Call, path: str | None) -> Step:
    compiler.argument(call, 0)

    def step(items: list[Any]) -> list[Any]:
        value = truth(items)
        return [] if value is None else [not value]

    return step


def _first(compiler: _Compiler, call: Call, path: str | None) -> Step:
    compiler.argument(call, 0)
    return lambda items: items[:1]


def _resolve(compiler: _Compiler, call: Call, path: str | None) -> Step:
    compiler.argument(call, 0)
    return lambda items: [r for r in map(resolve, items) if r is not None]


def _is_call(compiler: _Compiler, call: Call, path: str | None) -> Step:
    type_name = compiler.type_argument(call)
    return lambda items: [is_type(i, type_name) for i in items[:1]]


_FUNCTIONS: dict[str, Callable[[_Compiler, Call, str | None], Step]] = {
    "where": _where,
    "exists": _exists,
    "empty": _empty,
    "not": _not,
    "first": _first,
    "resolve": _resolve,
    "is": _is_call,
}


def _typed(name: str, type_name: str) -> str:
    """The JSON key of a choice element of one type: ``value`` + ``Quantity``."""
    return name + type_name[:1].upper() + type_name[1:]


def _lower_cast(target: Node, type_name: str) -> Node:
    """``x.value as Quantity`` is just the element ``x.valueQuantity`` in JSON."""
    if isinstance(target, Name) and not target.name[:1].isupper():
        return Name(_typed(target.name, type_name))
    if isinstance(target, Invoke) and isinstance(target.member, Name):
        return Invoke(target.target, Name(_typed(target.member.name, type_name)))
    return TypeOp("as", target, type_name)  # left for the compiler to refuse


def _lower_casts(node: Node) -> Node:
    """Rewrite casts on choice elements (``as T``, ``.as(T)``, ``.ofType(T)``) to typed keys."""
    if isinstance(node, Invoke):
        target = _lower_casts(node.target)
        member = node.member
        if isinstance(member, Call) and member.name in ("as", "ofType") and len(member.args) == 1:
            arg = member.args[0]
            if isinstance(arg, Name):
                return _lower_cast(target, arg.name)
        if isinstance(member, Call):
            member = Call(member.name, tuple(_lower_casts(a) for a in member.args))
        return Invoke(target, member)
    if isinstance(node, Call):
        return Call(node.name, tuple(_lower_casts(a) for a in node.args))
    if isinstance(node, Index):
        return Index(_lower_casts(node.target), node.index)
    if isinstance(node, Binary):
        return Binary(node.op, _lower_casts(node.left), _lower_casts(node.right))
    if isinstance(node, TypeOp):
        target = _lower_casts(node.target)
        if node.op == "as":
            return _lower_cast(target, node.type_name)
        return TypeOp(node.op, target, node.type_name)
    return node


@cache
def compile_path(expression: str) -> Callable[[dict[str, Any]], list[Any]]:
    """Compile once; the function returns the JSON nodes ``expression`` selects in a resource."""
    step, _ = _Compiler(expression).compile(_lower_casts(parse(expression)))

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
    return _first_elements(_lower_casts(parse(expression)))


def evaluate(expression: str, resource: dict[str, Any]) -> list[Any]:
    """The JSON nodes ``expression`` selects in ``resource`` (compiled and cached on first use)."""
    return compile_path(expression)(resource)
