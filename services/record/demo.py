"""A deterministic demo population for Portsmouth, as one FHIR R4 transaction Bundle.

``demo_bundle()`` builds the organisations of the city's health and care partnership, their
staff and a seeded population of residents (skewed old, as a proactive-care caseload would be)
with long-term conditions, vital signs, lab results and encounters. The same seed always gives
the same bundle: ids come from the seeded generator and dates count back from a fixed
reference date.

Every entry is a POST with a urn:uuid fullUrl and a conditional create (``ifNoneExist``): on
the natural identifier where there is one (NHS number, ODS code, GMC/NMC number) and otherwise
on the demo identifier every resource carries, so loading the bundle twice adds nothing.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from services.record import demo_data as data
from services.record.demo_builder import BundleBuilder, Directory, Person, Reference, Resource
from services.record.demo_clinical import add_clinical_history
from shared.nhs_number import NHS_NUMBER_SYSTEM
from shared.nhs_number import generate as generate_nhs_number


def demo_bundle(patients: int = 60, seed: int = 2026) -> Resource:
    """The demo population: ``patients`` residents and the services around them."""
    builder = BundleBuilder(random.Random(seed))
    directory = _add_services(builder)
    nhs_numbers: set[str] = set()
    for _ in range(patients):
        person = _add_patient(builder, directory, nhs_numbers)
        add_clinical_history(builder, directory, person)
    return builder.bundle()


# --- Organisations, sites and staff ---------------------------------------------------------


def _add_services(builder: BundleBuilder) -> Directory:
    directory = Directory()
    for spec in (data.ACUTE_TRUST, data.COMMUNITY_TRUST, data.COUNCIL, *data.GP_PRACTICES):
        directory.orgs[spec.key] = Reference(_add_organization(builder, spec), spec.name)
    for site in data.LOCATIONS:
        directory.locations[site.key] = Reference(
            _add_location(builder, site, directory.orgs[site.org_key]), site.name
        )
    for practice in data.GP_PRACTICES:
        _add_staff(builder, directory, practice.key, data.GP, 2)
    _add_staff(builder, directory, "community", data.COMMUNITY_NURSE, 4, "st-marys")
    _add_staff(builder, directory, "community", data.CASE_MANAGER, 3, "st-marys")
    _add_staff(builder, directory, "acute", data.GERIATRICIAN, 2, "qa")
    return directory


def _add_organization(builder: BundleBuilder, spec: data.OrgSpec) -> str:
    resource: Resource = {
        "resourceType": "Organization",
        "active": True,
        "type": [{"coding": [{"system": data.ORG_TYPE, "code": spec.org_type}]}],
        "name": spec.name,
        "address": [_address([spec.line, spec.district], spec.postcode)],
    }
    if spec.ods_code is None:
        return builder.add(resource)
    resource["identifier"] = [{"system": data.ODS_SYSTEM, "value": spec.ods_code}]
    return builder.add(resource, f"identifier={data.ODS_SYSTEM}|{spec.ods_code}")


def _add_location(builder: BundleBuilder, site: data.LocationSpec, org: Reference) -> str:
    resource: Resource = {
        "resourceType": "Location",
        "status": "active",
        "name": site.name,
        "mode": "instance",
        "physicalType": {"coding": [{"system": data.LOCATION_PHYSICAL_TYPE, "code": "bu"}]},
        "address": _address([site.line], site.postcode),
        "managingOrganization": org.ref(),
    }
    if site.hospital:
        resource["type"] = [
            {"coding": [{"system": data.ROLE_CODE, "code": "HOSP", "display": "Hospital"}]}
        ]
    return builder.add(resource)


def _add_staff(
    builder: BundleBuilder,
    directory: Directory,
    org_key: str,
    spec: data.StaffSpec,
    count: int,
    location_key: str | None = None,
) -> None:
    for _ in range(count):
        practitioner = _add_practitioner(builder, spec)
        role: Resource = {
            "resourceType": "PractitionerRole",
            "active": True,
            "practitioner": practitioner.ref(),
            "organization": directory.orgs[org_key].ref(),
            "code": [
                {
                    "coding": [{"system": data.PRACTITIONER_ROLE, "code": spec.role_code}],
                    "text": spec.role_text,
                }
            ],
        }
        if location_key is not None:
            role["location"] = [directory.locations[location_key].ref()]
        builder.add(role)
        directory.staff.setdefault((org_key, spec.kind), []).append(practitioner)


def _add_practitioner(builder: BundleBuilder, spec: data.StaffSpec) -> Reference:
    rng = builder.rng
    sex = rng.choice(("female", "male"))
    given = rng.choice(data.YOUNGER_FEMALE if sex == "female" else data.YOUNGER_MALE)
    family = rng.choice(data.SURNAMES)
    prefix = "Dr" if spec.role_code == "doctor" else ("Mr" if sex == "male" else "Ms")
    number = _registration_number(rng, spec.registration_system)
    resource: Resource = {
        "resourceType": "Practitioner",
        "active": True,
        "identifier": [{"system": spec.registration_system, "value": number}],
        "name": [{"use": "official", "family": family, "given": [given], "prefix": [prefix]}],
        "gender": sex,
    }
    condition = f"identifier={spec.registration_system}|{number}"
    return Reference(builder.add(resource, condition), f"{prefix} {given} {family}")


def _registration_number(rng: random.Random, system: str) -> str:
    """A fictional GMC number (7 digits) or NMC PIN (e.g. 09A1234E)."""
    if system == data.GMC_SYSTEM:
        return str(rng.randrange(1_000_000, 10_000_000))
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return (
        f"{rng.randrange(100):02d}{rng.choice(letters)}"
        f"{rng.randrange(10_000):04d}{rng.choice(letters)}"
    )


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
    return Person(Reference(urn, display), _age_on(birth_date), sex, practice_key)


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
    address = _address([f"{rng.randrange(1, 240)} {street}", neighbourhood], postcode)
    address["use"] = "home"
    return address


def _address(lines: list[str], postcode: str) -> Resource:
    return {"line": lines, "city": "Portsmouth", "postalCode": postcode, "country": "GB"}
