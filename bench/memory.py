"""The resident memory of OneStory's processes on this machine, watched while the benchmark
runs: the most each service held (VmRSS, from /proc), by service name."""

from __future__ import annotations

import threading
from pathlib import Path

_SERVE = ["-m", "shared.cli", "serve"]


def services() -> dict[str, int]:
    """Each running OneStory service's resident memory now, in MB, by name."""
    found: dict[str, int] = {}
    for process in Path("/proc").glob("[0-9]*"):
        try:
            argv = (process / "cmdline").read_bytes().decode().split("\0")
            if _SERVE[0] not in argv:
                continue
            at = argv.index(_SERVE[0])
            if argv[at : at + 3] != _SERVE:
                continue
            status = (process / "status").read_text()
        except (OSError, ValueError):
            continue  # gone, or not ours to read
        kilobytes = next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
        )
        name = argv[at + 3]
        found[name] = max(found.get(name, 0), kilobytes // 1024)
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
