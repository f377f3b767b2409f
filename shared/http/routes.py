"""Services declare the routes they answer; the gateway builds its routing table from them.

A service mounts ``GET /_onestory/routes`` with ``declare_routes``; nothing about a service's
routes is written in the gateway.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from fastapi import FastAPI
from starlette.responses import JSONResponse

ROUTES_PATH = "/_onestory/routes"


@dataclass(frozen=True, slots=True)
class RouteDeclaration:
    """``path`` in Starlette form: ``/fhir/ServiceRequest/{id}/$triage`` or
    ``/fhir/{rest:path}`` (any depth). ``methods`` of ("*",) means every method."""

    path: str
    methods: tuple[str, ...] = ("*",)
    timeout_seconds: float = 30.0


def declare_routes(app: FastAPI, service: str, routes: list[RouteDeclaration]) -> None:
    body = {"service": service, "routes": [asdict(route) for route in routes]}

    @app.get(ROUTES_PATH, include_in_schema=False)
    async def declared_routes() -> JSONResponse:
        return JSONResponse(body)
