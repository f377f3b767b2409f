"""Health for probes: is the process alive, and is it ready for traffic?

Every OneStory process answers, without a token:

- ``GET /health/live``: 200 while the process answers at all (a liveness probe restarts it
  otherwise). It checks nothing else, so a database outage never restarts every replica.
- ``GET /health/ready``: 200 when everything the process needs answers (its database, at the
  newest migration; whatever else the service names), else 503 with an OperationOutcome naming
  each thing that is not ready. A readiness probe takes the replica out of the load balancer
  meanwhile, and puts it back when it recovers.
- ``GET /health``: the service's facts (what tools such as ``onestory up`` wait for).

Readiness checks only what the process cannot work without, and each check is bounded in time,
so readiness does not flap with a dependency that is merely slow or optional.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI
from starlette.responses import JSONResponse

from shared.storage.database import Database

# A check answers None when ready, else what is wrong (for people: no secrets, no patient data).
Check = Callable[[], Awaitable[str | None]]
Facts = Callable[[], Mapping[str, Any]]
LIVE, READY = "/health/live", "/health/ready"
CHECK_SECONDS = 3.0


def database_ready(database: Database, *, migrate_with: str = "onestory migrate") -> Check:
    """Ready when the database answers and its schema is at the newest migration."""
    heads = database.head_revisions()

    async def check() -> str | None:
        try:
            applied = await database.applied_revisions()
        except Exception as error:  # any failure to answer is "not ready", named by its kind
            return f"the database does not answer ({type(error).__name__})"
        if applied != heads:
            at = ", ".join(sorted(applied)) or "no migration"
            return (
                f"the database is at {at}, not the newest migration "
                f"({', '.join(sorted(heads))}): run {migrate_with}"
            )
        return None

    return check


async def readiness(checks: Mapping[str, Check]) -> dict[str, str | None]:
    """Every check's answer, run together, each within ``CHECK_SECONDS``."""

    async def bounded(check: Check) -> str | None:
        try:
            async with asyncio.timeout(CHECK_SECONDS):
                return await check()
        except TimeoutError:
            return f"no answer within {CHECK_SECONDS:g} s"

    answers = await asyncio.gather(*(bounded(check) for check in checks.values()))
    return dict(zip(checks, answers, strict=True))


def mount_health(
    app: FastAPI, service: str, checks: Mapping[str, Check], facts: Facts = dict
) -> None:
    """Add ``/health``, ``/health/live`` and ``/health/ready`` to ``app``."""

    @app.get("/health")
    async def healthy() -> JSONResponse:
        return JSONResponse({"status": "ok", "service": service, **facts()})

    @app.get(LIVE)
    async def live() -> JSONResponse:
        return JSONResponse({"status": "live", "service": service})

    @app.get(READY)
    async def ready() -> JSONResponse:
        answers = await readiness(checks)
        problems = {name: problem for name, problem in answers.items() if problem}
        if not problems:
            return JSONResponse(
                {"status": "ready", "service": service, "checks": dict.fromkeys(answers, "ok")}
            )
        issues = [
            {"severity": "error", "code": "transient", "diagnostics": f"{name}: {problem}"}
            for name, problem in problems.items()
        ]
        return JSONResponse(
            {"resourceType": "OperationOutcome", "issue": issues},
            status_code=503,
            media_type="application/fhir+json",
            headers={"Retry-After": "5"},
        )
