"""The demo population's directory: organisations, sites, staff and teams (see ``demo.py``).

The partners of Health and Care Portsmouth with their ODS codes, the hospital and community
sites, and practitioners with fictional GMC numbers or NMC PINs, each with a PractitionerRole
at their organisation. Everything is drawn from the builder's one seeded generator.

It also holds the directory of services the single point of access routes referrals to: a
HealthcareService for every triage route, with whom it takes (age, postcode districts), when it
is open, and the single point of access's own clinical triage as the fallback for them all
(``add_healthcare_services``; read by ``services.triage.directory``).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from services.record import demo_care_data as care
from services.record import demo_data as data
from services.record.demo_builder import BundleBuilder, Directory, Reference, Resource
from shared.fhir import terms


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
            _case_manager(directory.people("community", "case-manager")[index]),
            *(_as_member(nurse, data.COMMUNITY_NURSE) for nurse in nurses[index::3]),
            *(
                _as_member(gp, data.GP)
                for key in team.practices
                for gp in directory.people(key, "gp")
            ),
        ]
        orgs = [directory.orgs["community"], directory.orgs["council"]]
        served = [directory.orgs[key] for key in team.practices]
        directory.teams[team.key] = _add_team(builder, team.name, orgs, members, served)
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


def _case_manager(practitioner: Reference) -> Resource:
    """A neighbourhood team's case manager: the caseload role and a capacity in weighted
    points (services/caseload allocates by them)."""
    member = _as_member(practitioner, data.CASE_MANAGER)
    member["role"].append({"coding": [terms.coding(terms.CASELOAD_ROLE, terms.CASE_MANAGER)]})
    member["extension"] = [{"url": terms.CASELOAD_CAPACITY_EXTENSION, "valueInteger": 40}]
    return member


def _add_team(
    builder: BundleBuilder,
    name: str,
    orgs: list[Reference],
    members: list[Resource],
    serves: Sequence[Reference] = (),
) -> Reference:
    team = care_team(name, orgs, members)
    if serves:
        team["extension"] = [
            {"url": terms.SERVES_PRACTICE_EXTENSION, "valueReference": practice.ref()}
            for practice in serves
        ]
    return Reference(builder.add(team), name)


def team_member(practitioner: Reference, role_text: str, role_code: str = "nurse") -> Resource:
    """A CareTeam participant: who, and their role in the team."""
    role = {"coding": [{"system": data.PRACTITIONER_ROLE, "code": role_code}], "text": role_text}
    return {"role": [role], "member": practitioner.ref()}


def care_team(name: str, orgs: list[Reference], members: list[Resource]) -> Resource:
    """An active CareTeam that coordinates care over time."""
    return {
        "resourceType": "CareTeam",
        "status": "active",
        "category": [{"coding": [terms.CARE_COORDINATION_TEAM]}],
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


# --- The directory of services: where the single point of access routes referrals ---------

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
_EVERY_DAY = (*_WEEKDAYS, "sat", "sun")
VOLUNTARY_NETWORK = data.OrgSpec(
    "voluntary", "Portsmouth Community Wellbeing Network", None, "cg",
    "The Hub, 120 Lake Road", "Landport", "PO1 4HA",
)  # fmt: skip


@dataclass(frozen=True)
class ServiceSpec:
    """A HealthcareService of the directory: the triage route it takes, who provides it, when
    it is open and whom it takes (no districts: the whole city)."""

    name: str
    route: str  # a TRIAGE_ROUTE code
    org_key: str
    location_key: str | None
    hours: tuple[Resource, ...]
    comment: str
    districts: tuple[str, ...] = ()
    min_age: int | None = None
    fallback_for: tuple[str, ...] = ()  # TRIAGE_ROUTE codes it catches when nobody else can
    closures: tuple[Resource, ...] = ()


def add_healthcare_services(builder: BundleBuilder, directory: Directory) -> None:
    """The services triage routes to, one or more for every route but emergency (advice to
    call 999 or go to the emergency department is given, nobody is sent the referral; the
    single point of access's clinical triage catches it, as it catches every route when the
    route's own services are shut or the person is not eligible). Added last, so every other
    demo resource keeps its identifier and a reload into an older demo adds only these."""
    directory.orgs["voluntary"] = Reference(
        add_organization(builder, VOLUNTARY_NETWORK), VOLUNTARY_NETWORK.name
    )
    for spec in service_specs():
        builder.add(_healthcare_service(spec, directory))


def service_specs() -> list[ServiceSpec]:
    weekdays = (_hours(_WEEKDAYS, "09:00", "17:00"),)
    districts = neighbourhood_districts()
    christmas = data.REFERENCE_DATE.replace(month=12, day=25)
    return [
        ServiceSpec("Urgent community response (2-hour)", "urgent-community-response",
                    "community", "st-marys", (_hours(_EVERY_DAY, "08:00", "20:00"),),
                    "Seen at home within 2 hours: falls without serious injury, decompensated "
                    "frailty, reduced function, palliative crisis, urgent equipment, confusion "
                    "or delirium, urgent catheter or diabetes care.", min_age=18),
        ServiceSpec("Hospital discharge hub", "discharge-hub", "acute", "qa",
                    (_hours(_WEEKDAYS, "08:00", "20:00"), _hours(("sat", "sun"), "09:00", "17:00")),
                    "Discharge to assess from Queen Alexandra Hospital: pathways 0 to 3.",
                    min_age=18),
        *(
            ServiceSpec(f"{team.name} (proactive case management)", "proactive-case-management",
                        "community", "st-marys", weekdays,
                        "A named case manager, a care and support plan and planned contact for "
                        "frail people and people with several long-term conditions.",
                        districts=districts[team.key], min_age=18)
            for team in care.NEIGHBOURHOOD_TEAMS
        ),
        ServiceSpec("Dynamic support register team", "dynamic-support-register", "community",
                    "st-marys", weekdays,
                    "People with a learning disability or autism at risk of admission to a "
                    "mental health hospital: keyworkers and care and treatment reviews."),
        ServiceSpec("Wellbeing and voluntary services signposting", "wellbeing", "voluntary",
                    None, weekdays,
                    "Information, advice and local groups: befriending, lunch clubs, help at "
                    "home, benefits advice.", min_age=18,
                    closures=({"description": "Closed for Christmas Day and Boxing Day",
                               "during": {"start": christmas.isoformat(),
                                          "end": (christmas + timedelta(days=1)).isoformat()}},)),
        ServiceSpec("Single point of access clinical triage", "clinical-review", "community",
                    "st-marys", ({"daysOfWeek": list(_EVERY_DAY), "allDay": True},),
                    "A clinician reviews every referral no other service can take now.",
                    fallback_for=tuple(terms.TRIAGE_ROUTES)),
    ]  # fmt: skip


def neighbourhood_districts() -> dict[str, tuple[str, ...]]:
    """The postcode districts each neighbourhood team covers: a district goes to the team
    whose practices serve most of its streets, so each district the residents live in has
    exactly one team."""
    teams = care.NEIGHBOURHOOD_TEAMS
    votes: Counter[tuple[str, str]] = Counter()
    for _street, neighbourhood, district in data.STREETS:
        practice = data.NEIGHBOURHOOD_PRACTICE[neighbourhood]
        votes[district, next(t.key for t in teams if practice in t.practices)] += 1
    covered: dict[str, list[str]] = {team.key: [] for team in teams}
    for district in sorted({district for _, _, district in data.STREETS}):
        counts = [votes[district, team.key] for team in teams]
        covered[teams[counts.index(max(counts))].key].append(district)
    return {key: tuple(districts) for key, districts in covered.items()}


def _hours(days: tuple[str, ...], start: str, end: str) -> Resource:
    return {"daysOfWeek": list(days), "availableStartTime": f"{start}:00",
            "availableEndTime": f"{end}:00"}  # fmt: skip


def _healthcare_service(spec: ServiceSpec, directory: Directory) -> Resource:
    route = terms.coding(terms.TRIAGE_ROUTE, spec.route, terms.TRIAGE_ROUTES[spec.route])
    resource: Resource = {
        "resourceType": "HealthcareService",
        "extension": _eligibility(spec),
        "active": True,
        "providedBy": directory.orgs[spec.org_key].ref(),
        "type": [{"coding": [route]}],
        "name": spec.name,
        "comment": spec.comment,
        "availableTime": list(spec.hours),
    }
    if spec.location_key is not None:
        resource["location"] = [directory.locations[spec.location_key].ref()]
    if spec.closures:
        resource["notAvailable"] = list(spec.closures)
    if not resource["extension"]:
        del resource["extension"]
    return resource


def _eligibility(spec: ServiceSpec) -> list[Resource]:
    """Whom the service takes and the routes it is the fallback for, as extensions."""
    extensions: list[Resource] = []
    if spec.min_age is not None:
        low = {"value": spec.min_age, "unit": "years", "system": data.UCUM, "code": "a"}
        extensions.append({"url": terms.ELIGIBLE_AGE_EXTENSION, "valueRange": {"low": low}})
    extensions += [
        {"url": terms.ELIGIBLE_POSTCODE_EXTENSION, "valueString": district}
        for district in spec.districts
    ]
    extensions += [
        {
            "url": terms.FALLBACK_EXTENSION,
            "valueCoding": terms.coding(terms.TRIAGE_ROUTE, route, terms.TRIAGE_ROUTES[route]),
        }
        for route in spec.fallback_for
    ]
    return extensions
