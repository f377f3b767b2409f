"""Proactive case management as real processes: the record, the caseload service and a gateway
in front of both; and neighbourhood teams made for each test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.fhir import terms
from tests.conftest import gateway_client, own_record
from tests.support.fhir import patient, unique
from tests.support.services import RunningService, running_behind_a_gateway

Resource = dict[str, Any]


@dataclass
class Neighbourhood:
    caseload: RunningService
    gateway: RunningService

    def view(self, path: str) -> str:
        """The URL of one of the caseload service's views at the gateway."""
        return f"{self.gateway.base.removesuffix('/fhir')}/caseload/{path}"

    def clock(self) -> str:
        return f"{self.caseload.base.removesuffix('/fhir')}/caseload/clock"


@pytest.fixture(scope="session")
def neighbourhood(
    request: pytest.FixtureRequest,
    database_url: str,
    auth_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Neighbourhood]:
    folder = tmp_path_factory.mktemp("caseload")
    with (
        own_record(request, database_url, auth_dir, folder, "caseload") as record,
        running_behind_a_gateway("caseload", record, str(auth_dir), folder) as running,
    ):
        yield Neighbourhood(*running)


@pytest.fixture
async def door(neighbourhood: Neighbourhood, system_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """A neighbourhood team's app calling the gateway (system/*.cruds)."""
    async with gateway_client(neighbourhood.gateway, system_token) as client:
        yield client


async def create(client: httpx.AsyncClient, resource: Resource) -> Resource:
    answer = await client.post(resource["resourceType"], json=resource)
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json())


@dataclass
class Team:
    id: str
    practice: str  # Organization/...
    managers: list[str]  # Practitioner/..., in the order given

    @property
    def reference(self) -> str:
        return f"CareTeam/{self.id}"


async def make_team(
    client: httpx.AsyncClient, capacities: tuple[int, ...] = (30, 30), away: int | None = None
) -> Team:
    """A neighbourhood team serving a practice of its own, with a case manager per capacity
    (``away``: the index of one who is away now)."""
    practice = await create(client, {"resourceType": "Organization", "name": unique("Practice ")})
    managers = [
        await create(
            client,
            {
                "resourceType": "Practitioner",
                "name": [{"family": unique("Manager"), "given": ["Case"]}],
            },
        )
        for _ in capacities
    ]
    participants = []
    for index, (manager, capacity) in enumerate(zip(managers, capacities, strict=True)):
        extensions: list[Resource] = [
            {"url": terms.CASELOAD_CAPACITY_EXTENSION, "valueInteger": capacity}
        ]
        if index == away:
            extensions.append(
                {"url": terms.AWAY_EXTENSION, "valuePeriod": {"start": "2026-01-01T00:00:00Z"}}
            )
        participants.append(
            {
                "extension": extensions,
                "role": [{"coding": [terms.coding(terms.CASELOAD_ROLE, terms.CASE_MANAGER)]}],
                "member": {"reference": f"Practitioner/{manager['id']}"},
            }
        )
    team = await create(
        client,
        {
            "resourceType": "CareTeam",
            "status": "active",
            "category": [{"coding": [terms.CARE_COORDINATION_TEAM]}],
            "name": unique("Neighbourhood team "),
            "extension": [
                {
                    "url": terms.SERVES_PRACTICE_EXTENSION,
                    "valueReference": {"reference": f"Organization/{practice['id']}"},
                }
            ],
            "participant": participants,
        },
    )
    return Team(
        team["id"], f"Organization/{practice['id']}", [f"Practitioner/{m['id']}" for m in managers]
    )


async def older_person(
    client: httpx.AsyncClient, team: Team, birth_date: str = "1940-03-01"
) -> str:
    """A person of 86 registered with the team's practice; their id."""
    person = patient(birth_date=birth_date, generalPractitioner=[{"reference": team.practice}])
    return str((await create(client, person))["id"])


def frailty_scale(patient_id: str, score: int) -> Resource:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": terms.SNOMED, "code": terms.CLINICAL_FRAILTY_SCALE}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": "2026-11-30T10:00:00Z",
        "valueInteger": score,
    }


async def eventually(check: Any, patience: float = 15.0) -> Any:
    """The first truthy answer of ``check()`` (a coroutine function) within ``patience``
    seconds: what the service does on a notification comes shortly after the write."""
    for _ in range(int(patience * 10)):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"nothing came of {check.__name__} in {patience}s")
