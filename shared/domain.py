"""What every domain service (triage, caseload, discharge, the register) is built on: its own
credentials and FHIR client of the gateway, an injectable clock, the rest-hook Subscriptions
it makes in the record and the notifications they bring, and one FastAPI app with the same
front matter (health, CapabilityStatement, token, body limit, correlation id, telemetry).

Readiness (``/health/ready``, ``shared.health``): a domain service is ready once its settings
have loaded (it would not have started otherwise), it holds its own access token, and whatever
it adds answers (the discharge board's database, at its newest migration). Whether the gateway
answers is not part of it: the gateway's own readiness says that, and a service is still of
use (its notifications queue in the record) while the gateway restarts.

A domain service keeps no copy of any resource: it reads and writes the record through the
gateway in its own name, and learns of changes by Subscription, never by polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from shared.auth.credentials import ServiceCredentials
from shared.auth.dependency import OPEN_PATHS, RequireToken, verifier_from_settings
from shared.errors import FhirError, bad_request
from shared.fhir.dates import stamp
from shared.fhir.terms import BASE
from shared.fhir.validation import parse_json
from shared.fhirclient import FhirClient
from shared.health import Check, mount_health
from shared.http.correlation import CorrelationId
from shared.http.errors import install_error_handlers
from shared.http.fhirjson import negotiate
from shared.http.limits import BodySizeLimit
from shared.http.routes import ROUTES_PATH, RouteDeclaration, declare_routes
from shared.notifications import read_notification
from shared.settings import Settings
from shared.telemetry import (
    FASTAPI_TELEMETRY_OFF,
    TelemetryMiddleware,
    flush_telemetry,
    setup_telemetry,
)

PAYLOAD_CONTENT = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content"
)
SECRET_HEADER = "X-OneStory-Notification-Secret"
Background = Callable[[], Coroutine[Any, Any, None]]


class DomainSettings(Settings):
    """What every domain service is configured with, besides its own settings."""

    # The gateway's FHIR base: every read and write of the record goes through it.
    gateway_url: str = "http://127.0.0.1:8080/fhir"
    max_body_bytes: int = 2 * 1024 * 1024


class Clock:
    """The service's time: the real clock, moved on by ``offset`` in tests only."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass(frozen=True, slots=True)
class Wanted:
    """A Subscription a service wants: notifications of ``criteria`` POSTed to ``path``."""

    path: str  # under the service's public URL
    criteria: str
    reason: str


