"""The whole benchmark from one command (``make bench``): start OneStory on a fresh data
folder, load the synthetic population, measure every phase, stop.

    python -m bench.harness [--residents 2000] [--board-episodes 10000] [--database-url URL]

Everything is on as in production: token verification, scopes, consent, audit, validation.
One setting differs from the defaults: the gateway's per-client rate limit (1,200 requests a
minute, a guard against one runaway client) is raised, because the benchmark is one client
sending thousands a second and would otherwise measure the limiter's 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench import discharge_board, load, run, wrk

DATA_DIR = Path(".onestory-bench")
GATEWAY = "http://127.0.0.1:8080/fhir"
RECORD = "http://127.0.0.1:8081/fhir"


def start(data_dir: Path, database_url: str | None, without: list[str]) -> subprocess.Popen[bytes]:
    """OneStory (but the domain services ``without``) on a fresh data folder (and database,
    when given), once it is healthy."""
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    env = {
        **os.environ,
        "ONESTORY_DATA_DIR": str(data_dir),
        "ONESTORY_RATE_LIMIT_PER_MINUTE": "100000000",
    }
    if database_url:
        for name in ("DATABASE_URL", "GATEWAY_DATABASE_URL", "DISCHARGE_DATABASE_URL"):
            env[f"ONESTORY_{name}"] = database_url
    log = (data_dir / "services.log").open("wb")
    system = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "up", *(f"--without={name}" for name in without)],
        env=env,
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if system.poll() is not None:
            raise SystemExit(f"OneStory did not start; see {data_dir / 'services.log'}")
        if b"Press Ctrl-C" in (data_dir / "services.log").read_bytes():
            return system
        time.sleep(0.5)
    raise SystemExit(f"OneStory did not start in 2 minutes; see {data_dir / 'services.log'}")


async def analyze(database_url: str) -> None:
    """Fresh planner statistics after a bulk load. Autovacuum would gather them within a minute
    or so; a phase started before that is planned on an empty table's figures."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
    await engine.dispose()


def token(data_dir: Path) -> str:
    """A system token from the development issuer the started services trust."""
    from shared.auth.devissuer import DevIssuer
    from shared.settings import Settings

    issuer = DevIssuer.from_settings(Settings(data_dir=data_dir))
    return issuer.issue(scope="system/*.cruds", subject="bench", client_id="bench",
                        lifetime_seconds=6 * 3600)  # fmt: skip


def stop(system: subprocess.Popen[bytes]) -> None:
    system.send_signal(signal.SIGINT)
    try:
        system.wait(timeout=30)
    except subprocess.TimeoutExpired:
        system.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--residents", type=int, default=2000, help="people to load")
    parser.add_argument(
        "--board-episodes", type=int, default=10_000, help="people waiting on the board"
    )
    parser.add_argument("--database-url", help="PostgreSQL for every service (default SQLite)")
    parser.add_argument("--seconds", type=int, default=15, help="per wrk phase")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        help="leave a domain service out (caseload reassesses a person on every Condition and "
        "Encounter, so a large load keeps it busy long after)",
    )
    args = parser.parse_args(argv)
    wrk.ensure_wrk()
    system = start(args.data_dir, args.database_url, args.without)
    try:
        bearer = token(args.data_dir)
        label = "postgres" if args.database_url else "sqlite"
        load.main(["--base", GATEWAY, "--token", bearer, "--residents", str(args.residents),
                   "--label", label])  # fmt: skip
        if args.board_episodes:
            asyncio.run(discharge_board.load_only(GATEWAY, bearer, args.board_episodes))
        if args.database_url:
            asyncio.run(analyze(args.database_url))
        run.main(
            ["--base", GATEWAY, "--token", bearer, "--direct", RECORD,
             "--seconds", str(args.seconds), "--label", label]
        )  # fmt: skip
    except httpx.HTTPError as error:
        raise SystemExit(f"The benchmark lost OneStory: {error}") from error
    finally:
        stop(system)
    return 0


if __name__ == "__main__":
    sys.exit(main())
