"""The dynamic support register as real processes: a record of its own, the register service
and a gateway in front of both; the register's team, and someone outside it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.auth.devissuer import DevIssuer
from shared.fhir import terms
from tests.caseload.conftest import create
from tests.conftest import gateway_client, own_record
from tests.support.fhir import patient, unique
from tests.support.services import RunningService, running_behind_a_gateway

Resource = dict[str, Any]


@dataclass
class Register:
    dsr: RunningService
    gateway: RunningService

    def view(self) -> str:
        return f"{self.gateway.base.removesuffix('/fhir')}/dsr/register"

    def clock(self) -> str:
        return f"{self.dsr.base.removesuffix('/fhir')}/dsr/clock"


@pytest.fixture(scope="session")
def register(
    request: pytest.FixtureRequest,
    database_url: str,
    auth_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Register]:
    folder = tmp_path_factory.mktemp("dsr")
    with (
        own_record(request, database_url, auth_dir, folder, "dsr") as record,
        running_behind_a_gateway("dsr", record, str(auth_dir), folder) as running,
    ):
        yield Register(*running)


@pytest.fixture
async def desk(register: Register, system_token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(register.gateway, system_token) as client:
        yield client


@dataclass
class Staff:
    reference: str
    client: httpx.AsyncClient


@pytest.fixture
async def lead(
    register: Register, desk: httpx.AsyncClient, issuer: DevIssuer
) -> AsyncIterator[Staff]:
    """The register's lead: the dsr-lead role."""
    async with _staff(register, desk, issuer, roles=[terms.DSR_TEAM_ROLE]) as staff:
        yield staff


@pytest.fixture
async def outsider(
    register: Register, desk: httpx.AsyncClient, issuer: DevIssuer
) -> AsyncIterator[Staff]:
    """A community nurse, not on the register's team."""
    async with _staff(register, desk, issuer, roles=["community-nurse"]) as staff:
        yield staff


class _staff:
    def __init__(
        self, register: Register, desk: httpx.AsyncClient, issuer: DevIssuer, roles: list[str]
    ) -> None:
        self.register, self.desk, self.issuer, self.roles = register, desk, issuer, roles

    async def __aenter__(self) -> Staff:
        practitioner = await create(
            self.desk, {"resourceType": "Practitioner", "name": [{"family": unique("Staff")}]}
        )
        reference = f"Practitioner/{practitioner['id']}"
        token = self.issuer.issue(
            scope="user/*.cruds",
            subject=unique("staff-"),
            fhir_user=reference,
            extra={"roles": self.roles},
        )
        self.client = gateway_client(self.register.gateway, token)
        return Staff(reference, await self.client.__aenter__())

    async def __aexit__(self, *exc: Any) -> None:
        await self.client.__aexit__(*exc)


async def person(
    desk: httpx.AsyncClient, birth_date: str = "1996-02-03", postcode: str = "PO4 0LE"
) -> str:
    return (
        f"Patient/{(await create(desk, patient(birth_date=birth_date, postcode=postcode)))['id']}"
    )


async def consent_of(desk: httpx.AsyncClient, who: str, status: str = "active") -> str:
    consent = await create(
        desk,
        {
            "resourceType": "Consent",
            "status": status,
            "scope": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                        "code": "patient-privacy",
                    }
                ]
            },
            "category": [{"text": "Consent to be on the dynamic support register"}],
            "patient": {"reference": who},
            "policyRule": {"coding": [{"system": terms.ACT_CODE, "code": "OPTIN"}]},
        },
    )
    return f"Consent/{consent['id']}"


def parameters(*given: tuple[str, str, Any]) -> Resource:
    found = []
    for name, kind, value in given:
        if kind == "part":
            found.append({"name": name, "part": value})
        else:
            found.append(
                {
                    "name": name,
                    f"value{kind}": {"reference": value} if kind == "Reference" else value,
                }
            )
    return {"resourceType": "Parameters", "parameter": found}
