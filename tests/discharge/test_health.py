"""The discharge service's readiness includes its board's read model: its own database, at
the newest of its migrations."""

from __future__ import annotations

import httpx

from tests.discharge.conftest import DischargeHub


def test_given_the_hub_running_then_ready_with_its_read_model_at_head(hub: DischargeHub) -> None:
    ready = httpx.get(f"http://127.0.0.1:{hub.discharge.port}/health/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"credentials": "ok", "database": "ok"}
