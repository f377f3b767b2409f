"""Alembic environment: runs on the connection that ``shared.storage.database.migrate`` hands it."""

from __future__ import annotations

from alembic import context

from shared.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    version_table=context.config.attributes.get("version_table", "alembic_version"),
)
with context.begin_transaction():
    context.run_migrations()
