"""Load from wrk, the low-overhead HTTP load generator (C, one event loop per thread), so that
the client takes little of the cores the server is measured on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SCRIPT = Path(__file__).parent / "wrk" / "phase.lua"


def ensure_wrk() -> str:
    """The wrk command, installed from Debian's packages when missing and we may install."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("Installing wrk from Debian's packages...", flush=True)
        installed = subprocess.run(
            ["apt-get", "install", "-y", "-q", "wrk"], stdout=subprocess.DEVNULL, check=False
        )
        found = shutil.which("wrk") if installed.returncode == 0 else None
    if not found:
        raise SystemExit("The benchmark needs wrk: sudo apt-get install wrk")
    return found


def run(
    base: str,
    token: str,
    lines: list[str],
    *,
    post_to: str | None = None,
    connections: int = 32,
    seconds: int = 15,
    threads: int = 2,
) -> dict[str, Any]:
    """wrk against ``base``'s host: GET each of ``lines`` (paths), or POST each (bodies) to
    ``post_to``; the figures wrk's done() reports, with the rate in requests per second."""
    url = urlsplit(base)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as file:
        file.write("\n".join(lines) + "\n")
    arguments = ["post", post_to, file.name] if post_to else ["get", file.name]
    command = [
        ensure_wrk(),
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "-H",
        "Content-Type: application/fhir+json",
        "-H",
        "Accept: application/fhir+json",
        *(["-H", f"Authorization: Bearer {token}"] if token else []),
        "-s",
        str(SCRIPT),
        f"{url.scheme}://{url.netloc}",
        "--",
        *arguments,
    ]
    try:
        finished = subprocess.run(command, capture_output=True, text=True, check=True)
    finally:
        Path(file.name).unlink()
    figures: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    figures["per_second"] = round(figures["requests"] / figures["seconds"], 1)
    figures["connections"] = connections
    return figures
