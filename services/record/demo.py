"""A deterministic demo population for Portsmouth, as one FHIR R4 transaction Bundle.

``demo_bundle()`` builds the organisations of the city's health and care partnership, their
staff (``demo_directory``) and a seeded population of residents (skewed old, as a
proactive-care caseload would be) with long-term conditions, vital signs, lab results and
encounters (``demo_clinical``), then what the services know about them: caseloads, referrals,
care plans, discharges, the dynamic support register, carers and consent choices
(``demo_care``), and last the directory of services referrals are routed to
(``demo_directory``). The same seed always gives the same bundle: ids come from the seeded
generator and dates count back from a fixed reference date.

Every entry is a POST with a urn:uuid fullUrl and a conditional create (``ifNoneExist``): on
the natural identifier where there is one (NHS number, ODS code, GMC/NMC number) and otherwise
on the demo identifier every resource carries, so loading the bundle twice adds nothing.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from services.record import demo_data as data
from services.record.demo_builder import (
    BundleBuilder,
    Directory,
    History,
    Person,
    Reference,
    Resource,
)
from services.record.demo_care import add_care_coordination
from services.record.demo_clinical import add_clinical_history
from services.record.demo_directory import (
    add_healthcare_services,
    add_services,
    postal_address,
)
from shared.nhs_number import NHS_NUMBER_SYSTEM
from shared.nhs_number import generate as generate_nhs_number


def demo_bundle(patients: int = 60, seed: int = 2026) -> Resource:
    """The demo population: ``patients`` residents and the services around them."""
    builder = BundleBuilder(random.Random(seed))
    directory = add_services(builder)
    histories = add_residents(builder, directory, patients, set())
    add_care_coordination(builder, directory, histories)
    add_healthcare_services(builder, directory)  # last: earlier identifiers stay as they were
    return builder.bundle()


def add_residents(
    builder: BundleBuilder, directory: Directory, count: int, nhs_numbers: set[str]
) -> list[History]:
    """``count`` residents and their clinical history, each with an NHS number not yet in
    ``nhs_numbers`` (which gains them)."""
    histories = []
    for _ in range(count):
        person = _add_patient(builder, directory, nhs_numbers)
        histories.append(add_clinical_history(builder, directory, person))
    return histories


# --- Residents ------------------------------------------------------------------------------


def _add_patient(builder: BundleBuilder, directory: Directory, nhs_numbers: set[str]) -> Person:
    rng = builder.rng
    age = _draw_age(rng)
    sex = rng.choice(("female", "male"))
    birth_date = data.REFERENCE_DATE - timedelta(days=age * 365 + age // 4 + rng.randrange(365))
    street, neighbourhood, district = rng.choice(data.STREETS)
    practice_key = _choose_practice(rng, neighbourhood)
    nhs_number = _unique_nhs_number(rng, nhs_numbers)
    name = _person_name(rng, sex, birth_date)
    resource: Resource = {
        "resourceType": "Patient",
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": nhs_number}],
        "active": True,
        "name": [name],
        "telecom": [{"system": "phone", "value": _drama_mobile(rng), "use": "mobile"}],
        "gender": sex,
        "birthDate": birth_date.isoformat(),
        "address": [_home_address(rng, street, neighbourhood, district)],
        "generalPractitioner": [directory.orgs[practice_key].ref()],
    }
    urn = builder.add(resource, f"identifier={NHS_NUMBER_SYSTEM}|{nhs_number}")
    display = f"{name['given'][0]} {name['family']}"
    return Person(
        Reference(urn, display), _age_on(birth_date), sex, practice_key, street, neighbourhood
    )


def _draw_age(rng: random.Random) -> int:
    """Three in four residents aged 65-97 (most in their late 70s and 80s), the rest 18-64."""
    if rng.random() < 0.75:
        return round(rng.triangular(65, 97, 81))
    return round(rng.triangular(18, 64, 52))


def _age_on(birth_date: date, today: date = data.REFERENCE_DATE) -> int:
    had_birthday = (today.month, today.day) >= (birth_date.month, birth_date.day)
    return today.year - birth_date.year - (0 if had_birthday else 1)


def _choose_practice(rng: random.Random, neighbourhood: str) -> str:
    """Most people are registered with their local practice; some stayed with an old one."""
    local = data.NEIGHBOURHOOD_PRACTICE.get(neighbourhood)
    if local is not None and rng.random() < 0.85:
        return local
    return rng.choice(data.GP_PRACTICES).key


def _unique_nhs_number(rng: random.Random, taken: set[str]) -> str:
    while True:
        number = generate_nhs_number(rng)
        if number not in taken:
            taken.add(number)
            return number


def _person_name(rng: random.Random, sex: str, birth_date: date) -> Resource:
    older = birth_date.year < 1962
    if sex == "female":
        given = rng.choice(data.OLDER_FEMALE if older else data.YOUNGER_FEMALE)
        prefix = rng.choice(("Mrs", "Mrs", "Ms", "Miss"))
    else:
        given = rng.choice(data.OLDER_MALE if older else data.YOUNGER_MALE)
        prefix = "Mr"
    return {
        "use": "official",
        "family": rng.choice(data.SURNAMES),
        "given": [given],
        "prefix": [prefix],
    }


def _drama_mobile(rng: random.Random) -> str:
    """A mobile number from Ofcom's 07700 900000-900999 range reserved for drama and tests."""
    return f"07700 900{rng.randrange(1000):03d}"


def _home_address(rng: random.Random, street: str, neighbourhood: str, district: str) -> Resource:
    inward_letters = "ABDEFGHJLNPQRSTUWXYZ"  # the letters a UK inward code may use
    postcode = (
        f"{district} {rng.randrange(1, 10)}{rng.choice(inward_letters)}{rng.choice(inward_letters)}"
    )
    address = postal_address([f"{rng.randrange(1, 240)} {street}", neighbourhood], postcode)
    address["use"] = "home"
    return address
