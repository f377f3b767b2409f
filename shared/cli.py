"""The ``onestory`` command: start the system, migrate databases, load the demo population.

It names services by import path only, so the library does not depend on the services.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError
from pydantic_settings import SettingsError

from shared.settings import RecordSettings, Settings


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    app_factory: str  # "package.module:function", taking the service's settings
    settings: str  # "package.module:class", the service's Settings
    port: int


SERVICES = (
    Service("record", "services.record.app:create_app", "shared.settings:RecordSettings", 8081),
    Service(
        "triage", "services.triage.app:create_app", "services.triage.settings:TriageSettings", 8082
    ),
    Service(
        "caseload",
        "services.caseload.app:create_app",
        "services.caseload.settings:CaseloadSettings",
        8083,
    ),
    Service(
        "discharge",
        "services.discharge.app:create_app",
        "services.discharge.settings:DischargeSettings",
        8084,
    ),
    Service("dsr", "services.dsr.app:create_app", "services.dsr.settings:DsrSettings", 8085),
    Service("gateway", "gateway.app:create_app", "gateway.settings:GatewaySettings", 8080),
)
GATEWAY_DATABASE = "gateway.app:gateway_database"
DEMO_LOADER = "services.record.demo_loader"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="onestory", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start every service on this machine")
    up.add_argument("--demo", action="store_true", help="load the Portsmouth demo population")
    up.add_argument(
        "--without",
        action="append",
        default=[],
        choices=[s.name for s in SERVICES if s.name not in ("record", "gateway")],
        help="leave a domain service out (repeatable), e.g. to load a population quickly",
    )
    serve = commands.add_parser("serve", help="run one service in the foreground")
    serve.add_argument("service", choices=[s.name for s in SERVICES])
    serve.add_argument("--port", type=int)
    commands.add_parser("migrate", help="bring the record's database schema up to date")
    _add_token_command(commands)
    args = parser.parse_args(argv)
    if args.command == "token":
        return issue_token(args)
    if args.command == "migrate":
        return migrate()
    if args.command == "serve":
        return serve_one(args.service, args.port)
    return up_all(demo=args.demo, without=frozenset(args.without))


def migrate() -> int:
    from shared.storage.database import Database

    settings = RecordSettings()

    gateway_database = _import(GATEWAY_DATABASE)(_import("gateway.settings:GatewaySettings")())

    async def run() -> None:
        for database in (Database(settings.database_url), gateway_database):
            await database.migrate()
            await database.dispose()

    asyncio.run(run())
    print(f"The record's schema is up to date ({_without_password(settings.database_url)})")
    print(f"The gateway's schema is up to date ({_without_password(gateway_database.url)})")
    return 0


def _import(target: str) -> Any:
    """An object named "package.module:attribute", imported only when needed."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def serve_one(name: str, port: int | None) -> int:
    """Run one service until SIGTERM or Ctrl-C; then requests in flight have
    ``ONESTORY_SHUTDOWN_GRACE_SECONDS`` to finish. Settings that are not valid stop it at once
    with a message naming the variable (exit status 2)."""
    import uvicorn

    from shared.telemetry import configure_logging

    service = next(s for s in SERVICES if s.name == name)
    try:
        settings = _import(service.settings)()
        configure_logging(name, settings)
        app = _import(service.app_factory)(settings)
    except (ValidationError, SettingsError) as error:
        print(settings_problem(name, error), file=sys.stderr)
        return 2
    host = os.environ.get("ONESTORY_HOST", "127.0.0.1")
    uvicorn.run(
        app,
        host=host,
        port=port or service.port,
        loop="uvloop",  # libuv's event loop and a C HTTP parser: the fastest uvicorn has
        http="httptools",
        log_config=None,  # our own handler formats uvicorn's lines too (JSON or text)
        log_level="warning",
        access_log=False,  # TelemetryMiddleware logs each request, by route template
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) or None,
    )
    return 0


