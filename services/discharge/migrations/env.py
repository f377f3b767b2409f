"""Alembic environment of the discharge service's own tables (the board's read model)."""

from __future__ import annotations

from services.discharge.schema import metadata
from shared.storage.alembic_env import run_migrations

run_migrations(metadata)
