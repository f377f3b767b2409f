"""The gateway process: public routes first, then everything under /fhir through the pipeline."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from gateway import capability, devauth, forwarding, pipeline, views
from gateway.audit import AuditQueue
from gateway.call import GatewayState
from gateway.guards import ConsentCache
from gateway.idempotency import IdempotencyStore
from gateway.ratelimit import RateLimiter
from gateway.recordclient import RecordClient
from gateway.relationships import Relationships
from gateway.routing import Route, RouteTable, compile_route
from gateway.settings import GatewaySettings
from gateway.summary import asks_for_page
from gateway.upstream import Upstream
from shared.auth.credentials import ServiceCredentials
from shared.auth.dependency import verifier_from_settings
from shared.errors import FhirError
from shared.health import Check, database_ready, mount_health
from shared.http.errors import install_error_handlers
from shared.http.fhirjson import error_response, negotiate
from shared.http.limits import BodySizeLimit
from shared.http.routes import ROUTES_PATH
from shared.storage.database import Database
from shared.telemetry import (
    FASTAPI_TELEMETRY_OFF,
    TelemetryMiddleware,
    flush_telemetry,
    setup_telemetry,
)

log = logging.getLogger("onestory.gateway")
MIGRATIONS = Path(__file__).parent / "migrations"
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def gateway_database(settings: GatewaySettings) -> Database:
    return Database(
        settings.gateway_database_url,
        migrations=MIGRATIONS,
        version_table="alembic_version_gateway",
    )


async def load_routes(
    upstream: Upstream, settings: GatewaySettings, previous: RouteTable
) -> RouteTable:
    """Ask every service for its routes; a service that does not answer keeps its old ones."""
    routes: list[Route] = []
    for service, base_url in settings.services.items():
        try:
            answer = await upstream.client.get(base_url.rstrip("/") + ROUTES_PATH, timeout=3)
            answer.raise_for_status()
            routes += [compile_route(service, base_url, r) for r in answer.json()["routes"]]
        except (httpx.HTTPError, ValueError, KeyError):
            routes += [r for r in previous.routes if r.service == service]
    return RouteTable(routes)


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    setup_telemetry("gateway", settings)
    database = gateway_database(settings)
    upstream = Upstream(connect_timeout=settings.connect_timeout_seconds)
    credentials = ServiceCredentials(settings, client_id="onestory-gateway", scope="system/*.cruds")
    holder: dict[str, Any] = {"routes": RouteTable()}
    record = RecordClient(upstream, lambda: holder["routes"], credentials.token)
    audit = AuditQueue(database)
    state = GatewayState(
        routes=holder["routes"],
        upstream=upstream,
        verifier=verifier_from_settings(settings),
        limiter=RateLimiter(settings.rate_limit_per_minute),
        idempotency=IdempotencyStore(database, window_hours=settings.idempotency_hours),
        audit=audit,
        record=record,
        relationships=Relationships(record),
        consents=ConsentCache(record),
    )

    async def refresh_routes() -> None:
        while True:
            holder["routes"] = state.routes = await load_routes(upstream, settings, state.routes)
            # Until every service has answered, ask again soon: they start together.
            complete = state.routes.services >= set(settings.services)
            await asyncio.sleep(settings.route_refresh_seconds if complete else 0.5)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await database.migrate()
        devauth.prepare(settings)
        routing = asyncio.create_task(refresh_routes())
        auditing = asyncio.create_task(audit.run(record.write_batch))
        yield
        await audit.stop(auditing, grace_seconds=settings.shutdown_grace_seconds)
        routing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await routing
        await upstream.close()
        await database.dispose()
        flush_telemetry()

    app = FastAPI(
        title="OneStory gateway",
        telemetry=FASTAPI_TELEMETRY_OFF,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.gateway = state
    install_error_handlers(app)
    mount_health(
        app,
        "gateway",
        {"database": database_ready(database), "routes": _routes_known(state)},
        lambda: {"routes": sorted(state.routes.services)},
    )
    _public_routes(app, settings, state)
    devauth.mount(app, settings)

    @app.api_route("/fhir", methods=_METHODS)
    @app.api_route("/fhir/{path:path}", methods=_METHODS)
    async def fhir(request: Request) -> Response:
        try:
            if not asks_for_page(request):
                negotiate(request)
            response = await pipeline.handle(state, request)
        except FhirError as error:  # refusals carry the caller's ids too
            response = error_response(error)
        return _echo_ids(request, response)

    @app.api_route("/{path:path}", methods=_METHODS)
    async def view(request: Request) -> Response:
        """A service's own view (declared outside /fhir), or 404."""
        try:
            response = await views.handle(state, request)
        except FhirError as error:
            response = error_response(error)
        return _echo_ids(request, response)

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(TelemetryMiddleware, service_name="gateway")
    return app


def _echo_ids(request: Request, response: Response) -> Response:
    """X-Correlation-Id (the caller's, or the one made for this request) and X-Request-Id."""
    response.headers["x-correlation-id"] = forwarding.correlation_id(request)
    if request_id := request.headers.get("x-request-id"):
        response.headers["x-request-id"] = request_id
    return response


def _routes_known(state: GatewayState) -> Check:
    """Ready once the record has declared its routes: without them every FHIR call would fail.
    Other services' routes are not waited for (the gateway answers 503 for theirs alone), and
    routes once known are kept while a service is away, so this does not flap."""

    async def check() -> str | None:
        if "record" in state.routes.services:
            return None
        return "the record has not declared its routes yet (is it running?)"

    return check


def _public_routes(app: FastAPI, settings: GatewaySettings, state: GatewayState) -> None:
    cache: dict[str, Any] = {}

    @app.get("/.well-known/smart-configuration")
    async def smart_configuration() -> JSONResponse:
        return JSONResponse(capability.smart_configuration(settings))

    @app.get("/fhir/metadata")
    async def metadata(request: Request) -> Response:
        fmt = negotiate(request)
        base_url = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}/fhir"
        if cache.get("expires", 0) < time.monotonic() or cache.get("base") != base_url:
            cache["statement"] = capability.merged(
                await _statements(state, settings), settings, base_url
            )
            cache["base"], cache["expires"] = base_url, time.monotonic() + 60
        return fmt.response(cache["statement"])


async def _statements(state: GatewayState, settings: GatewaySettings) -> list[dict[str, Any]]:
    statements = []
    for service, base_url in settings.services.items():
        try:
            answer = await state.upstream.client.get(
                f"{base_url.rstrip('/')}/fhir/metadata", timeout=10
            )
            answer.raise_for_status()
            statements.append(answer.json())
        except (httpx.HTTPError, ValueError):
            log.warning("no CapabilityStatement from %s", service)
    if not statements:
        raise FhirError(503, "No service has published its capabilities yet", code="transient")
    return statements
