"""The identifying facts of a Patient, read once and normalised for comparison.

Names are folded (case, accents) with ``shared.fhir.text.fold`` and reduced to letters;
postcodes to upper-case letters and digits; phone numbers to their last ten digits. Only a
valid NHS number (Modulus 11) counts: anything else under that system is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.record.identity.similarity import name_key, phone_key, postcode_key
from shared.fhir.text import fold
from shared.nhs_number import NHS_NUMBER_SYSTEM, is_valid

_GENDERS = frozenset({"male", "female"})  # "other" and "unknown" say nothing either way


@dataclass(frozen=True, slots=True)
class PersonName:
    family: str  # folded letters, "" when not known
    given: tuple[str, ...]  # folded, first given name first


@dataclass(frozen=True, slots=True)
class Demographics:
    nhs_number: str | None
    names: tuple[PersonName, ...]
    birth_date: str | None  # as FHIR writes it: YYYY, YYYY-MM or YYYY-MM-DD
    gender: str | None  # "male" or "female"
    postcodes: tuple[str, ...]  # postcode keys ("PO40LE"), current address first
    phones: tuple[str, ...]  # last ten digits


def demographics(patient: dict[str, Any]) -> Demographics:
    """What identifies the person in ``patient`` (a Patient as JSON), tolerating gaps."""
    birth_date = patient.get("birthDate")
    gender = patient.get("gender")
    return Demographics(
        nhs_number=_nhs_number(patient.get("identifier")),
        names=tuple(_names(patient.get("name"))),
        birth_date=birth_date if isinstance(birth_date, str) and birth_date else None,
        gender=gender if gender in _GENDERS else None,
        postcodes=_unique(_postcodes(patient.get("address"))),
        phones=_unique(_phones(patient.get("telecom"))),
    )


def _nhs_number(identifiers: Any) -> str | None:
    for identifier in _dicts(identifiers):
        value = identifier.get("value")
        if identifier.get("system") == NHS_NUMBER_SYSTEM and isinstance(value, str):
            return value if is_valid(value) else None
    return None


def _names(names: Any) -> list[PersonName]:
    found = []
    for name in _dicts(names):
        family = name_key(fold(name["family"])) if isinstance(name.get("family"), str) else ""
        given = [name_key(fold(g)) for g in name.get("given") or [] if isinstance(g, str)]
        if not family and not given and isinstance(name.get("text"), str):
            *given, family = name_key(fold(name["text"])).split() or [""]
        given = [g for g in given if g]
        if family or given:
            found.append(PersonName(family, tuple(given)))
    return found


def _postcodes(addresses: Any) -> list[str]:
    ordered = sorted(_dicts(addresses), key=lambda a: a.get("use") == "old")
    keys = [postcode_key(a["postalCode"]) for a in ordered if isinstance(a.get("postalCode"), str)]
    return [key for key in keys if key]


def _phones(telecoms: Any) -> list[str]:
    keys = [
        phone_key(t["value"])
        for t in _dicts(telecoms)
        if t.get("system") in (None, "phone", "sms") and isinstance(t.get("value"), str)
    ]
    return [key for key in keys if key]


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))
