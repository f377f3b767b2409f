"""Alembic migrations of the record's schema, for PostgreSQL and SQLite alike."""
