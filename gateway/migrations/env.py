"""Alembic environment of the gateway's own tables."""

from __future__ import annotations

from gateway.schema import metadata
from shared.storage.alembic_env import run_migrations

run_migrations(metadata)
