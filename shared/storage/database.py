"""Connections and transactions for the record, on PostgreSQL (asyncpg) or SQLite (aiosqlite).

SQLite allows one writer at a time, so write transactions in one process queue on a lock rather
than failing with "database is locked"; PostgreSQL runs them concurrently and serialises only
what must be (row locks and advisory locks in ``writes``).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import column, event, select, table, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from shared.telemetry.database import trace_statements

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    """The record's engine, and the one way to open a transaction on it."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        migrations: Path = MIGRATIONS,
        version_table: str = "alembic_version",
    ) -> None:
        self.url = url
        self.migrations = migrations
        self.version_table = version_table
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            _ensure_sqlite_folder(url)
            # Pooled: each aiosqlite connection is a thread of its own, too dear to open per
            # transaction. WAL lets the pooled readers run beside the one writer.
            self.engine: AsyncEngine = create_async_engine(
                url,
                poolclass=AsyncAdaptedQueuePool,
                pool_size=pool_size,
                max_overflow=0,
                hide_parameters=True,
            )
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_async_engine(
                url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=False,
                hide_parameters=True,  # errors (and so logs) never quote a statement's values
            )
        trace_statements(self.engine.sync_engine)
        self._write_lock = asyncio.Lock()
        self._named_locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def transaction(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits when the block ends and rolls back if it raises."""
        if self.is_sqlite and write:
            async with self._write_lock, self.engine.begin() as connection:
                yield connection
        else:
            async with self.engine.begin() as connection:
                yield connection

    async def lock(self, connection: AsyncConnection, name: str) -> None:
        """Hold a named lock until the transaction ends (PostgreSQL advisory lock).

        SQLite needs none: its writers are already serialised by ``transaction``.
        """
        if self.is_sqlite:
            return
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(name)}
        )

    @asynccontextmanager
    async def session_lock(self, name: str) -> AsyncIterator[bool]:
        """Try to hold a named lock while the block runs, without a transaction open: True if
        this process holds it, False if another holder has it. On PostgreSQL it is a session
        advisory lock, so a process that dies lets go of it with its connection."""
        if self.is_sqlite:
            lock = self._named_locks.setdefault(name, asyncio.Lock())
            if lock.locked():
                yield False
                return
            async with lock:
                yield True
            return
        key = {"key": _lock_key(name)}
        async with self.engine.connect() as connection:
            held = bool(
                (await connection.execute(text("SELECT pg_try_advisory_lock(:key)"), key)).scalar()
            )
            await connection.commit()
            try:
                yield held
            finally:
                if held:
                    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
                    await connection.commit()

    async def migrate(self) -> None:
        """Bring the schema up to the newest migration."""
        async with self.engine.begin() as connection:
            await connection.run_sync(_upgrade, self.migrations, self.version_table)

    def head_revisions(self) -> set[str]:
        """The newest migrations of this database's migration folder."""
        config = Config()
        config.set_main_option("script_location", str(self.migrations))
        return set(ScriptDirectory.from_config(config).get_heads())

    async def applied_revisions(self) -> set[str]:
        """The migrations the database says it is at (empty if it was never migrated)."""
        versions = table(self.version_table, column("version_num"))
        async with self.engine.connect() as connection:
            exists = await connection.run_sync(
                lambda sync: sync.dialect.has_table(sync, self.version_table)
            )
            if not exists:
                return set()
            rows = await connection.execute(select(versions.c.version_num))
            return {str(version) for version in rows.scalars()}

    async def dispose(self) -> None:
        await self.engine.dispose()


def _lock_key(name: str) -> int:
    """A lock name as PostgreSQL's advisory-lock key: a stable signed 64-bit hash."""
    key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")
    return key - (1 << 63)


def _upgrade(connection: Connection, migrations: Path, version_table: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.attributes["connection"] = connection
    config.attributes["version_table"] = version_table
    command.upgrade(config, "head")


def _ensure_sqlite_folder(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
