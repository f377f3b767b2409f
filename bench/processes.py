"""OneStory's processes on this machine, as the benchmark watches them: the most memory each
service held while it ran (VmRSS, from /proc), and whether they have finished what earlier
phases left them (audit delivery, notifications, the domain services' reactions) before the
next phase starts, so that no phase is measured on another's leftovers."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

_SERVE = ["-m", "shared.cli", "serve"]


def services() -> dict[str, int]:
    """Each running OneStory service's resident memory now, in MB, by name."""
    found: dict[str, int] = {}
    for process, name in _serving():
        try:
            status = (process / "status").read_text()
        except OSError:
            continue  # gone
        kilobytes = next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
        )
        found[name] = max(found.get(name, 0), kilobytes // 1024)
    return found


def wait_until_quiet(
    *, below_cores: float = 0.1, for_seconds: float = 3.0, at_most: float = 900.0
) -> float:
    """Wait until OneStory's processes here together use less than ``below_cores`` of CPU for
    ``for_seconds`` (at most ``at_most`` seconds); the seconds waited. No wait when none run
    here (a server measured from afar)."""
    started = time.monotonic()
    quiet_since = None
    before = _cpu_seconds()
    while before and time.monotonic() - started < at_most:
        time.sleep(1.0)
        now = _cpu_seconds()
        if now - before < below_cores:
            quiet_since = quiet_since or time.monotonic() - 1.0
            if time.monotonic() - quiet_since >= for_seconds:
                break
        else:
            quiet_since = None
        before = now
    return time.monotonic() - started


def _cpu_seconds() -> float:
    """User and system CPU seconds of every OneStory service here, so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for process, _ in _serving():
        try:
            fields = (process / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _serving() -> list[tuple[Path, str]]:
    """Each ``onestory serve NAME`` process here, with the NAME."""
    found = []
    for process in Path("/proc").glob("[0-9]*"):
        try:
            argv = (process / "cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if _SERVE[0] in argv:
            at = argv.index(_SERVE[0])
            if argv[at : at + 3] == _SERVE and len(argv) > at + 3:
                found.append((process, argv[at + 3]))
    return found


class Watch:
    """Samples every half second from creation until ``stop``, keeping each service's peak."""

    def __init__(self, interval: float = 0.5) -> None:
        self.peaks: dict[str, int] = {}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(interval,), daemon=True)
        self._thread.start()

    def _sample(self, interval: float) -> None:
        while not self._stopped.wait(interval):
            for name, megabytes in services().items():
                self.peaks[name] = max(self.peaks.get(name, 0), megabytes)

    def stop(self) -> dict[str, int]:
        self._stopped.set()
        self._thread.join()
        return dict(sorted(self.peaks.items()))
