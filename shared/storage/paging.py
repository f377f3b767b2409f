"""Keyset paging: a page ends at a row, and the next page starts after that row's sort key.

The cursor is opaque to clients (base64 of JSON): the sort values and primary key of the row a
page ended or began at, and the direction. Page 100 costs what page 1 costs, and resources
created while a client pages do not shift what it sees.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, String, and_, false, or_

from shared.errors import bad_request


@dataclass(frozen=True, slots=True)
class Cursor:
    values: tuple[Any, ...]  # the sort key values of the boundary row, then its pk
    backwards: bool = False  # True: the page before the boundary row

    def encode(self) -> str:
        raw = orjson.dumps({"v": list(self.values), "b": self.backwards})
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = orjson.loads(raw)
            return cls(tuple(data["v"]), bool(data["b"]))
        except (binascii.Error, ValueError, KeyError, TypeError) as error:
            raise bad_request(
                "The paging cursor is not valid; start again from the first page"
            ) from error


def after(
    keys: list[tuple[ColumnElement[Any], bool]], values: tuple[Any, ...]
) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order of ``keys`` (expression, descending)."""
    if len(values) != len(keys) or not all(
        _fits(expression, value) for (expression, _), value in zip(keys, values, strict=True)
    ):
        raise bad_request("The paging cursor does not belong to this search")
    clauses: list[ColumnElement[bool]] = []
    for position, (expression, descending) in enumerate(keys):
        equal_before = [keys[i][0] == values[i] for i in range(position)]
        beyond = expression < values[position] if descending else expression > values[position]
        clauses.append(and_(*equal_before, beyond))
    return or_(false(), *clauses)


def _fits(expression: ColumnElement[Any], value: Any) -> bool:
    """Whether a cursor value is of the kind its sort key compares (text or number): a
    tampered cursor must be refused, not compared across types by the database."""
    if isinstance(expression.type, String):
        return type(value) is str
    return type(value) in (int, float)
