"""Turning a value found in the record into an answer of the type a question asks for.

``typed_answer`` is the one rule: an item's ``type`` says which ``value[x]`` its answers carry,
and a value becomes an answer only when it is of that type (or plainly convertible: a whole
Quantity for an integer, a code for one of a choice's options, a dateTime for a date). A value
of another type is never forced into an answer: the caller reports it and leaves the item
empty. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
_DATE_TIME = re.compile(r"\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?)?)?")
_TIME = re.compile(r"\d{2}:\d{2}:\d{2}(\.\d+)?")
_QUANTITY_KEYS = ("value", "comparator", "unit", "system", "code")
_REFERENCE_KEYS = ("reference", "type", "identifier", "display")
_ATTACHMENT_KEYS = ("contentType", "language", "data", "url", "size", "hash", "title", "creation")

Answer = dict[str, Any]


def typed_answer(item: dict[str, Any], value: Any) -> Answer | None:
    """``{"valueX": ...}`` answering ``item`` with ``value``, or None if the type does not fit."""
    convert = _CONVERTERS.get(item.get("type", ""))
    return convert(item, value) if convert else None


def fits_as_is(item: dict[str, Any], answer: dict[str, Any]) -> Answer | None:
    """A previous answer, if it answers ``item`` unchanged: same value type, still an option."""
    key = next((k for k in answer if k.startswith("value")), None)
    if key is None:
        return None
    fitted = typed_answer(item, answer[key])
    return fitted if fitted is not None and key in fitted else None


def _is_number(value: Any) -> bool:
    return type(value) in (int, float, Decimal)


def _plain_number(value: int | float | Decimal) -> int | float:
    """JSON-ready: whole numbers as int, Decimals as float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _number_of(value: Any) -> int | float | Decimal | None:
    if _is_number(value):
        number: int | float | Decimal = value
        return number
    if isinstance(value, dict) and _is_number(value.get("value")):
        quantity_value: int | float | Decimal = value["value"]
        return quantity_value
    return None


def _boolean(item: dict[str, Any], value: Any) -> Answer | None:
    return {"valueBoolean": value} if type(value) is bool else None


def _integer(item: dict[str, Any], value: Any) -> Answer | None:
    number = _number_of(value)
    if number is None or (isinstance(number, float | Decimal) and number != int(number)):
        return None
    return {"valueInteger": int(number)}


def _decimal(item: dict[str, Any], value: Any) -> Answer | None:
    number = _number_of(value)
    return None if number is None else {"valueDecimal": _plain_number(number)}


def _text(key: str) -> Callable[[dict[str, Any], Any], Answer | None]:
    return lambda item, value: {key: value} if type(value) is str and value else None


def _date(item: dict[str, Any], value: Any) -> Answer | None:
    if type(value) is not str or not _DATE_TIME.fullmatch(value):
        return None
    if _DATE.fullmatch(value):
        return {"valueDate": value}
    return {"valueDate": value[:10]}  # a dateTime's day is the date it answers


def _date_time(item: dict[str, Any], value: Any) -> Answer | None:
    ok = type(value) is str and _DATE_TIME.fullmatch(value)
    return {"valueDateTime": value} if ok else None


def _time(item: dict[str, Any], value: Any) -> Answer | None:
    return {"valueTime": value} if type(value) is str and _TIME.fullmatch(value) else None


def _is_coding(value: Any) -> bool:
    return isinstance(value, dict) and "code" in value and "value" not in value


def _codings(value: Any) -> list[dict[str, Any]]:
    """A Coding, or each Coding of a CodeableConcept."""
    if _is_coding(value):
        return [value]
    if isinstance(value, dict) and isinstance(value.get("coding"), list):
        return [c for c in value["coding"] if _is_coding(c)]
    return []


def _options(item: dict[str, Any]) -> list[tuple[str, Any]]:
    """Each answerOption as (its value key, its value)."""
    found = item.get("answerOption")
    if not isinstance(found, list):
        return []
    pairs = (next(iter(_values(option)), None) for option in found if isinstance(option, dict))
    return [pair for pair in pairs if pair is not None]


def _values(element: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in element.items() if k.startswith("value")]


def _same_code(coding: dict[str, Any], option: Any) -> bool:
    if not _is_coding(option) or option.get("code") != coding.get("code"):
        return False
    return coding.get("system") in (None, option.get("system"))


def _from_options(item: dict[str, Any], value: Any) -> Answer | None:
    """The option ``value`` names: a Coding (or CodeableConcept) by system and code, a bare
    code by its code, or a string, integer, date or time option by equality."""
    options = _options(item)
    for coding in _codings(value):
        for key, option in options:
            if _same_code(coding, option):
                return {key: option}
    if type(value) is str:
        for key, option in options:
            if _is_coding(option) and option["code"] == value:
                return {key: option}
    for key, option in options:
        if type(option) is type(value) and option == value and not isinstance(value, dict):
            return {key: option}
    return None


def _choice(item: dict[str, Any], value: Any) -> Answer | None:
    if _options(item):
        return _from_options(item, value)
    codings = _codings(value)  # bound to a value set this server cannot expand: any Coding
    return {"valueCoding": codings[0]} if codings else None


def _open_choice(item: dict[str, Any], value: Any) -> Answer | None:
    chosen = _from_options(item, value) if _options(item) else None
    if chosen is not None:
        return chosen
    codings = _codings(value)
    if codings:
        return {"valueCoding": codings[0]}
    return {"valueString": value} if type(value) is str and value else None


def _pick(value: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: value[k] for k in keys if k in value}


def _reference(item: dict[str, Any], value: Any) -> Answer | None:
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("resourceType"), str) and isinstance(value.get("id"), str):
        return {"valueReference": {"reference": f"{value['resourceType']}/{value['id']}"}}
    if "reference" in value or "identifier" in value:
        return {"valueReference": _pick(value, _REFERENCE_KEYS)}
    return None


def _quantity(item: dict[str, Any], value: Any) -> Answer | None:
    if not isinstance(value, dict) or not _is_number(value.get("value")):
        return None
    quantity = _pick(value, _QUANTITY_KEYS)
    quantity["value"] = _plain_number(quantity["value"])
    return {"valueQuantity": quantity}


def _attachment(item: dict[str, Any], value: Any) -> Answer | None:
    if not isinstance(value, dict) or not ("url" in value or "data" in value):
        return None
    return {"valueAttachment": _pick(value, _ATTACHMENT_KEYS)}


_CONVERTERS: dict[str, Callable[[dict[str, Any], Any], Answer | None]] = {
    "boolean": _boolean,
    "integer": _integer,
    "decimal": _decimal,
    "string": _text("valueString"),
    "text": _text("valueString"),
    "url": _text("valueUri"),
    "date": _date,
    "dateTime": _date_time,
    "time": _time,
    "choice": _choice,
    "open-choice": _open_choice,
    "reference": _reference,
    "quantity": _quantity,
    "attachment": _attachment,
}