@dataclass
class DomainService:
    """One domain service's parts; ``app()`` builds its FastAPI application."""

    name: str
    title: str
    settings: DomainSettings
    client_id: str
    public_url: str
    notification_secret: str
    capabilities: dict[str, Any]
    wanted: Sequence[Wanted] = ()
    routes: list[RouteDeclaration] = field(default_factory=list)
    on_start: list[Background] = field(default_factory=list)  # before the first request
    on_stop: list[Background] = field(default_factory=list)  # after the last
    background: list[Background] = field(default_factory=list)  # run for the app's lifetime
    on_subscribed: list[Background] = field(default_factory=list)  # once, after subscribing
    clock: Clock = field(default_factory=Clock)
    ready_checks: dict[str, Check] = field(default_factory=dict)  # besides its credentials

    def __post_init__(self) -> None:
        setup_telemetry(self.name, self.settings)
        credentials = ServiceCredentials(
            self.settings, client_id=self.client_id, scope="system/*.cruds"
        )
        self.client = FhirClient(str(self.settings.gateway_url), credentials)
        self.log = logging.getLogger(f"onestory.{self.name}")

    def app(self, **health: Any) -> FastAPI:
        app = FastAPI(
            title=self.title,
            telemetry=FASTAPI_TELEMETRY_OFF,
            lifespan=self._lifespan,
            docs_url=None,
            redoc_url=None,
            openapi_url=None,
        )
        app.state.subscribed = not self.wanted
        install_error_handlers(app)
        self._front_matter(app, health)
        return app

    def finish(self, app: FastAPI) -> FastAPI:
        """Declare the routes and wrap the app once every endpoint is mounted."""
        declare_routes(app, self.name, self.routes)
        notifications = tuple(wanted.path for wanted in self.wanted)
        app.add_middleware(
            RequireToken,
            verifier=verifier_from_settings(self.settings),
            open_paths=(*OPEN_PATHS, ROUTES_PATH, "/fhir/metadata", *notifications),
        )
        app.add_middleware(BodySizeLimit, max_bytes=int(self.settings.max_body_bytes))
        app.add_middleware(CorrelationId)
        app.add_middleware(TelemetryMiddleware, service_name=self.name)
        return app

    async def notified_focus(self, request: Request) -> str | None:
        """The resource a notification is about (no version); 403 unless the record sent it."""
        sent = request.headers.get(SECRET_HEADER, "")
        if not secrets.compare_digest(sent, self.notification_secret):
            raise FhirError(
                403, "Notifications come from the record, with its secret", code="forbidden"
            )
        notification = read_notification(await request.body())
        if notification.kind != "event-notification" or not notification.focus:
            return None
        return notification.focus.split("/_history")[0]

    async def subscribe(self) -> None:
        """Make sure the record tells this service what it wants: a conditional update on each
        endpoint, so replicas and restarts share one Subscription and new criteria reach it."""
        for wanted in self.wanted:
            endpoint = self.public_url.rstrip("/") + wanted.path
            await self.client.request(
                "PUT",
                "Subscription",
                params={"url": endpoint},
                body=_subscription(wanted, endpoint, self.title, self.notification_secret),
            )

    @asynccontextmanager
    async def _lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        for step in self.on_start:
            await step()
        running = [asyncio.create_task(self._keep_subscribing(app))]
        running += [asyncio.create_task(job()) for job in self.background]
        yield
        for task in running:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for step in self.on_stop:
            await step()
        await self.client.close()
        flush_telemetry()

    async def _keep_subscribing(self, app: FastAPI) -> None:
        """Subscribe as soon as the gateway answers (it may start after this service)."""
        delay = 0.2
        while True:
            try:
                await self.subscribe()
                for step in self.on_subscribed:
                    await step()
                app.state.subscribed = True
                self.log.info("subscribed to what %s is told of", self.name)
                return
            except Exception as error:  # the gateway may still be starting: try again
                self.log.info("not subscribed yet (%s); trying again", type(error).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _holds_credentials(self) -> str | None:
        try:
            await self.client.credentials.token()
        except Exception as error:  # the identity provider refused or did not answer
            return f"no access token for {self.client_id} ({type(error).__name__})"
        return None

    def _front_matter(self, app: FastAPI, health: dict[str, Any]) -> None:
        mount_health(
            app,
            self.name,
            {"credentials": self._holds_credentials, **self.ready_checks},
            lambda: {**health, "subscribed": app.state.subscribed},
        )

        @app.get("/fhir/metadata")
        async def metadata(request: Request) -> Response:
            return negotiate(request).response(self.capabilities)

        @app.put(f"/{self.name}/clock")
        async def move_clock(request: Request) -> JSONResponse:
            if self.settings.environment != "test":
                raise FhirError(404, "Not found", code="not-found")
            body = parse_json(await request.body())
            offset = body.get("offset_seconds") if isinstance(body, dict) else None
            if not isinstance(offset, int | float):
                raise bad_request('Send {"offset_seconds": N}')
            self.clock.offset = timedelta(seconds=float(offset))
            return JSONResponse({"now": self.clock().isoformat()})


def provenance(by: str, why: list[str], now: datetime, application: str) -> dict[str, Any]:
    """A Provenance for a decision made through a domain service: who decided (the caller,
    by their FHIR user, else their name), the service as the application, and why."""
    participant = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
    who = {"reference": by} if by.startswith("Practitioner/") else {"display": by}
    return {
        "resourceType": "Provenance",
        "recorded": stamp(now),
        "agent": [
            {"type": {"coding": [{"system": participant, "code": "author"}]}, "who": who},
            {
                "type": {"coding": [{"system": participant, "code": "assembler"}]},
                "who": {"display": f"application {application}"},
            },
        ],
        "reason": [{"text": text} for text in why],
    }


@dataclass(frozen=True, slots=True)
class Operation:
    """An operation a service adds to the gateway's CapabilityStatement."""

    name: str
    documentation: str
    definition: str = ""  # the OperationDefinition's canonical; OneStory's own by default

    def statement(self) -> dict[str, str]:
        canonical = self.definition or f"{BASE}/OperationDefinition/{self.name}"
        return {"name": self.name, "definition": canonical, "documentation": self.documentation}


def capabilities(
    by_type: dict[str, list[Operation]], system: list[Operation] | None = None
) -> dict[str, Any]:
    """What a service adds to the gateway's CapabilityStatement: its operations, by type."""
    rest: dict[str, Any] = {
        "mode": "server",
        "resource": [
            {"type": kind, "operation": [o.statement() for o in operations]}
            for kind, operations in by_type.items()
        ],
    }
    if system:
        rest["operation"] = [o.statement() for o in system]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-04",
        "kind": "instance",
        "fhirVersion": "4.3.0",
        "format": ["json"],
        "rest": [rest],
    }


def evaluate_measure(measure_id: str) -> Operation:
    return Operation(
        "evaluate-measure",
        f"Measure/{measure_id}: the figures for a period (periodStart, periodEnd) as a "
        "summary MeasureReport",
        "http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure",
    )


def notification_route(
    app: FastAPI, service: DomainService, path: str, handle: Callable[..., Any]
) -> None:
    """POST ``path``: a notification from the record; ``handle`` gets the focus's id."""

    @app.post(path)
    async def notified(request: Request) -> Response:
        focus = await service.notified_focus(request)
        if focus:
            await handle(focus.split("/")[1])
        return Response(status_code=200)


def told_now(
    handle: Callable[..., Coroutine[Any, Any, None]], clock: Clock
) -> Callable[[str], Coroutine[Any, Any, None]]:
    """A notification handler taking ``now``, as one ``notification_route`` can call."""

    async def told(resource_id: str) -> None:
        await handle(resource_id, now=clock())

    return told


def decided_by(request: Request) -> str:
    """Who is deciding: the caller's FHIR user (Practitioner/...), else the token's subject."""
    principal = request.state.principal
    return str(principal.fhir_user or principal.subject)


def only(request: Request, *names: str) -> None:
    """400 for a query parameter an endpoint does not take (never silently ignored)."""
    allowed = {*names, "_format", "_pretty"}
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise bad_request(
            f"Unknown parameter {unknown[0]!r}: {request.url.path} takes "
            + ", ".join(sorted(allowed))
        )


async def every(seconds: float, job: Background, log: logging.Logger, what: str) -> None:
    """Run ``job`` every ``seconds`` for the service's lifetime; a failure waits for the next
    turn (the gateway may be restarting)."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception as error:
            log.warning("could not %s: %s", what, type(error).__name__)


def _subscription(wanted: Wanted, endpoint: str, title: str, secret: str) -> dict[str, Any]:
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": f"{title}: {wanted.reason}",
        "criteria": wanted.criteria,
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": PAYLOAD_CONTENT, "valueCode": "id-only"}]},
            "header": [f"{SECRET_HEADER}: {secret}"],
        },
    }
