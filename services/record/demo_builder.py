"""The transaction-bundle builder and the small types the demo population modules share."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from services.record import demo_data as data

Resource = dict[str, Any]


@dataclass
class BundleBuilder:
    """Collects transaction entries; every id and choice comes from the one seeded ``rng``."""

    rng: random.Random
    entries: list[Resource] = field(default_factory=list)

    def add(self, resource: Resource, if_none_exist: str | None = None) -> str:
        """Add ``resource`` as a conditional POST; returns its urn:uuid for references."""
        urn = f"urn:uuid:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}"
        demo_id = {"system": data.DEMO_SYSTEM, "value": urn.removeprefix("urn:uuid:")}
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
    """The references the clinical history needs: organisations, sites and staff."""

    orgs: dict[str, Reference] = field(default_factory=dict)
    locations: dict[str, Reference] = field(default_factory=dict)
    staff: dict[tuple[str, str], list[Reference]] = field(default_factory=dict)

    def people(self, org_key: str, kind: str) -> list[Reference]:
        return self.staff.get((org_key, kind), [])


@dataclass(frozen=True)
class Person:
    """What the clinical history generator needs to know about a demo patient."""

    patient: Reference
    age: int
    sex: str
    practice_key: str
