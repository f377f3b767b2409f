"""Where the benchmark's figures go: one JSON file per measurement under bench/results/, each
saying when and on what machine it was measured."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def machine() -> str:
    """The machine in a line: cores, memory, processor, Python."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores, {memory:.0f} GiB, {platform.machine()}, "
        f"{platform.system()} {platform.release().split('-')[0]}, "
        f"Python {platform.python_version()}"
    )


def save(name: str, figures: dict[str, Any]) -> dict[str, Any]:
    """``figures`` stamped with the time and machine, written to bench/results/<name>.json."""
    stamped = {
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **figures,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(stamped, indent=2) + "\n")
    return stamped
