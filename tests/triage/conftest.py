"""The single point of access as real processes: the record, the triage service, and a
gateway in front of both; and a small directory of services that are always open."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shared.fhir import terms
from tests.conftest import gateway_client, own_record
from tests.support.services import RunningService, running_behind_a_gateway


@dataclass
class Spa:
    triage: RunningService
    gateway: RunningService

    def view(self, name: str) -> str:
        """The URL of one of triage's views (queue, breaches, figures) at the gateway."""
        return f"{self.gateway.base.removesuffix('/fhir')}/triage/{name}"


@pytest.fixture(scope="session")
def spa(
    request: pytest.FixtureRequest,
    database_url: str,
    auth_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Spa]:
    folder = tmp_path_factory.mktemp("spa")
    with (
        own_record(request, database_url, auth_dir, folder, "spa") as record,
        running_behind_a_gateway("triage", record, str(auth_dir), folder) as running,
    ):
        yield Spa(*running)


@pytest.fixture
async def spa_door(spa: Spa, system_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """A partner's system calling the single point of access's gateway (system/*.cruds)."""
    async with gateway_client(spa.gateway, system_token) as client:
        yield client


ALWAYS_OPEN = [
    {
        "daysOfWeek": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "allDay": True,
    }
]


def always_open_service(
    route: str, name: str, *, fallback_for: tuple[str, ...] = ()
) -> dict[str, object]:
    service: dict[str, object] = {
        "resourceType": "HealthcareService",
        "identifier": [{"system": f"{terms.BASE}/Id/test-service", "value": route}],
        "active": True,
        "name": name,
        "type": [{"coding": [terms.coding(terms.TRIAGE_ROUTE, route)]}],
        "availableTime": ALWAYS_OPEN,
    }
    if fallback_for:
        service["extension"] = [
            {"url": terms.FALLBACK_EXTENSION, "valueCoding": terms.coding(terms.TRIAGE_ROUTE, r)}
            for r in fallback_for
        ]
    return service


def fallbacks(route: str) -> tuple[str, ...]:
    """The single point of access's clinical triage is every route's fallback, as in the demo."""
    return tuple(terms.TRIAGE_ROUTES) if route == "clinical-review" else ()


@pytest.fixture
async def directory(spa_door: httpx.AsyncClient) -> dict[str, str]:
    """One always-open service per route (made once per database), by route: its reference."""
    found = {}
    for route, name in terms.TRIAGE_ROUTES.items():
        if route == "emergency":
            continue
        service = always_open_service(route, f"Test {name}", fallback_for=fallbacks(route))
        condition = f"identifier={terms.BASE}/Id/test-service|{route}"
        answer = await spa_door.post(
            "HealthcareService", json=service, headers={"If-None-Exist": condition}
        )
        assert answer.status_code in (200, 201), answer.text
        found[route] = f"HealthcareService/{answer.json()['id']}"
    return found
