"""The transaction-bundle builder and the small types the demo population modules share."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from services.record import demo_data as data

Resource = dict[str, Any]

# Resource types whose identifier is a single Identifier, not a list.
_ONE_IDENTIFIER = frozenset({"QuestionnaireResponse"})


@dataclass
class BundleBuilder:
    """Collects transaction entries; every id and choice comes from the one seeded ``rng``."""

    rng: random.Random
    entries: list[Resource] = field(default_factory=list)

    def add(self, resource: Resource, if_none_exist: str | None = None) -> str:
        """Add ``resource`` as a conditional POST; returns its urn:uuid for references."""
        urn = f"urn:uuid:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}"
        demo_id = {"system": data.DEMO_SYSTEM, "value": urn.removeprefix("urn:uuid:")}
        if resource["resourceType"] in _ONE_IDENTIFIER:
            resource["identifier"] = demo_id
        else:
            resource["identifier"] = [*resource.get("identifier", []), demo_id]
        condition = if_none_exist or f"identifier={data.DEMO_SYSTEM}|{demo_id['value']}"
        request = {"method": "POST", "url": resource["resourceType"], "ifNoneExist": condition}
        self.entries.append({"fullUrl": urn, "resource": resource, "request": request})
        return urn

    def bundle(self) -> Resource:
        return {"resourceType": "Bundle", "type": "transaction", "entry": self.entries}


@dataclass(frozen=True)
class Reference:
    urn: str
    display: str

    def ref(self) -> Resource:
        return {"reference": self.urn, "display": self.display}


@dataclass
class Directory:
    """The references the clinical history and the services need: organisations, sites,
    staff and teams."""

    orgs: dict[str, Reference] = field(default_factory=dict)
    locations: dict[str, Reference] = field(default_factory=dict)
    staff: dict[tuple[str, str], list[Reference]] = field(default_factory=dict)
    teams: dict[str, Reference] = field(default_factory=dict)  # CareTeams by key

    def people(self, org_key: str, kind: str) -> list[Reference]:
        return self.staff.get((org_key, kind), [])


@dataclass(frozen=True)
class Person:
    """What the clinical history generator needs to know about a demo patient."""

    patient: Reference
    age: int
    sex: str
    practice_key: str
    street: str
    neighbourhood: str


@dataclass(frozen=True)
class History:
    """What a demo patient's clinical history holds that the services' own facts build on."""

    person: Person
    frailty: int  # the crude score the history used: conditions, weighted, plus age
    conditions: tuple[Reference, ...]  # the conditions, those that add most to frailty first
    admissions: int  # emergency admissions to Queen Alexandra Hospital


def concept(system: str, code: str, display: str) -> Resource:
    """A CodeableConcept holding one coding."""
    return {"coding": [{"system": system, "code": code, "display": display}]}


def moment(
    rng: random.Random,
    min_days_back: int,
    max_days_back: int,
    *,
    first_hour: int = 8,
    last_hour: int = 17,
) -> datetime:
    """A time on a day between ``min_days_back`` and ``max_days_back`` before the reference."""
    day = data.REFERENCE_DATE - timedelta(days=rng.randint(min_days_back, max_days_back))
    hour, minute = rng.randint(first_hour, last_hour), rng.choice((0, 10, 20, 30, 40, 50))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
