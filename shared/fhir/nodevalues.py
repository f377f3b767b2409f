"""Turning the JSON nodes a search expression selects into index value records.

Owns one converter per search-parameter type: each reads a node (a primitive, or a FHIR data
type recognised by its shape: HumanName, Address, Coding, CodeableConcept, Identifier,
ContactPoint, Reference, Period, Timing, Quantity, Money, Range) and appends the values it is
searchable by to a list. Nodes a type cannot use, and dates or numbers that do not parse, are
skipped rather than failing the write. ``shared.fhir.extract`` decides which converter runs.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any

from shared.fhir.dates import date_range, number_range
from shared.fhir.fhirpath_types import parse_reference
from shared.fhir.indexvalues import (
    DateValue,
    NumberValue,
    QuantityValue,
    ReferenceValue,
    StringValue,
    TokenValue,
    UriValue,
)
from shared.fhir.text import fold

Converter = Callable[[str, Any, list[Any]], None]

# Open ends: a Period without a start or end, a Range without a low or high.
EARLIEST = date_range("0001-01-01")[0]
LATEST = date_range("9999-12-31T23:59:59.999999Z")[1]
OPEN_LOW = Decimal("-1E+38")
OPEN_HIGH = Decimal("1E+38")
CURRENCY_SYSTEM = "urn:iso:std:iso:4217"

# HumanName and Address parts, each indexed as a separate string.
_STRING_PARTS = (
    "family",
    "given",
    "prefix",
    "suffix",
    "text",
    "line",
    "city",
    "district",
    "state",
    "postalCode",
    "country",
)
_CONTACT_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})
_NUMBERS = (int, float, Decimal)

# Names, places and code displays repeat across resources: fold each text once.
_fold = lru_cache(maxsize=65_536)(fold)


def _folded(text: Any) -> str | None:
    return (_fold(text) or None) if type(text) is str else None


def _text(node: Any) -> str | None:
    return node if type(node) is str and node else None


def strings(param: str, node: Any, out: list[Any]) -> None:
    """A string, or every part of a HumanName / Address (CodeableConcept text too)."""
    if type(node) is str:
        folded = _fold(node)
        if folded:
            out.append(StringValue(param, folded, node))
    elif type(node) is dict:
        for key in _STRING_PARTS:
            part = node.get(key)
            if type(part) is list:
                for item in part:
                    strings(param, item, out)
            elif type(part) is str:
                strings(param, part, out)


def _coding(param: str, coding: Any, out: list[Any]) -> None:
    if type(coding) is not dict:
        return
    system, code = _text(coding.get("system")), _text(coding.get("code"))
    display = _folded(coding.get("display"))
    if system or code or display:
        out.append(TokenValue(param, system, code, display))


def _identifier(param: str, node: dict[str, Any], out: list[Any]) -> None:
    value, system = _text(node.get("value")), _text(node.get("system"))
    if system in _CONTACT_SYSTEMS:  # a ContactPoint: its token is just the value
        if value:
            out.append(TokenValue(param, None, value))
        return
    kind = node.get("type")
    text = _folded(kind.get("text")) if type(kind) is dict else None
    if value or system:
        out.append(TokenValue(param, system, value, text))


def tokens(param: str, node: Any, out: list[Any]) -> None:
    """Codings, CodeableConcepts, Identifiers, ContactPoints, codes and booleans."""
    kind = type(node)
    if kind is str:
        if node:
            out.append(TokenValue(param, None, node))
    elif kind is bool:
        out.append(TokenValue(param, None, "true" if node else "false"))
    elif kind is int:
        out.append(TokenValue(param, None, str(node)))
    elif kind is dict:
        if "coding" in node or ("text" in node and "value" not in node and "code" not in node):
            for coding in node.get("coding") or ():
                _coding(param, coding, out)
            text = _folded(node.get("text"))
            if text:
                out.append(TokenValue(param, None, None, text))
        elif "code" in node or "display" in node or "value" not in node:
            _coding(param, node, out)
        else:
            _identifier(param, node, out)


def _reference_text(text: str) -> tuple[str | None, str | None, str | None] | None:
    """(type, id, url) from a reference or canonical; None if it names nothing indexable."""
    if text.startswith("#"):
        return None
    absolute = "://" in text or text.startswith("urn:")
    url = text.split("|", 1)[0] if absolute else None
    parsed = parse_reference(text)
    if parsed:
        return parsed[0], parsed[1], url
    return (None, None, url) if url else None


def references(param: str, node: Any, out: list[Any]) -> None:
    """References (literal, absolute, URN, logical by identifier) and canonical/uri strings."""
    if type(node) is str:
        found = _reference_text(node)
        if found:
            out.append(ReferenceValue(param, *found))
        return
    if type(node) is not dict:
        return
    if "resourceType" in node:  # a resource in place of a reference (Bundle.entry[0].resource)
        out.append(ReferenceValue(param, node["resourceType"], _text(node.get("id"))))
        return
    reference = node.get("reference")
    found = _reference_text(reference) if type(reference) is str else None
    target_type, target_id, url = found or (None, None, None)
    identifier = node.get("identifier")
    id_system = id_value = None
    if type(identifier) is dict:
        id_system, id_value = _text(identifier.get("system")), _text(identifier.get("value"))
    if target_type is None and (url or id_value):
        target_type = _text(node.get("type"))
    if target_id or url or id_value:
        out.append(ReferenceValue(param, target_type, target_id, url, id_system, id_value))


def _range_of(text: Any, low_end: bool) -> int | None:
    if type(text) is not str:
        return None
    try:
        bounds = date_range(text)
    except ValueError:
        return None
    return bounds[0] if low_end else bounds[1]


def dates(param: str, node: Any, out: list[Any]) -> None:
    """Dates, dateTimes and instants; Periods (open ends reach the far past/future); Timings."""
    if type(node) is str:
        try:
            low, high = date_range(node)
        except ValueError:
            return
        out.append(DateValue(param, low, high))
    elif type(node) is dict:
        start, end = node.get("start"), node.get("end")
        if start is not None or end is not None:
            first = EARLIEST if start is None else _range_of(start, True)
            last = LATEST if end is None else _range_of(end, False)
            if first is not None and last is not None and first <= last:
                out.append(DateValue(param, first, last))
        for event in node.get("event") or ():
            dates(param, event, out)


def _number(value: Any) -> tuple[Decimal, Decimal, Decimal] | None:
    if type(value) not in _NUMBERS and type(value) is not str:
        return None
    try:
        return number_range(str(value))
    except ValueError:
        return None


def numbers(param: str, node: Any, out: list[Any]) -> None:
    """Decimals and integers, with the range their written precision implies."""
    found = _number(node)
    if found:
        out.append(NumberValue(param, *found))


def _quantity(param: str, node: dict[str, Any], out: list[Any]) -> None:
    found = _number(node.get("value"))
    if found is None:
        return
    system, code, unit = _text(node.get("system")), _text(node.get("code")), node.get("unit")
    currency = _text(node.get("currency"))
    if currency:  # Money
        system, code, unit = CURRENCY_SYSTEM, currency, unit or currency
    out.append(QuantityValue(param, *found, system, code, _text(unit)))


def _range(param: str, node: dict[str, Any], out: list[Any]) -> None:
    low, high = node.get("low"), node.get("high")
    low = low if type(low) is dict else {}
    high = high if type(high) is dict else {}
    low_value, high_value = _number(low.get("value")), _number(high.get("value"))
    if low_value is None and high_value is None:
        return
    ends = low or high
    value = low_value[0] if low_value else high_value[0] if high_value else Decimal(0)
    out.append(
        QuantityValue(
            param,
            value,
            low_value[0] if low_value else OPEN_LOW,
            high_value[0] if high_value else OPEN_HIGH,
            _text(ends.get("system")),
            _text(ends.get("code")),
            _text(ends.get("unit")),
        )
    )


def quantities(param: str, node: Any, out: list[Any]) -> None:
    """Quantity and its kinds (Age, Duration, Count, Distance), Money, Range, bare numbers."""
    if type(node) is dict:
        if "low" in node or "high" in node:
            _range(param, node, out)
        else:
            _quantity(param, node, out)
        return
    found = _number(node) if type(node) is not str else None
    if found:
        out.append(QuantityValue(param, *found, None, None))


def uris(param: str, node: Any, out: list[Any]) -> None:
    """uri, url and canonical strings, as written."""
    if type(node) is str and node:
        out.append(UriValue(param, node))


CONVERTERS: dict[str, Converter] = {
    "string": strings,
    "token": tokens,
    "reference": references,
    "date": dates,
    "number": numbers,
    "quantity": quantities,
    "uri": uris,
}
