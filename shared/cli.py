"""The ``onestory`` command: start the system, migrate databases, load the demo population.

It names services by import path only, so the library does not depend on the services.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx

from shared.settings import RecordSettings


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    app_factory: str  # "package.module:function", for uvicorn --factory
    port: int


SERVICES = (Service("record", "services.record.app:create_app", 8081),)
DEMO_LOADER = "services.record.demo_loader"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="onestory", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start every service on this machine")
    up.add_argument("--demo", action="store_true", help="load the Portsmouth demo population")
    serve = commands.add_parser("serve", help="run one service in the foreground")
    serve.add_argument("service", choices=[s.name for s in SERVICES])
    serve.add_argument("--port", type=int)
    commands.add_parser("migrate", help="bring the record's database schema up to date")
    args = parser.parse_args(argv)
    if args.command == "migrate":
        return migrate()
    if args.command == "serve":
        return serve_one(args.service, args.port)
    return up_all(demo=args.demo)


def migrate() -> int:
    from shared.storage.database import Database

    settings = RecordSettings()

    async def run() -> None:
        database = Database(settings.database_url)
        await database.migrate()
        await database.dispose()

    asyncio.run(run())
    print(f"The record's schema is up to date ({_without_password(settings.database_url)})")
    return 0


def serve_one(name: str, port: int | None) -> int:
    import uvicorn

    service = next(s for s in SERVICES if s.name == name)
    host = os.environ.get("ONESTORY_HOST", "127.0.0.1")
    uvicorn.run(
        service.app_factory,
        factory=True,
        host=host,
        port=port or service.port,
        log_level="warning",
        access_log=False,
    )
    return 0


def up_all(*, demo: bool) -> int:
    """Start each service as its own process, wait until healthy, stop all on Ctrl-C."""
    if migrate() != 0:
        return 1
    processes = [
        subprocess.Popen([sys.executable, "-m", "shared.cli", "serve", s.name]) for s in SERVICES
    ]
    try:
        for service in SERVICES:
            _wait_healthy(service)
        base = f"http://127.0.0.1:{SERVICES[0].port}/fhir"
        if demo:
            subprocess.run([sys.executable, "-m", DEMO_LOADER, "--base", base], check=True)
        print(f"\nOneStory is running. FHIR base: {base}")
        print(f"  curl {base}/metadata")
        print(f"  curl '{base}/Patient?address-postalcode=PO4&_count=5'")
        print("Press Ctrl-C to stop.")
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            process.wait(timeout=15)


def _wait_healthy(service: Service, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{service.port}/health"
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{service.name} did not become healthy within {timeout:.0f}s")


def _without_password(url: str) -> str:
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    return f"{scheme}://{credentials.split(':')[0]}{at}{host}" if at else url


if __name__ == "__main__":
    sys.exit(main())
