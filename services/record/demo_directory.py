"""The demo population's directory: organisations, sites, staff and teams (see ``demo.py``).

The partners of Health and Care Portsmouth with their ODS codes, the hospital and community
sites, and practitioners with fictional GMC numbers or NMC PINs, each with a PractitionerRole
at their organisation. Everything is drawn from the builder's one seeded generator.
"""

from __future__ import annotations

import random

from services.record import demo_care_data as care
from services.record import demo_data as data
from services.record.demo_builder import BundleBuilder, Directory, Reference, Resource, concept


def add_services(builder: BundleBuilder) -> Directory:
    """The partner organisations, their sites and the staff the clinical history needs."""
    directory = Directory()
    for spec in (data.ACUTE_TRUST, data.COMMUNITY_TRUST, data.COUNCIL, *data.GP_PRACTICES):
        directory.orgs[spec.key] = Reference(add_organization(builder, spec), spec.name)
    for site in data.LOCATIONS:
        directory.locations[site.key] = Reference(
            _add_location(builder, site, directory.orgs[site.org_key]), site.name
        )
    for practice in data.GP_PRACTICES:
        add_staff(builder, directory, practice.key, data.GP, 2)
    add_staff(builder, directory, "community", data.COMMUNITY_NURSE, 4, "st-marys")
    add_staff(builder, directory, "community", data.CASE_MANAGER, 3, "st-marys")
    add_staff(builder, directory, "acute", data.GERIATRICIAN, 2, "qa")
    return directory


def add_organization(builder: BundleBuilder, spec: data.OrgSpec) -> str:
    resource: Resource = {
        "resourceType": "Organization",
        "active": True,
        "type": [{"coding": [{"system": data.ORG_TYPE, "code": spec.org_type}]}],
        "name": spec.name,
        "address": [postal_address([spec.line, spec.district], spec.postcode)],
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
        "address": postal_address([site.line], site.postcode),
        "managingOrganization": org.ref(),
    }
    if site.hospital:
        resource["type"] = [
            {"coding": [{"system": data.ROLE_CODE, "code": "HOSP", "display": "Hospital"}]}
        ]
    return builder.add(resource)


def add_staff(
    builder: BundleBuilder,
    directory: Directory,
    org_key: str,
    spec: data.StaffSpec,
    count: int,
    location_key: str | None = None,
) -> None:
    """``count`` practitioners of one kind, each with a role at the organisation."""
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


def postal_address(lines: list[str], postcode: str) -> Resource:
    return {"line": lines, "city": "Portsmouth", "postalCode": postcode, "country": "GB"}


# --- The services' own staff and teams ------------------------------------------------------


def add_care_teams(builder: BundleBuilder, directory: Directory) -> None:
    """The staff and teams the care-coordination services work through: discharge
    coordinators, learning disability keyworkers, the integrated neighbourhood teams, urgent
    community response and the hospital discharge hub. Added after the residents so the
    residents stay the same whatever is added here."""
    ambulance = data.OrgSpec(
        "ambulance", care.AMBULANCE_TRUST_NAME, care.AMBULANCE_TRUST_ODS, "prov",
        "Northern Road", "Cosham", "PO6 3EP",
    )  # fmt: skip
    directory.orgs["ambulance"] = Reference(add_organization(builder, ambulance), ambulance.name)
    add_staff(builder, directory, "acute", care.DISCHARGE_COORDINATOR, 2, "qa")
    add_staff(builder, directory, "community", care.LD_KEYWORKER, 2, "st-marys")
    add_staff(builder, directory, "community", care.LD_PSYCHIATRIST, 1, "st-marys")
    nurses = directory.people("community", "nurse")
    for index, team in enumerate(care.NEIGHBOURHOOD_TEAMS):
        members = [
            _as_member(directory.people("community", "case-manager")[index], data.CASE_MANAGER),
            *(_as_member(nurse, data.COMMUNITY_NURSE) for nurse in nurses[index::3]),
            *(
                _as_member(gp, data.GP)
                for key in team.practices
                for gp in directory.people(key, "gp")
            ),
        ]
        orgs = [directory.orgs["community"], directory.orgs["council"]]
        directory.teams[team.key] = _add_team(builder, team.name, orgs, members)
    ucr = [_as_member(nurse, data.COMMUNITY_NURSE) for nurse in nurses[2:]]
    directory.teams["ucr"] = _add_team(
        builder, "Urgent community response team", [directory.orgs["community"]], ucr
    )
    hub = [
        *(
            _as_member(p, care.DISCHARGE_COORDINATOR)
            for p in directory.people("acute", "discharge-coordinator")
        ),
        *(_as_member(p, data.GERIATRICIAN) for p in directory.people("acute", "geriatrician")),
    ]
    directory.teams["discharge-hub"] = _add_team(
        builder, "Hospital discharge hub", [directory.orgs["acute"]], hub
    )


def _as_member(practitioner: Reference, spec: data.StaffSpec) -> Resource:
    return team_member(practitioner, spec.role_text, spec.role_code)


def _add_team(
    builder: BundleBuilder, name: str, orgs: list[Reference], members: list[Resource]
) -> Reference:
    return Reference(builder.add(care_team(name, orgs, members)), name)


def team_member(practitioner: Reference, role_text: str, role_code: str = "nurse") -> Resource:
    """A CareTeam participant: who, and their role in the team."""
    role = {"coding": [{"system": data.PRACTITIONER_ROLE, "code": role_code}], "text": role_text}
    return {"role": [role], "member": practitioner.ref()}


def care_team(name: str, orgs: list[Reference], members: list[Resource]) -> Resource:
    """An active CareTeam that coordinates care over time."""
    code, display = care.LONGITUDINAL_CARE_TEAM
    return {
        "resourceType": "CareTeam",
        "status": "active",
        "category": [concept(care.CARE_TEAM_CATEGORY, code, display)],
        "name": name,
        "participant": members,
        "managingOrganization": [org.ref() for org in orgs],
    }


def neighbourhood_team(directory: Directory, practice_key: str) -> tuple[Reference, Reference]:
    """The integrated neighbourhood team that serves a practice's people, and its case
    manager."""
    index = next(
        i for i, team in enumerate(care.NEIGHBOURHOOD_TEAMS) if practice_key in team.practices
    )
    team = directory.teams[care.NEIGHBOURHOOD_TEAMS[index].key]
    return team, directory.people("community", "case-manager")[index]
