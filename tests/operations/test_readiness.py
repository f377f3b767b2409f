"""Probes: a process is live while it answers, and ready only while its database answers at
the newest migration; readiness falls while the database is unreachable and comes back with it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from shared.health import database_ready
from shared.storage.database import Database
from tests.conftest import make_postgres_database
from tests.support.services import RunningService, record_service
from tests.support.tcpproxy import TcpProxy


def _wait_for_status(
    service: RunningService, path: str, status: int, timeout: float = 30.0
) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(f"http://127.0.0.1:{service.port}{path}", timeout=10)
        if answer.status_code == status:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} still answers {answer.status_code}: {answer.text}")
        time.sleep(0.1)


@pytest.fixture
def proxied_record(
    request: pytest.FixtureRequest, postgres_admin: str, auth_dir: Path
) -> Iterator[tuple[RunningService, TcpProxy]]:
    """The record on PostgreSQL, reached through a proxy the test can switch off."""
    url = make_postgres_database(postgres_admin, "ready")
    server = urlsplit(url)
    proxy = TcpProxy((server.hostname or "127.0.0.1", server.port or 5432)).start()
    proxied = url.replace(f"@{server.netloc.split('@')[1]}/", f"@127.0.0.1:{proxy.port}/")
    record = record_service(proxied, data_dir=str(auth_dir)).start()
    try:
        yield record, proxy
    finally:
        record.stop()
        proxy.stop()


@pytest.mark.slow
def test_given_postgres_unreachable_then_not_ready_and_ready_again_when_it_returns(
    proxied_record: tuple[RunningService, TcpProxy],
) -> None:
    record, proxy = proxied_record
    ready = _wait_for_status(record, "/health/ready", 200)
    assert ready.json()["checks"] == {"database": "ok"}

    proxy.stop()
    refused = _wait_for_status(record, "/health/ready", 503)
    outcome = refused.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["diagnostics"].startswith("database: the database does not answer")
    assert "postgres" not in refused.text.lower()  # no URL, user or host in the answer
    live = httpx.get(f"http://127.0.0.1:{record.port}/health/live", timeout=5)
    assert live.status_code == 200, "a database outage must not get the process restarted"

    proxy.start()
    _wait_for_status(record, "/health/ready", 200)


def test_given_health_endpoints_then_open_without_a_token(record: RunningService) -> None:
    for path in ("/health", "/health/live", "/health/ready"):
        answer = httpx.get(f"http://127.0.0.1:{record.port}{path}", timeout=10)
        assert answer.status_code == 200, (path, answer.text)
        assert answer.json()["service"] == "record"


async def test_given_a_database_behind_its_migrations_then_not_ready_until_migrated(
    tmp_path: Path,
) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'record.db'}")
    check = database_ready(database)
    try:
        problem = await check()
        assert problem is not None
        assert "no migration" in problem and "onestory migrate" in problem
        await database.migrate()
        assert await check() is None
    finally:
        await database.dispose()


def test_given_the_gateway_knows_the_records_routes_then_ready(gateway: RunningService) -> None:
    answer = _wait_for_status(gateway, "/health/ready", 200)
    assert answer.json()["checks"] == {"database": "ok", "routes": "ok"}
    assert httpx.get(f"http://127.0.0.1:{gateway.port}/health/live").status_code == 200
