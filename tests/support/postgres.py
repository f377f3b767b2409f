"""Where the PostgreSQL tests get a server: the one at 127.0.0.1:5432 when it answers,
otherwise a throwaway cluster started from installed PostgreSQL binaries, otherwise none
(and the tests are skipped, saying why)."""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import asyncpg

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SKIP_REASON = (
    "PostgreSQL tests skipped: no server answered at 127.0.0.1:5432 "
    "(or ONESTORY_TEST_POSTGRES_URL) and no throwaway cluster could be started from installed "
    "PostgreSQL binaries (initdb, pg_ctl)"
)


async def _answers(url: str) -> bool:
    try:
        connection = await asyncpg.connect(url, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


class ThrowawayCluster:
    """A PostgreSQL cluster in a temporary folder, for machines without a server running."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.folder = Path(tempfile.mkdtemp(prefix="onestory-pg-"))
        self.port = _free_port()

    def _run(self, *command: object, check: bool = True) -> None:
        """PostgreSQL refuses to run as root: as root, run it as the postgres user."""
        prefix: list[object] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            prefix = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*prefix, *command], check=check, capture_output=True)

    def start(self) -> str:
        data = self.folder / "data"
        self._run(self.binaries / "initdb", "-D", data, "-U", "postgres", "-A", "trust")
        options = f"-p {self.port} -k {self.folder} -h 127.0.0.1"
        self._run(
            self.binaries / "pg_ctl",
            "-D",
            data,
            "-w",
            "-l",
            self.folder / "log",
            "-o",
            options,
            "start",
        )
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        self._run(
            self.binaries / "pg_ctl", "-D", self.folder / "data", "-m", "fast", "stop", check=False
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def admin_url() -> tuple[str | None, ThrowawayCluster | None]:
    """A URL to a PostgreSQL admin database, and the cluster to stop afterwards if we made one."""
    url = os.environ.get("ONESTORY_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)
    if asyncio.run(_answers(url)):
        return url, None
    binaries = _binaries()
    if binaries is None:
        return None, None
    cluster = ThrowawayCluster(binaries)
    try:
        return cluster.start(), cluster
    except (subprocess.CalledProcessError, OSError, KeyError):
        cluster.stop()
        return None, None


async def fresh_database(admin: str, name: str) -> str:
    """Create (or re-create) an empty database; its SQLAlchemy asyncpg URL."""
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


async def drop_database(admin: str, name: str) -> None:
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
