"""A domain service's probes: live while it answers, ready once it holds its own token."""

from __future__ import annotations

import httpx

from tests.triage.conftest import Spa


def test_given_triage_running_then_live_and_ready_without_a_token(spa: Spa) -> None:
    base = f"http://127.0.0.1:{spa.triage.port}"
    assert httpx.get(f"{base}/health/live", timeout=10).json()["status"] == "live"
    ready = httpx.get(f"{base}/health/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"credentials": "ok"}
    assert httpx.get(f"{base}/health", timeout=10).json()["subscribed"] is True
