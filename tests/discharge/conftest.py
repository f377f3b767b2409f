"""Discharge to assess as real processes: the record, the discharge service and a gateway in
front of both; and a person in hospital made for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.fhir import terms
from tests.caseload.conftest import create, make_team
from tests.conftest import gateway_client, own_record
from tests.support.fhir import patient
from tests.support.services import RunningService, running_behind_a_gateway

Resource = dict[str, Any]


@dataclass
class DischargeHub:
    discharge: RunningService
    gateway: RunningService

    def board(self) -> str:
        return f"{self.gateway.base.removesuffix('/fhir')}/discharge/board"

    def clock(self) -> str:
        return f"{self.discharge.base.removesuffix('/fhir')}/discharge/clock"


@pytest.fixture(scope="session")
def hub(
    request: pytest.FixtureRequest,
    database_url: str,
    auth_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DischargeHub]:
    """The hub's own tables beside its record's on PostgreSQL, in a file of their own on
    SQLite (as the embedded default keeps them)."""
    folder = tmp_path_factory.mktemp("discharge")
    with own_record(request, database_url, auth_dir, folder, "discharge") as record:
        own = record.env["ONESTORY_DATABASE_URL"]
        if own.startswith("sqlite"):
            own = f"sqlite+aiosqlite:///{folder / 'discharge.db'}"
        with running_behind_a_gateway(
            "discharge", record, str(auth_dir), folder, discharge_database_url=own
        ) as running:
            yield DischargeHub(*running)


@pytest.fixture
async def desk(hub: DischargeHub, system_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """The discharge hub's board app calling the gateway (system/*.cruds)."""
    async with gateway_client(hub.gateway, system_token) as client:
        yield client


@dataclass
class Stay:
    patient: str  # Patient/...
    practice: str  # Organization/...
    team: str  # CareTeam/... serving the practice
    spell: Resource  # the inpatient Encounter
    ward: str


async def in_hospital(client: httpx.AsyncClient, days: int = 10) -> Stay:
    """A person registered with a practice that a neighbourhood team serves, admitted ``days``
    ago to a ward of their own."""
    team = await make_team(client)
    person = await create(client, patient(generalPractitioner=[{"reference": team.practice}]))
    ward = await create(client, {"resourceType": "Location", "name": f"Ward {person['id'][:6]}"})
    admitted = datetime.now(UTC) - timedelta(days=days)
    spell = await create(
        client,
        {
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {"system": terms.ACT_CODE, "code": "IMP"},
            "subject": {"reference": f"Patient/{person['id']}"},
            "period": {"start": admitted.isoformat(timespec="seconds")},
            "location": [
                {"location": {"reference": f"Location/{ward['id']}", "display": ward["name"]}}
            ],
        },
    )
    return Stay(f"Patient/{person['id']}", team.practice, team.reference, spell, ward["name"])


def parameters(*given: tuple[str, str, Any]) -> Resource:
    """Parameters from (name, value type, value): ("state", "Code", "discharged")."""
    found = []
    for name, kind, value in given:
        found.append(
            {"name": name, f"value{kind}": {"reference": value} if kind == "Reference" else value}
        )
    return {"resourceType": "Parameters", "parameter": found}


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat(timespec="seconds")
