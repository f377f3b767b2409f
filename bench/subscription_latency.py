"""Commit-to-delivery latency of rest-hook subscriptions, against any FHIR base.

Starts a receiving endpoint in this process, subscribes to Observations with a fresh code,
writes ``--count`` Observations (``--concurrency`` at a time), and measures, for each event,
the time from the record's commit (the notification's event timestamp) to its arrival.

    python -m bench.subscription_latency --base http://127.0.0.1:8080/fhir --token "$TOKEN"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import socket
import statistics
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

RESULTS = Path(__file__).parent / "results"


class Endpoint:
    """The partner's side: notes when each event arrives."""

    def __init__(self) -> None:
        self.arrivals: dict[int, float] = {}
        self.committed: dict[int, float] = {}
        self.handshakes = 0

    async def hook(self, request: Request) -> Response:
        arrived = time.time()
        bundle = json.loads(await request.body() or b"{}")
        status = bundle.get("entry", [{}])[0].get("resource", {})
        if status.get("type") == "handshake":
            self.handshakes += 1
        for event in status.get("notificationEvent", []):
            number = int(event["eventNumber"])
            self.arrivals.setdefault(number, arrived)
            self.committed[number] = datetime.fromisoformat(event["timestamp"]).timestamp()
        return Response(status_code=200)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def measure(base: str, token: str, count: int, concurrency: int) -> dict[str, Any]:
    endpoint, port = Endpoint(), _free_port()
    app = Starlette(routes=[Route("/hook", endpoint.hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    async with httpx.AsyncClient(
        base_url=base.rstrip("/") + "/", headers=headers, timeout=60
    ) as client:
        code = f"bench-{uuid.uuid4().hex[:8]}"
        subscription = await _subscribe(client, code, f"http://127.0.0.1:{port}/hook")
        person = (await client.post("Patient", json={"resourceType": "Patient"})).json()["id"]
        gate = asyncio.Semaphore(concurrency)
        await asyncio.gather(*(_observe(client, gate, person, code) for _ in range(count)))
        await _arrived(endpoint, count, seconds=60)
        await client.delete(f"Subscription/{subscription}")
    server.should_exit = True
    await serving
    latencies = sorted(
        (endpoint.arrivals[n] - endpoint.committed[n]) * 1000 for n in endpoint.arrivals
    )
    return _summary(base, count, concurrency, latencies)


async def _arrived(endpoint: Endpoint, count: int, *, seconds: float) -> None:
    """Until every event has arrived, or ``seconds`` have passed."""
    deadline = time.time() + seconds
    while len(endpoint.arrivals) < count and time.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


async def _subscribe(client: httpx.AsyncClient, code: str, endpoint: str) -> str:
    extension = (
        "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content"
    )
    created = await client.post(
        "Subscription",
        json={
            "resourceType": "Subscription",
            "status": "requested",
            "reason": "latency benchmark",
            "criteria": f"Observation?code={code}",
            "channel": {
                "type": "rest-hook",
                "endpoint": endpoint,
                "payload": "application/fhir+json",
                "_payload": {"extension": [{"url": extension, "valueCode": "id-only"}]},
            },
        },
    )
    created.raise_for_status()
    subscription_id: str = created.json()["id"]
    for _ in range(200):
        if (await client.get(f"Subscription/{subscription_id}")).json()["status"] == "active":
            return subscription_id
        await asyncio.sleep(0.05)
    raise SystemExit("the subscription never became active")


async def _observe(
    client: httpx.AsyncClient, gate: asyncio.Semaphore, person: str, code: str
) -> None:
    async with gate:
        answer = await client.post(
            "Observation",
            json={
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "subject": {"reference": f"Patient/{person}"},
                "valueQuantity": {"value": 72, "unit": "/min"},
            },
        )
        answer.raise_for_status()


def _summary(base: str, count: int, concurrency: int, latencies: list[float]) -> dict[str, Any]:
    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0.0

    return {
        "measurement": "subscription commit-to-delivery latency (ms)",
        "base": base,
        "events_written": count,
        "events_delivered": len(latencies),
        "concurrency": concurrency,
        "median_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(percentile(0.95), 1),
        "max_ms": round(max(latencies, default=0), 1),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "when": datetime.now().isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--label", default="subscription-latency")
    args = parser.parse_args()
    result = asyncio.run(measure(args.base, args.token, args.count, args.concurrency))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.label}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