def settings_problem(service: str, error: ValidationError | SettingsError) -> str:
    """A settings error as one paragraph naming each ONESTORY_ variable at fault (never its
    value: it may be a secret)."""
    if isinstance(error, SettingsError):
        field = re.search(r'field "(\w+)"', str(error))
        faults = [f"{_variable(field.group(1) if field else '?')} could not be read as JSON"]
    else:
        faults = [
            f"{_variable(str(fault['loc'][0]) if fault['loc'] else '?')}: "
            f"{fault['msg'].removeprefix('Value error, ')}"
            for fault in error.errors()
        ]
    return (
        f"{service} will not start: its settings are not valid. {'; '.join(faults)}. "
        "Set the environment variables (or secret files) named and start it again."
    )


def _variable(field: str) -> str:
    return f"ONESTORY_{field.upper()}"


def up_all(*, demo: bool, without: frozenset[str] = frozenset()) -> int:
    """Start each service (but those ``without``) as its own process, wait until healthy,
    stop all on Ctrl-C."""
    if migrate() != 0:
        return 1
    settings = Settings()
    issuer = _development_issuer(settings)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the services too, as Ctrl-C does
    started = [s for s in SERVICES if s.name not in without]
    processes = [
        subprocess.Popen([sys.executable, "-m", "shared.cli", "serve", s.name]) for s in started
    ]
    try:
        for service in started:
            _wait_healthy(service, {s.name for s in started})
        base = f"http://127.0.0.1:{SERVICES[-1].port}/fhir"
        if demo and issuer is not None:
            token = issuer.issue(
                scope="system/*.cruds", subject="demo-loader", client_id="demo-loader"
            )
            subprocess.run(
                [sys.executable, "-m", DEMO_LOADER, "--base", base, "--token", token], check=True
            )
        _print_welcome(base, issuer is not None)
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


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _development_issuer(settings: Settings) -> Any:
    """The development issuer, its keys made before any service needs them (None outside
    development)."""
    if settings.environment == "production" or settings.auth_jwks_url:
        return None
    from shared.auth.devissuer import DevIssuer

    return DevIssuer.from_settings(settings)


def _print_welcome(base: str, development: bool) -> None:
    print(f"\nOneStory is running. FHIR base (the gateway): {base}")
    print(f"  curl {base}/metadata")
    if development:
        print("Get a development token and call the API:")
        print('  TOKEN=$(.venv/bin/onestory token --scope "system/*.rs")')
        print(f"  curl -H \"Authorization: Bearer $TOKEN\" '{base}/Patient?address-postalcode=PO4'")
    print("Press Ctrl-C to stop.")


def _add_token_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = commands.add_parser(
        "token", help="print an access token from the development issuer (not in production)"
    )
    token.add_argument("--scope", required=True, help='SMART scopes, e.g. "user/*.cruds"')
    token.add_argument("--patient", help="the patient id a patient/ token is confined to")
    token.add_argument("--user", dest="fhir_user", help="fhirUser, e.g. Practitioner/123")
    token.add_argument("--organization", help="e.g. Organization/abc")
    token.add_argument("--client-id", default="onestory-dev")
    token.add_argument("--lifetime", type=int, default=3600, help="seconds (default 3600)")


def issue_token(args: argparse.Namespace) -> int:
    """Print a development token signed with the keys in the configured data folder."""
    from shared.auth.devissuer import DevIssuer
    from shared.auth.scopes import invalid_scopes

    if args.lifetime <= 0:
        print("--lifetime must be a positive number of seconds", file=sys.stderr)
        return 2
    try:
        issuer = DevIssuer.from_settings(Settings())
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 2
    for scope in invalid_scopes(args.scope):
        print(f"warning: {scope!r} is not a valid SMART scope; it grants nothing", file=sys.stderr)
    print(
        issuer.issue(
            scope=args.scope,
            patient=args.patient,
            fhir_user=args.fhir_user,
            organization=args.organization,
            client_id=args.client_id,
            lifetime_seconds=args.lifetime,
        )
    )
    return 0


def _wait_healthy(service: Service, names: set[str], timeout: float = 60.0) -> None:
    """Until the service answers /health; the gateway, until it routes to every other one of
    ``names``."""
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{service.port}/health"
    others = names - {"gateway"}
    while time.monotonic() < deadline:
        try:
            health = httpx.get(url, timeout=1.0)
            if health.status_code == 200 and (
                service.name != "gateway" or others <= set(health.json().get("routes", []))
            ):
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
