"""Fixtures for every test: databases on both engines and the record as a real process.

Tests that take ``record`` or ``fhir`` run once on SQLite and once on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from hypothesis import settings

from shared.auth.devissuer import DevIssuer
from shared.settings import Settings
from shared.storage.database import Database
from tests.support.postgres import SKIP_REASON, admin_url, drop_database, fresh_database
from tests.support.services import RunningService, gateway_service, record_service

FHIR_JSON = "application/fhir+json"

# Property tests are repeatable by default (the same examples every run, no deadlines on a
# loaded 2-core machine), so CI is never red by chance; HYPOTHESIS_PROFILE=explore draws new
# examples each run to look for more.
settings.register_profile("repeatable", derandomize=True, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
# One TLS context for every client: httpx builds (and loads CA certificates into) a new one
# for each client otherwise, about 60 ms per test.
_TLS = ssl.create_default_context()


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


async def _migrated(url: str) -> str:
    database = Database(url)
    await database.migrate()
    await database.dispose()
    return url


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[str]:
    url, cluster = admin_url()
    if url is None:
        pytest.skip(SKIP_REASON)
    yield url
    for name in _CREATED_DATABASES:  # whatever a test's fixtures left behind
        asyncio.run(drop_database(url, name))
    if cluster is not None:
        cluster.stop()


_CREATED_DATABASES: list[str] = []


def make_postgres_database(admin: str, label: str) -> str:
    """A fresh, migrated database, dropped when the session ends."""
    name = f"onestory_test_{label}_{_worker()}_{os.getpid()}"
    _CREATED_DATABASES.append(name)
    return asyncio.run(_migrated(asyncio.run(fresh_database(admin, name))))


@pytest.fixture(scope="session")
def postgres_url(postgres_admin: str) -> Iterator[str]:
    url = make_postgres_database(postgres_admin, "record")
    yield url
    asyncio.run(drop_database(postgres_admin, url.rsplit("/", 1)[1]))


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sqlite") / "record.db"
    return asyncio.run(_migrated(f"sqlite+aiosqlite:///{path}"))


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@contextmanager
def own_record(
    request: pytest.FixtureRequest, database_url: str, auth_dir: Path, folder: Path, label: str
) -> Iterator[RunningService]:
    """A record of its own, on a fresh database of the same engine as ``database_url``, for a
    domain service whose subscriptions must not act on other tests' data (nor theirs on its)."""
    if database_url.startswith("sqlite"):
        url = asyncio.run(_migrated(f"sqlite+aiosqlite:///{folder / 'record.db'}"))
    else:
        url = make_postgres_database(request.getfixturevalue("postgres_admin"), label)
    service = record_service(url, max_body_bytes=str(1024 * 1024), data_dir=str(auth_dir))
    service.start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def auth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data folder whose development issuer signs every test's tokens."""
    return tmp_path_factory.mktemp("auth")


@pytest.fixture(scope="session")
def issuer(auth_dir: Path) -> DevIssuer:
    settings = Settings(data_dir=auth_dir, environment="test")
    return DevIssuer.from_settings(settings)


@pytest.fixture(scope="session")
def system_token(issuer: DevIssuer) -> str:
    """A service's token: every resource type, every interaction."""
    return issuer.issue(
        scope="system/*.cruds",
        subject="test-suite",
        client_id="test-suite",
        lifetime_seconds=12 * 3600,
    )


@pytest.fixture(scope="session")
def record(database_url: str, auth_dir: Path, issuer: DevIssuer) -> Iterator[RunningService]:
    # The issuer fixture has written its keys (jwks.json) before the record starts.
    service = record_service(
        database_url, max_body_bytes=str(1024 * 1024), data_dir=str(auth_dir)
    ).start()
    yield service
    service.stop()


@pytest.fixture
async def fhir(record: RunningService, system_token: str) -> AsyncIterator[httpx.AsyncClient]:
    headers = {
        "Accept": FHIR_JSON,
        "Content-Type": FHIR_JSON,
        "Authorization": f"Bearer {system_token}",
    }
    async with httpx.AsyncClient(
        base_url=record.base + "/", headers=headers, timeout=30, verify=_TLS
    ) as client:
        yield client


@pytest.fixture(scope="session")
def gateway_database_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The gateway keeps its tables beside the record's on PostgreSQL, in its own file on
    SQLite (as the embedded default does)."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('gateway') / 'gateway.db'}"
    return database_url


@pytest.fixture(scope="session")
def gateway(
    record: RunningService, gateway_database_url: str, auth_dir: Path
) -> Iterator[RunningService]:
    service = gateway_service(
        record, gateway_database_url, str(auth_dir), max_body_bytes=str(1024 * 1024)
    ).start()
    yield service
    service.stop()


@pytest.fixture
async def front_door(
    gateway: RunningService, system_token: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A service's client of the gateway (system/*.cruds)."""
    async with gateway_client(gateway, system_token) as client:
        yield client


def gateway_client(gateway: RunningService, token: str | None, **headers: str) -> httpx.AsyncClient:
    base_headers = {"Accept": FHIR_JSON, "Content-Type": FHIR_JSON, **headers}
    if token:
        base_headers["Authorization"] = f"Bearer {token}"
    return httpx.AsyncClient(
        base_url=gateway.base + "/", headers=base_headers, timeout=30, verify=_TLS
    )
