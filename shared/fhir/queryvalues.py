"""The values of FHIR search parameters: escaping, OR lists, ``|`` parts and prefixes.

Owns turning the text after ``name[:modifier]=`` into ``SearchValue``s for one parameter:
splitting on unescaped commas (OR) and, for token, quantity and reference parameters, on
unescaped ``|``; undoing the ``\\,`` ``\\$`` ``\\|`` ``\\\\`` escapes; reading the comparison
prefix of number, date and quantity values; and refusing values that cannot mean anything
(empty, unparseable numbers and dates). ``escape`` is the inverse, for building search links.
"""

from __future__ import annotations

import re
from typing import get_args

from shared.errors import bad_request
from shared.fhir.dates import date_range, number_range
from shared.fhir.searchparams import SearchParam
from shared.fhir.searchquery import Prefix, SearchValue

ESCAPABLE = ",$|\\"
PREFIXES: dict[str, Prefix] = {p: p for p in get_args(Prefix)}
PREFIXED_TYPES = frozenset({"number", "date", "quantity"})
PIPED_TYPES = frozenset({"token", "quantity", "reference"})

_PREFIX = re.compile(r"([a-z]{2})(?=[0-9+.-])")


def escape(value: str) -> str:
    """Escape one search value so that ``parse_values`` reads it back unchanged."""
    return "".join("\\" + c if c in ESCAPABLE else c for c in value)


def split_unescaped(text: str, separator: str) -> list[str]:
    """Split on ``separator`` where it is not escaped, leaving escapes in place."""
    pieces: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            current.append(char)
            current.append(next(chars, ""))
        elif char == separator:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def unescape(text: str) -> str:
    """Undo the search escapes; a backslash before any other character stays as written."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        following = text[index + 1 : index + 2]
        if char == "\\" and following and following in ESCAPABLE:
            out.append(following)
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def parse_values(
    param: SearchParam, modifier: str | None, raw: str, name: str
) -> tuple[SearchValue, ...]:
    """The OR-ed values of ``name=raw`` for ``param`` (``name`` is only for diagnostics)."""
    if raw == "":
        raise bad_request(f"Search parameter '{name}' has an empty value")
    values = tuple(_parse_one(param, modifier, piece, name) for piece in split_unescaped(raw, ","))
    return values


def _parse_one(param: SearchParam, modifier: str | None, piece: str, name: str) -> SearchValue:
    if piece == "":
        raise bad_request(f"Search parameter '{name}' has an empty value between commas")
    if modifier == "missing":
        return _missing_value(unescape(piece), name)
    if param.type in PIPED_TYPES and modifier != "text":
        parts = tuple(unescape(p) for p in split_unescaped(piece, "|"))
    else:
        parts = (unescape(piece),)
    prefix: Prefix = "eq"
    if param.type in PREFIXED_TYPES:
        prefix, first = _split_prefix(parts[0])
        parts = (first, *parts[1:])
    _check_parts(param, modifier, parts, name)
    return SearchValue(parts=parts, prefix=prefix)


def _missing_value(text: str, name: str) -> SearchValue:
    if text not in ("true", "false"):
        raise bad_request(f"Search parameter '{name}' takes true or false, not '{text}'")
    return SearchValue(parts=(text,))


def _split_prefix(text: str) -> tuple[Prefix, str]:
    """A leading two-letter prefix counts only when a number (or sign) follows it."""
    match = _PREFIX.match(text)
    prefix = PREFIXES.get(match.group(1)) if match else None
    if prefix is None:
        return "eq", text
    return prefix, text[2:]


def _check_parts(
    param: SearchParam, modifier: str | None, parts: tuple[str, ...], name: str
) -> None:
    if not any(parts):
        raise bad_request(f"Search parameter '{name}' has an empty value")
    if param.type == "number":
        _check_number(parts[0], name)
    elif param.type == "date":
        _check_date(parts[0], name)
    elif param.type == "quantity":
        _check_quantity(parts, name)
    elif param.type == "token":
        _check_token(modifier, parts, name)
    elif param.type == "reference" and len(parts) > 2:
        raise bad_request(
            f"Search parameter '{name}' takes a reference or 'url|version', "
            f"not {len(parts)} '|'-separated parts"
        )


def _check_number(text: str, name: str) -> None:
    try:
        number_range(text)
    except (ValueError, ArithmeticError):  # ArithmeticError: an exponent beyond Decimal's
        raise bad_request(
            f"Search parameter '{name}' needs a number, optionally after a prefix "
            f"(eq, ne, gt, lt, ge, le, sa, eb, ap), not '{text}'"
        ) from None


def _check_date(text: str, name: str) -> None:
    try:
        date_range(text)
    except ValueError:
        raise bad_request(
            f"Search parameter '{name}' needs a date such as 2024, 2024-03, 2024-03-01 or "
            f"2024-03-01T10:00:00Z, optionally after a prefix (eq, ne, gt, lt, ge, le, sa, "
            f"eb, ap), not '{text}'"
        ) from None


def _check_quantity(parts: tuple[str, ...], name: str) -> None:
    if len(parts) not in (1, 3):
        raise bad_request(
            f"Search parameter '{name}' takes 'number', or 'number|system|code' "
            f"(system may be empty), not {len(parts)} '|'-separated parts"
        )
    _check_number(parts[0], name)


def _check_token(modifier: str | None, parts: tuple[str, ...], name: str) -> None:
    if modifier == "of-type":
        if len(parts) != 3 or not all(parts):
            raise bad_request(
                f"Search parameter '{name}' takes 'type-system|type-code|value', all three given"
            )
    elif len(parts) > 2:
        raise bad_request(
            f"Search parameter '{name}' takes 'code', 'system|code', '|code' or 'system|', "
            f"not {len(parts)} '|'-separated parts (escape a literal '|' as '\\|')"
        )
