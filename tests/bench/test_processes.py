"""The benchmark's view of OneStory's processes on this machine: found by their command line,
their memory read from /proc, and a wait for them to go quiet that ends."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from bench import processes


@pytest.fixture
def busy_service() -> Iterator[str]:
    """A process that looks like `onestory serve NAME` and spins a core."""
    name = f"bench-probe-{time.monotonic_ns()}"
    spinning = subprocess.Popen(
        [sys.executable, "-c", "while True: pass", "-m", "shared.cli", "serve", name]
    )
    time.sleep(0.3)
    yield name
    spinning.kill()
    spinning.wait()


def test_given_a_service_running_when_looked_for_then_its_memory_is_read(busy_service: str) -> None:
    assert processes.services()[busy_service] > 0


def test_given_a_busy_service_when_waiting_for_quiet_then_the_wait_gives_up_in_time(
    busy_service: str,
) -> None:
    waited = processes.wait_until_quiet(at_most=2.0)

    assert 2.0 <= waited < 4.0


def test_given_a_watch_when_stopped_then_it_names_the_peak_of_each_service(
    busy_service: str,
) -> None:
    watch = processes.Watch(interval=0.1)
    time.sleep(0.5)

    assert watch.stop()[busy_service] > 0
