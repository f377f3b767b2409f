"""Which searches find the records worth scoring against a person: a few narrow searches
on indexed parameters, each robust to a different mistake, whose results are unioned.

=======================================  ==========================================
search                                   still finds the person when ...
=======================================  ==========================================
identifier = NHS number                  every demographic is wrong
birthdate = the date                     the names are misspelt or swapped
birthdate = day and month swapped        ... and the date was transposed
family = first 3 letters, birthdate =    the day or month is wrong
  the year
family = first 3 letters of the given    the names are swapped and the date is wrong
  name, birthdate = the year
family = first 3 letters,                the date is wrong, even the year
  address-postalcode = the outward code
address-postalcode = the postcode        names and date are wrong (a household)
=======================================  ==========================================

Without a birth date, the family prefix is narrowed by the given name's first 3 letters.
Pure: the record runs them (services/record/operations/match.py).
"""

from __future__ import annotations

from datetime import date

from services.record.identity.demographics import Demographics, PersonName
from services.record.identity.similarity import outward_code
from shared.nhs_number import NHS_NUMBER_SYSTEM

Search = list[tuple[str, str]]
PREFIX = 3


def candidate_searches(person: Demographics) -> list[Search]:
    """The searches, most telling first, without repeats."""
    searches: list[Search] = []
    if person.nhs_number:
        searches.append([("identifier", f"{NHS_NUMBER_SYSTEM}|{person.nhs_number}")])
    searches += [[("birthdate", day)] for day in _birth_dates(person.birth_date)]
    for name in person.names:
        searches += _name_searches(name, person)
    if person.postcodes:
        searches.append([("address-postalcode", _spaced(person.postcodes[0]))])
    unique: list[Search] = []
    for search in searches:
        if search not in unique:
            unique.append(search)
    return unique


def _birth_dates(birth_date: str | None) -> list[str]:
    """The full date and, where it is a date too, the one with day and month swapped."""
    if birth_date is None or len(birth_date) != 10:
        return []
    year, month, day = birth_date.split("-")
    swapped = f"{year}-{day}-{month}"
    return [birth_date, swapped] if day != month and _is_date(swapped) else [birth_date]


def _name_searches(name: PersonName, person: Demographics) -> list[Search]:
    family = _prefix(name.family)
    given = _prefix(name.given[0]) if name.given else ""
    year = person.birth_date[:4] if person.birth_date else ""
    outward = outward_code(person.postcodes[0]) if person.postcodes else ""
    searches: list[Search] = []
    if family and year:
        searches.append([("family", family), ("birthdate", year)])
    elif family and given:
        searches.append([("family", family), ("given", given)])
    if given and year:
        searches.append([("family", given), ("birthdate", year)])
    if family and outward:
        searches.append([("family", family), ("address-postalcode", outward)])
    return searches


def _prefix(name: str) -> str:
    """The first letters of a folded name, spaces dropped: short names are used whole."""
    return name.replace(" ", "")[:PREFIX]


def _spaced(key: str) -> str:
    """A postcode key written the usual way, outward and inward code apart: "PO4 0LE"."""
    outward = outward_code(key)
    return f"{outward} {key[len(outward) :]}" if outward else key


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
