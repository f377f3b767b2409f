"""The container's health check: ask the OneStory process in this container how it is.

One image runs every service (``onestory serve record``, ``onestory serve gateway``, ...), so
the image's HEALTHCHECK cannot name a port. This finds the ``onestory serve NAME [--port N]``
process among the container's processes, takes its port (``--port``, or the service's own in
``shared.cli.SERVICES``) and asks ``/health/live`` (or ``/health/ready`` with ``--ready``).
A container running anything else (``onestory migrate``, the demo loader) has nothing to ask
and counts as healthy.

Run: ``python -m shared.healthcheck [--ready]``; exit status 0 when healthy, 1 when not.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path

from shared.cli import SERVICES

LIVE = "/health/live"
READY = "/health/ready"


def served_port(command_line: Sequence[str]) -> int | None:
    """The port of ``onestory serve NAME [--port N]`` in one process's arguments, or None
    when the process is not serving a OneStory service."""
    if "serve" not in command_line:
        return None
    arguments = list(command_line[command_line.index("serve") + 1 :])
    ports = {service.name: service.port for service in SERVICES}
    if not arguments or arguments[0] not in ports:
        return None
    for position, argument in enumerate(arguments):
        if argument == "--port" and position + 1 < len(arguments):
            return int(arguments[position + 1])
        if argument.startswith("--port="):
            return int(argument.removeprefix("--port="))
    return ports[arguments[0]]


def command_lines(proc: Path = Path("/proc")) -> Iterable[list[str]]:
    """Every process's arguments, as Linux shows them in /proc/PID/cmdline."""
    for cmdline in sorted(proc.glob("[0-9]*/cmdline")):
        try:
            raw = cmdline.read_bytes()
        except OSError:  # the process ended while we looked
            continue
        yield [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def check(path: str, proc: Path = Path("/proc"), timeout: float = 3.0) -> bool:
    ports = [port for line in command_lines(proc) if (port := served_port(line)) is not None]
    if not ports:
        return True
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}{path}", timeout=timeout):
            return True  # urlopen raises on any status of 400 and above
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.healthcheck", description=__doc__)
    parser.add_argument(
        "--ready", action="store_true", help=f"ask {READY} (database and migrations), not {LIVE}"
    )
    args = parser.parse_args(argv)
    return 0 if check(READY if args.ready else LIVE) else 1


if __name__ == "__main__":
    sys.exit(main())
