"""A seeded synthetic population of Portsmouth residents, and the ways registration gets
their details wrong: for testing patient matching.

Names come from the demo population's lists (services/record/demo_data.py), postcodes from
its real Portsmouth streets and districts, NHS numbers from the 999 test range.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from services.record import demo_data as data
from shared.nhs_number import NHS_NUMBER_SYSTEM, generate

Patient = dict[str, Any]
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def population(size: int, seed: int) -> list[Patient]:
    """``size`` different residents (distinct NHS numbers), the same for the same seed."""
    rng = random.Random(seed)
    taken: set[str] = set()
    people: list[Patient] = []
    while len(people) < size:
        person = resident(rng)
        if nhs_of(person) not in taken:
            taken.add(nhs_of(person))
            people.append(person)
    return people


def resident(rng: random.Random, **fixed: Any) -> Patient:
    """One resident; ``fixed`` overrides family, given, gender, birth_date or postcode."""
    gender = fixed.get("gender") or rng.choice(("female", "male"))
    born = fixed.get("birth_date") or birth_date(rng)
    older = born < date(1962, 1, 1)
    names = {
        ("female", True): data.OLDER_FEMALE,
        ("female", False): data.YOUNGER_FEMALE,
        ("male", True): data.OLDER_MALE,
        ("male", False): data.YOUNGER_MALE,
    }[(gender, older)]
    return {
        "resourceType": "Patient",
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": generate(rng)}],
        "name": [
            {
                "use": "official",
                "family": fixed.get("family") or rng.choice(data.SURNAMES),
                "given": [fixed.get("given") or rng.choice(names)],
            }
        ],
        "gender": gender,
        "birthDate": born.isoformat(),
        "telecom": [{"system": "phone", "value": f"07700 900{rng.randrange(1000):03d}"}],
        "address": [
            {"line": ["1 Albert Road"], "postalCode": fixed.get("postcode") or postcode(rng)}
        ],
    }


def birth_date(rng: random.Random) -> date:
    return date(1925, 1, 1) + timedelta(days=rng.randrange(365 * 80))


def postcode(rng: random.Random, district: str | None = None) -> str:
    district = district or rng.choice(data.STREETS)[2]
    inward = f"{rng.randrange(1, 10)}{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"
    return f"{district} {inward}"


def nhs_of(person: Patient) -> str:
    value: str = person["identifier"][0]["value"]
    return value


# --- How registration gets it wrong ----------------------------------------------------------


def typo(rng: random.Random, word: str) -> str:
    """One keystroke wrong: a letter changed, dropped, doubled or swapped with the next; never
    the same letters again (ignoring case and spacing)."""
    word = word.strip()
    while True:
        i = rng.randrange(len(word))
        kind = rng.choice(("change", "drop", "double", "swap"))
        if kind == "change":
            changed = word[:i] + rng.choice(_LETTERS) + word[i + 1 :]
        elif kind == "drop" and len(word) > 2:
            changed = word[:i] + word[i + 1 :]
        elif kind == "double":
            changed = word[: i + 1] + word[i:]
        elif kind == "swap" and i + 1 < len(word):
            changed = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        else:
            continue
        if _letters(changed) != _letters(word):
            return changed[:1].upper() + changed[1:]


def _letters(word: str) -> str:
    return "".join(c for c in word.casefold() if c.isalpha())


def _name(person: Patient) -> dict[str, Any]:
    name: dict[str, Any] = person["name"][0]
    return name


def family_typo(rng: random.Random, person: Patient) -> None:
    _name(person)["family"] = typo(rng, _name(person)["family"])


def given_typo(rng: random.Random, person: Patient) -> None:
    _name(person)["given"] = [typo(rng, _name(person)["given"][0])]


def names_swapped(rng: random.Random, person: Patient) -> None:
    name = _name(person)
    name["family"], name["given"] = name["given"][0], [name["family"]]


def date_transposed(rng: random.Random, person: Patient) -> None:
    """Day and month the wrong way round, where that still makes a date (else one digit)."""
    year, month, day = person["birthDate"].split("-")
    if month != day and int(day) <= 12:
        person["birthDate"] = f"{year}-{day}-{month}"
    else:
        date_digit(rng, person)


def date_digit(rng: random.Random, person: Patient) -> None:
    """One digit of the day, month or year wrong, still a real date."""
    original = person["birthDate"]
    while True:
        digits = list(original.replace("-", ""))
        i = rng.randrange(8)
        digits[i] = rng.choice([d for d in "0123456789" if d != digits[i]])
        text = "".join(digits)
        candidate = f"{text[:4]}-{text[4:6]}-{text[6:]}"
        try:
            date.fromisoformat(candidate)
        except ValueError:
            continue
        person["birthDate"] = candidate
        return


def moved(rng: random.Random, person: Patient) -> None:
    """A new address elsewhere in the city (and so a new phone number too, sometimes)."""
    person["address"] = [{"postalCode": postcode(rng)}]
    if rng.random() < 0.5:
        person["telecom"] = [{"system": "phone", "value": f"023 9200 {rng.randrange(10000):04d}"}]


def moved_nearby(rng: random.Random, person: Patient) -> None:
    """A new postcode in the same district (the same outward code)."""
    if "address" not in person:
        return
    district = person["address"][0]["postalCode"].split()[0]
    person["address"] = [{"postalCode": postcode(rng, district)}]


def no_phone(rng: random.Random, person: Patient) -> None:
    person.pop("telecom", None)


def no_address(rng: random.Random, person: Patient) -> None:
    person.pop("address", None)


def no_gender(rng: random.Random, person: Patient) -> None:
    person.pop("gender", None)


def no_nhs_number(rng: random.Random, person: Patient) -> None:
    person.pop("identifier", None)


def shouted(rng: random.Random, person: Patient) -> None:
    """Upper case and spaces, as some systems send names: not a typo at all."""
    name = _name(person)
    name["family"] = f" {name['family'].upper()} "
    name["given"] = [g.upper() for g in name["given"]]


Mistake = Callable[[random.Random, Patient], None]
MISTAKES: tuple[Mistake, ...] = (
    family_typo,
    given_typo,
    names_swapped,
    date_transposed,
    date_digit,
    moved,
    moved_nearby,
    no_phone,
    no_address,
    no_gender,
    shouted,
)
# Mistakes after which the details are no longer exactly the person's.
TYPOS: tuple[Mistake, ...] = (family_typo, given_typo, names_swapped, date_transposed, date_digit)


def postcode_of(person: Patient) -> str | None:
    addresses = person.get("address") or [{}]
    value: str | None = addresses[0].get("postalCode")
    return value


def phone_of(person: Patient) -> str | None:
    telecoms = person.get("telecom") or [{}]
    value: str | None = telecoms[0].get("value")
    return value
