"""Token checks inside a service: the RequireToken middleware and the authenticate dependency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Request

from shared.auth.dependency import (
    RequireToken,
    authenticate,
    install_verifier,
    require,
    verifier_from_settings,
)
from shared.auth.devissuer import DevIssuer
from shared.auth.tokens import Principal
from shared.errors import FhirError
from shared.http.fhirjson import error_response
from shared.settings import Settings

Caller = Annotated[Principal, Depends(authenticate)]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("auth-dep"), environment="test")


@pytest.fixture(scope="module")
def dev(settings: Settings) -> DevIssuer:
    return DevIssuer.from_settings(settings)


def build_app(settings: Settings, *, middleware: bool) -> FastAPI:
    app = FastAPI()
    verifier = verifier_from_settings(settings)
    install_verifier(app, verifier)
    if middleware:
        app.add_middleware(RequireToken, verifier=verifier)

    @app.exception_handler(FhirError)
    async def as_outcome(request: Request, error: FhirError) -> object:
        return error_response(error)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/fhir/metadata")
    async def metadata() -> dict[str, str]:
        return {"resourceType": "CapabilityStatement"}

    @app.get("/fhir/Patient")
    async def patients(caller: Caller) -> dict[str, str | None]:
        require(caller, "Patient", "s")
        return {"subject": caller.subject, "patient": caller.patient}

    return app


@pytest.fixture(params=[True, False], ids=["middleware", "dependency-only"])
async def client(
    request: pytest.FixtureRequest, settings: Settings, dev: DevIssuer
) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(settings, middleware=request.param)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_given_no_token_when_a_data_path_is_called_then_401_operation_outcome(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/fhir/Patient")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["content-type"].startswith("application/fhir+json")
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "login"


async def test_given_no_token_when_an_open_path_is_called_then_it_answers(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/fhir/metadata")).status_code == 200


async def test_given_an_expired_token_when_a_data_path_is_called_then_401_says_expired(
    client: httpx.AsyncClient, dev: DevIssuer
) -> None:
    token = dev.issue(scope="user/*.rs", extra={"exp": 1})

    response = await client.get("/fhir/Patient", headers=bearer(token))

    assert response.status_code == 401
    assert response.json()["issue"][0]["diagnostics"] == "The token has expired"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


async def test_given_a_valid_token_when_called_then_the_principal_reaches_the_handler(
    client: httpx.AsyncClient, dev: DevIssuer
) -> None:
    token = dev.issue(scope="patient/Patient.rs", subject="resident", patient="p7")

    response = await client.get("/fhir/Patient", headers=bearer(token))

    assert response.status_code == 200
    assert response.json() == {"subject": "resident", "patient": "p7"}


async def test_given_a_token_without_the_needed_scope_when_called_then_403_forbidden(
    client: httpx.AsyncClient, dev: DevIssuer
) -> None:
    token = dev.issue(scope="user/Observation.rs")

    response = await client.get("/fhir/Patient", headers=bearer(token))

    assert response.status_code == 403
    assert response.json()["issue"][0]["code"] == "forbidden"
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


async def test_given_an_app_without_a_verifier_when_authenticating_then_it_is_a_setup_error(
    tmp_path: Path,
) -> None:
    app = FastAPI()

    @app.get("/x")
    async def handler(caller: Caller) -> str:
        return caller.subject

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        with pytest.raises(RuntimeError, match="install_verifier"):
            await client.get("/x", headers=bearer("a.b.c"))
