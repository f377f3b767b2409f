"""Fixtures for tests that start gateways (and records) of their own."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from tests.support.postgres import drop_database, fresh_database


@pytest.fixture(scope="session")
def spare_gateway_database(
    database_url: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A gateway database on the same engine as the record, for the gateways tests start
    themselves: they may stop their record, and their audit queue must not hold back the
    shared gateway's."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('spare-gateway') / 'gateway.db'}"
        return
    admin: str = request.getfixturevalue("postgres_admin")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"onestory_test_gateway_{worker}_{os.getpid()}"
    yield asyncio.run(fresh_database(admin, name))
    asyncio.run(drop_database(admin, name))
