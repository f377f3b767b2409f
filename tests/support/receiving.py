"""A partner's endpoint for subscription tests: a real process, and what it was sent."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from shared.notifications import Notification, read_notification
from tests.support.services import REPO, free_port


@dataclass
class Receiver:
    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.support.receiver:app",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        env = {**os.environ, "RECEIVER_DIR": str(self.folder)}
        self.process = subprocess.Popen(command, cwd=REPO, env=env)
        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).is_success:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("the receiver did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def failing(self, down: bool) -> None:
        flag = self.folder / "fail"
        if down:
            flag.touch()
        else:
            flag.unlink(missing_ok=True)

    def slow(self, seconds: float) -> None:
        """From now on, take ``seconds`` to answer each delivery."""
        (self.folder / "slow").write_text(str(seconds))

    def arrivals(self) -> int:
        """Deliveries that have arrived while slow (answered or not)."""
        path = self.folder / "arrivals"
        return len(path.read_bytes().splitlines()) if path.exists() else 0

    def deliveries(self) -> list[dict[str, Any]]:
        path = self.folder / "deliveries.jsonl"
        if not path.exists():
            return []
        return [orjson.loads(line) for line in path.read_bytes().splitlines() if line]

    def events(self, subscription_id: str) -> list[Notification]:
        """The event notifications for one subscription, repeats included, in arrival order."""
        found = []
        for delivery in self.deliveries():
            if delivery["body"] is None:
                continue
            notification = read_notification(delivery["body"])
            if (
                notification.kind == "event-notification"
                and notification.subscription == f"Subscription/{subscription_id}"
            ):
                found.append(notification)
        return found

    async def wait_for(
        self, subscription_id: str, count: int, seconds: float = 20.0
    ) -> list[Notification]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            events = self.events(subscription_id)
            if len({e.event_number for e in events}) >= count:
                return events
            await asyncio.sleep(0.05)
        return self.events(subscription_id)
