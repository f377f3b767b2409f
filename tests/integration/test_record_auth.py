"""The record checks tokens itself (defence in depth): no token, no data."""

from __future__ import annotations

import httpx
import pytest

from shared.auth.devissuer import DevIssuer
from tests.support.services import RunningService

ENDPOINTS = [
    ("GET", "Patient"),
    ("POST", "Patient"),
    ("PUT", "Patient?identifier=x"),
    ("DELETE", "Patient?identifier=x"),
    ("GET", "Patient/abc"),
    ("PUT", "Patient/abc"),
    ("PATCH", "Patient/abc"),
    ("DELETE", "Patient/abc"),
    ("GET", "Patient/abc/_history"),
    ("GET", "Patient/abc/_history/1"),
    ("GET", "Patient/_history"),
    ("GET", "_history"),
    ("POST", "Patient/_search"),
    ("POST", ""),
    ("POST", "Patient/$validate"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_given_no_token_when_calling_then_401_with_bearer_challenge(
    record: RunningService, method: str, path: str
) -> None:
    async with httpx.AsyncClient(timeout=30) as stranger:
        response = await stranger.request(
            method,
            f"{record.base}/{path}",
            content=b"{}",
            headers={"Content-Type": "application/fhir+json"},
        )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "login"


async def test_given_forged_token_when_reading_then_401(
    record: RunningService, tmp_path: object
) -> None:
    from pathlib import Path

    forger = DevIssuer(
        Path(str(tmp_path)),
        "http://127.0.0.1:8080/auth",
        "http://127.0.0.1:8080/fhir",
        environment="test",
    )
    token = forger.issue(scope="system/*.cruds")
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(
            f"{record.base}/Patient", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("scope", "method", "path", "status"),
    [
        ("system/Observation.rs", "GET", "Patient", 403),
        ("system/Patient.r", "GET", "Patient", 403),
        ("system/Patient.rs", "GET", "Patient", 200),
        ("system/Patient.rs", "POST", "Patient", 403),
        ("system/Patient.read", "GET", "Patient/_history", 200),
    ],
)
async def test_given_narrow_scope_when_calling_then_only_what_it_grants(
    record: RunningService, issuer: DevIssuer, scope: str, method: str, path: str, status: int
) -> None:
    token = issuer.issue(scope=scope)
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.request(
            method,
            f"{record.base}/{path}",
            content=b'{"resourceType":"Patient"}',
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
        )
    assert response.status_code == status, response.text


async def test_given_no_token_when_reading_metadata_and_health_then_served(
    record: RunningService,
) -> None:
    async with httpx.AsyncClient(timeout=30) as stranger:
        assert (await stranger.get(f"{record.base}/metadata")).status_code == 200
        assert (await stranger.get(f"http://127.0.0.1:{record.port}/health")).status_code == 200
