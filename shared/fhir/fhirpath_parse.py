"""Reading FHIRPath text into a small syntax tree, for ``shared.fhir.fhirpath`` to compile.

Owns the grammar of the FHIRPath subset OneStory uses (the search-parameter expressions and the
pre-fill expressions of Questionnaires): paths, function calls, indexers, string/number/boolean
literals, ``$this``, environment variables (``%patient``, ``%resource``, named variables),
parentheses and the operators ``&``, ``as``/``is``, ``|``, ``=``/``!=``, ``and``/``or``, with
FHIRPath's precedence. Anything else raises ``FhirPathError`` naming the expression and the
offending position. Also two reads of a tree: ``lower_casts`` rewrites casts on choice elements
to the typed JSON keys, ``variables_in`` lists the ``%variables`` an expression uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')"
    r"|(?P<number>[0-9]+(?:\.[0-9]+)?)"
    r"|(?P<name>[$%]?[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)"
    r"|(?P<op>!=|[.()\[\]|=,&]))"
)
_ESCAPES = {"'": "'", '"': '"', "`": "`", "\\": "\\", "/": "/", "n": "\n", "t": "\t", "r": "\r"}

# Binary operators from the loosest to the tightest binding; ``as``/``is`` bind tighter still,
# and ``&`` (string concatenation, FHIRPath's additive level) tighter than those.
_LEVELS: tuple[frozenset[str], ...] = (
    frozenset({"or"}),
    frozenset({"and"}),
    frozenset({"=", "!="}),
    frozenset({"|"}),
)
Literal = str | bool | int | Decimal


class FhirPathError(ValueError):
    """An expression outside the supported FHIRPath subset, or not FHIRPath at all."""


@dataclass(frozen=True, slots=True)
class Name:
    """An identifier: an element name, or a type name at the start of a path."""

    name: str


@dataclass(frozen=True, slots=True)
class Const:
    value: Literal


@dataclass(frozen=True, slots=True)
class This:
    pass


@dataclass(frozen=True, slots=True)
class Variable:
    """``%name``: a value the caller supplies (``%patient``, ``%resource``, a named variable)."""

    name: str


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Invoke:
    """``target.member``: a member or function applied to what ``target`` yields."""

    target: Node
    member: Name | Call


@dataclass(frozen=True, slots=True)
class Index:
    target: Node
    index: int


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class TypeOp:
    """``target as Type`` or ``target is Type``."""

    op: str
    target: Node
    type_name: str


Node = Name | Const | This | Variable | Call | Invoke | Index | Binary | TypeOp


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "string", "number", "name", "op" or "end"
    text: str
    pos: int


def _tokenise(expression: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(expression):
        match = _TOKEN.match(expression, pos)
        if match is None or match.end() == pos:
            if expression[pos:].strip() == "":
                break
            raise FhirPathError(f"unexpected character at {pos} in FHIRPath {expression!r}")
        kind = match.lastgroup or "op"
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    tokens.append(_Token("end", "", len(expression)))
    return tokens


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = _tokenise(expression)
        self.at = 0

    def fail(self, what: str) -> FhirPathError:
        token = self.tokens[self.at]
        found = repr(token.text) if token.kind != "end" else "the end"
        return FhirPathError(
            f"{what} at {token.pos} (found {found}) in FHIRPath {self.expression!r}"
        )

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self, text: str | None = None) -> _Token:
        token = self.tokens[self.at]
        if text is not None and not (token.text == text and token.kind in ("op", "name")):
            raise self.fail(f"expected {text!r}")
        self.at += 1
        return token

    def accept(self, text: str) -> bool:
        token = self.peek()
        if token.kind in ("op", "name") and token.text == text:
            self.at += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.binary(0)
        if self.peek().kind != "end":
            raise self.fail("unsupported syntax")
        return node

    def binary(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.type_expression()
        node = self.binary(level + 1)
        while self.peek().kind in ("op", "name") and self.peek().text in _LEVELS[level]:
            op = self.take().text
            node = Binary(op, node, self.binary(level + 1))
        return node

    def type_expression(self) -> Node:
        node = self.concatenation()
        while self.peek().kind == "name" and self.peek().text in ("as", "is"):
            op = self.take().text
            node = TypeOp(op, node, self.type_name())
        return node

    def concatenation(self) -> Node:
        node = self.postfix()
        while self.accept("&"):
            node = Binary("&", node, self.postfix())
        return node

    def type_name(self) -> str:
        token = self.take()
        if token.kind != "name":
            self.at -= 1
            raise self.fail("expected a type name")
        name = token.text.strip("`")
        if name == "FHIR" and self.accept("."):
            return self.type_name()
        return name

    def postfix(self) -> Node:
        node = self.term()
        while True:
            if self.accept("."):
                member = self.name_or_call()
                node = Invoke(node, member)
            elif self.accept("["):
                token = self.take()
                if token.kind != "number" or not token.text.isdigit():
                    self.at -= 1
                    raise self.fail("expected a whole-number index")
                self.take("]")
                node = Index(node, int(token.text))
            else:
                return node

    def term(self) -> Node:
        token = self.peek()
        if token.kind == "string":
            self.at += 1
            return Const(_unquote(token.text))
        if token.kind == "number":
            self.at += 1
            return Const(Decimal(token.text) if "." in token.text else int(token.text))
        if self.accept("("):
            node = self.binary(0)
            self.take(")")
            return node
        if token.kind == "name" and token.text in ("true", "false"):
            self.at += 1
            return Const(token.text == "true")
        if token.kind == "name" and token.text == "$this":
            self.at += 1
            return This()
        if token.kind == "name" and token.text.startswith("%"):
            self.at += 1
            return Variable(token.text[1:])
        return self.name_or_call()

    def name_or_call(self) -> Name | Call:
        token = self.take()
        if token.kind != "name" or token.text[:1] in ("$", "%"):
            self.at -= 1
            raise self.fail("expected a name")
        name = token.text.strip("`")
        if not self.accept("("):
            return Name(name)
        args: list[Node] = []
        if not self.accept(")"):
            args.append(self.binary(0))
            while self.accept(","):
                args.append(self.binary(0))
            self.take(")")
        return Call(name, tuple(args))


def parse(expression: str) -> Node:
    """The syntax tree of one FHIRPath expression; ``FhirPathError`` if it is not supported."""
    if not expression.strip():
        raise FhirPathError("empty FHIRPath expression")
    return _Parser(expression).parse()


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


def lower_casts(node: Node) -> Node:
    """Rewrite casts on choice elements (``as T``, ``.as(T)``, ``.ofType(T)``) to typed keys."""
    if isinstance(node, Invoke):
        target = lower_casts(node.target)
        member = node.member
        if isinstance(member, Call) and member.name in ("as", "ofType") and len(member.args) == 1:
            arg = member.args[0]
            if isinstance(arg, Name):
                return _lower_cast(target, arg.name)
        if isinstance(member, Call):
            member = Call(member.name, tuple(lower_casts(a) for a in member.args))
        return Invoke(target, member)
    if isinstance(node, Call):
        return Call(node.name, tuple(lower_casts(a) for a in node.args))
    if isinstance(node, Index):
        return Index(lower_casts(node.target), node.index)
    if isinstance(node, Binary):
        return Binary(node.op, lower_casts(node.left), lower_casts(node.right))
    if isinstance(node, TypeOp):
        target = lower_casts(node.target)
        if node.op == "as":
            return _lower_cast(target, node.type_name)
        return TypeOp(node.op, target, node.type_name)
    return node


def variables_in(node: Node) -> frozenset[str]:
    """The names of the ``%variables`` a syntax tree reads."""
    if isinstance(node, Variable):
        return frozenset({node.name})
    children: tuple[Node, ...] = ()
    if isinstance(node, Call):
        children = node.args
    elif isinstance(node, Invoke):
        children = (node.target, node.member)
    elif isinstance(node, Index | TypeOp):
        children = (node.target,)
    elif isinstance(node, Binary):
        children = (node.left, node.right)
    return frozenset().union(*(variables_in(child) for child in children))
