"""Alembic environment of the record's schema."""

from __future__ import annotations

from shared.storage.alembic_env import run_migrations
from shared.storage.schema import metadata

run_migrations(metadata)
