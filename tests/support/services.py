"""Real service processes for integration tests: uvicorn, a real port, real HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningService:
    name: str
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    ready_text: str = ""  # what /health must mention before the service counts as ready
    stdout: Path | None = None  # where the process's standard output goes (else inherited)
    _stdout_file: IO[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir"

    def start(self, timeout: float = 60.0) -> RunningService:
        command = [sys.executable, "-m", "shared.cli", "serve", self.name, "--port", str(self.port)]
        if self.stdout is not None:
            self._stdout_file = self.stdout.open("ab")
        self.process = subprocess.Popen(
            command, cwd=REPO, env={**os.environ, **self.env}, stdout=self._stdout_file
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            try:
                health = httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1)
                if health.status_code == 200 and self.ready_text in health.text:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not become healthy in {timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._stdout_file is not None:
            self._stdout_file.close()
            self._stdout_file = None


def record_service(
    database_url: str, *, stdout: Path | None = None, **settings: str
) -> RunningService:
    """The record on ``database_url``; ``stdout`` names a file for its standard output."""
    env = {"ONESTORY_DATABASE_URL": database_url, "ONESTORY_ENVIRONMENT": "test"}
    env.update({f"ONESTORY_{k.upper()}": v for k, v in settings.items()})
    return RunningService("record", free_port(), env, stdout=stdout)


def gateway_service(
    record: RunningService,
    database_url: str,
    data_dir: str,
    *,
    stdout: Path | None = None,
    **settings: str,
) -> RunningService:
    """The gateway in front of ``record``; ready once it has the record's routes."""
    env = {
        "ONESTORY_SERVICES": json.dumps({"record": f"http://127.0.0.1:{record.port}"}),
        "ONESTORY_GATEWAY_DATABASE_URL": database_url,
        "ONESTORY_DATA_DIR": data_dir,
        "ONESTORY_ENVIRONMENT": "test",
    }
    env.update({f"ONESTORY_{k.upper()}": v for k, v in settings.items()})
    return RunningService("gateway", free_port(), env, ready_text='"record"', stdout=stdout)


def behind_a_gateway(
    name: str, record: RunningService, data_dir: str, gateway_database_url: str, **settings: str
) -> tuple[RunningService, RunningService]:
    """A domain service (``name``: triage, caseload, ...) and a gateway in front of the record
    and it (neither started): the service calls the gateway, and the gateway routes to both."""
    gateway_port, service_port = free_port(), free_port()
    common = {"ONESTORY_DATA_DIR": data_dir, "ONESTORY_ENVIRONMENT": "test"}
    service = RunningService(
        name,
        service_port,
        {
            **common,
            "ONESTORY_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}/fhir",
            f"ONESTORY_{name.upper()}_PUBLIC_URL": f"http://127.0.0.1:{service_port}",
            **{f"ONESTORY_{k.upper()}": v for k, v in settings.items()},
        },
    )
    services = {
        "record": f"http://127.0.0.1:{record.port}",
        name: service.base.removesuffix("/fhir"),
    }
    gateway = RunningService(
        "gateway",
        gateway_port,
        {
            **common,
            "ONESTORY_SERVICES": json.dumps(services),
            "ONESTORY_GATEWAY_DATABASE_URL": gateway_database_url,
        },
        ready_text=f'"{name}"',
    )
    return service, gateway


@contextmanager
def running_behind_a_gateway(
    name: str, record: RunningService, data_dir: str, folder: Path, **settings: str
) -> Iterator[tuple[RunningService, RunningService]]:
    """A domain service and its gateway, started, subscribed to the record, stopped after."""
    service, gateway = behind_a_gateway(
        name, record, data_dir, f"sqlite+aiosqlite:///{folder / 'gateway.db'}", **settings
    )
    service.stdout = folder / f"{name}.log"
    service.start()
    try:
        gateway.start()
        wait_until_subscribed(service)
        yield service, gateway
    finally:
        gateway.stop()
        service.stop()


def wait_until_subscribed(service: RunningService, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = httpx.get(f"http://127.0.0.1:{service.port}/health", timeout=2).json()
        if health.get("subscribed"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{service.name} did not subscribe to the record in time")
