"""The triage process: notifications in, decisions out, and the clinician's and the queue's
endpoints. Everything it reads and writes goes through the gateway with its own credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from services.triage import reporting, rules
from services.triage.clock import breaches
from services.triage.intake import process_message
from services.triage.queue import waiting
from services.triage.settings import TriageSettings
from services.triage.subscriptions import SECRET_HEADER, subscribe
from services.triage.triaging import Triage
from shared.auth.credentials import ServiceCredentials
from shared.auth.dependency import OPEN_PATHS, RequireToken, require, verifier_from_settings
from shared.errors import FhirError, bad_request
from shared.fhir.validation import parse_json
from shared.fhirclient import FhirClient
from shared.http.correlation import CorrelationId
from shared.http.errors import install_error_handlers
from shared.http.fhirjson import negotiate, require_content_type
from shared.http.limits import BodySizeLimit
from shared.http.routes import ROUTES_PATH, RouteDeclaration, declare_routes
from shared.notifications import read_notification
from shared.telemetry import TelemetryMiddleware, flush_telemetry, setup_telemetry

log = logging.getLogger("onestory.triage")
VIEWS = ("queue", "breaches", "figures")  # reachable through the gateway too
NOTIFICATIONS = ("/triage/notifications/referrals", "/triage/notifications/rejections")


# What this service adds to the gateway's CapabilityStatement.
CAPABILITIES = {
    "resourceType": "CapabilityStatement",
    "status": "active",
    "date": "2026-11-22",
    "kind": "instance",
    "fhirVersion": "4.3.0",
    "format": ["json"],
    "rest": [
        {
            "mode": "server",
            "operation": [
                {
                    "name": "process-message",
                    "definition": "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message",
                    "documentation": "A referral as a message (event servicerequest-request)",
                }
            ],
            "resource": [
                {
                    "type": "ServiceRequest",
                    "operation": [
                        {
                            "name": "triage",
                            "definition": "https://onestory.example.nhs.uk/OperationDefinition/triage",
                            "documentation": "A clinician confirms or overrides the routing",
                        }
                    ],
                },
                {
                    "type": "Measure",
                    "operation": [
                        {
                            "name": "evaluate-measure",
                            "definition": "http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure",
                            "documentation": (
                                "Measure/single-point-of-access: the figures for a period "
                                "(periodStart, periodEnd) as a summary MeasureReport"
                            ),
                        }
                    ],
                },
            ],
        }
    ],
}


class Clock:
    """The service's time: the real clock, moved on by ``offset`` in tests only."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def create_app(settings: TriageSettings | None = None) -> FastAPI:
    settings = settings or TriageSettings()
    setup_telemetry("triage", settings)
    try:
        table = rules.load_table(settings.decision_table)
        rules.check_deadline_overrides(settings.triage_deadlines)
    except ValueError as error:  # DecisionTableError included
        raise SystemExit(f"triage will not start: {error}") from error
    credentials = ServiceCredentials(
        settings, client_id=settings.triage_client_id, scope="system/*.cruds"
    )
    client = FhirClient(settings.gateway_url, credentials)
    clock = Clock()
    triage = Triage(client, table, clock, dict(settings.triage_deadlines))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        subscribing = asyncio.create_task(_keep_subscribing(app, client, settings))
        watching = asyncio.create_task(_watch_the_clock(client, clock))
        yield
        for task in (subscribing, watching):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await client.close()
        flush_telemetry()

    app = FastAPI(
        title="OneStory single point of access",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.triage = triage
    app.state.subscribed = False
    install_error_handlers(app)

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse(
            {
                "status": "ok",
                "service": "triage",
                "decision_table": table.version,
                "subscribed": app.state.subscribed,
            }
        )

    @app.get("/fhir/metadata")
    async def metadata(request: Request) -> Response:
        return negotiate(request).response(CAPABILITIES)

    @app.post(NOTIFICATIONS[0])
    async def referral_notified(request: Request) -> Response:
        focus = await _notified_focus(request, settings)
        if focus:
            await triage.referral_arrived(focus.split("/")[1])
        return Response(status_code=200)

    @app.post(NOTIFICATIONS[1])
    async def rejection_notified(request: Request) -> Response:
        focus = await _notified_focus(request, settings)
        if focus:
            await triage.task_rejected(focus.split("/")[1])
        return Response(status_code=200)

    @app.post("/fhir/$process-message")
    async def message(request: Request) -> Response:
        require(request.state.principal, "ServiceRequest", "c")
        require_content_type(request)
        answer = await process_message(client, await request.body(), received=clock())
        return negotiate(request).response(answer)

    @app.post("/fhir/ServiceRequest/{request_id}/$triage")
    async def clinician_triage(request_id: str, request: Request) -> Response:
        principal = request.state.principal
        require(principal, "Task", "u")
        require_content_type(request)
        route, reason = _triage_parameters(parse_json(await request.body()))
        clinician = principal.fhir_user or principal.subject
        task = await triage.clinician_decided(
            request_id, route=route, reason=reason, clinician=clinician
        )
        return negotiate(request).response(task)

    @app.get("/triage/queue")
    async def queue(request: Request) -> JSONResponse:
        require(request.state.principal, "Task", "s")
        _only(request)
        return JSONResponse(await waiting(client, now=clock()))

    @app.get("/triage/breaches")
    async def breached(request: Request) -> JSONResponse:
        require(request.state.principal, "Task", "s")
        _only(request)
        return JSONResponse(await breaches(client, now=clock()))

    @app.get("/triage/figures")
    async def figures(request: Request) -> JSONResponse:
        require(request.state.principal, "Task", "s")
        first, last = _period(request, "start", "end")
        found = await reporting.figures_for(client, first_day=first, last_day=last, now=clock())
        return JSONResponse(reporting.as_json(found, first_day=first, last_day=last))

    @app.get(f"/fhir/Measure/{reporting.MEASURE_ID}/$evaluate-measure")
    async def evaluate_measure(request: Request) -> Response:
        require(request.state.principal, "MeasureReport", "r")
        first, last = _period(request, "periodStart", "periodEnd", "reportType")
        if request.query_params.get("reportType", "population") != "population":
            raise bad_request("This Measure reports on the population only (reportType=population)")
        found = await reporting.figures_for(client, first_day=first, last_day=last, now=clock())
        report = reporting.measure_report(found, first_day=first, last_day=last, now=clock())
        return negotiate(request).response(report)

    @app.put("/triage/clock")
    async def move_clock(request: Request) -> JSONResponse:
        if settings.environment != "test":
            raise FhirError(404, "Not found", code="not-found")
        clock.offset = timedelta(seconds=float(parse_json(await request.body())["offset_seconds"]))
        return JSONResponse({"now": clock().isoformat()})

    declare_routes(
        app,
        "triage",
        [
            RouteDeclaration("/fhir/$process-message", ("POST",)),
            RouteDeclaration("/fhir/ServiceRequest/{id}/$triage", ("POST",)),
            RouteDeclaration(f"/fhir/Measure/{reporting.MEASURE_ID}/$evaluate-measure", ("GET",)),
            *(RouteDeclaration(f"/triage/{view}", ("GET",)) for view in VIEWS),
        ],
    )
    app.add_middleware(
        RequireToken,
        verifier=verifier_from_settings(settings),
        open_paths=(*OPEN_PATHS, ROUTES_PATH, "/fhir/metadata", *NOTIFICATIONS),
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(CorrelationId)
    app.add_middleware(TelemetryMiddleware, service_name="triage")
    return app


async def _notified_focus(request: Request, settings: TriageSettings) -> str | None:
    """The resource a notification is about; 403 unless the record sent it."""
    sent = request.headers.get(SECRET_HEADER, "")
    if not secrets.compare_digest(sent, settings.triage_notification_secret):
        raise FhirError(
            403, "Notifications come from the record, with its secret", code="forbidden"
        )
    notification = read_notification(await request.body())
    if notification.kind != "event-notification" or not notification.focus:
        return None
    return notification.focus.split("/_history")[0]


def _only(request: Request, *names: str) -> None:
    """400 for a query parameter the endpoint does not take (never silently ignored)."""
    allowed = {*names, "_format", "_pretty"}
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise bad_request(
            f"Unknown parameter {unknown[0]!r}: {request.url.path} takes "
            + (", ".join(sorted(allowed)))
        )


def _period(request: Request, start: str, end: str, *optional: str) -> tuple[date, date]:
    """The period a report is asked for."""
    _only(request, start, end, *optional)
    return reporting.period_of(dict(request.query_params), start_name=start, end_name=end)


def _triage_parameters(body: Any) -> tuple[str | None, str | None]:
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise bad_request("$triage takes a Parameters resource")
    values: dict[str, Any] = {}
    for parameter in body.get("parameter") or []:
        name = parameter.get("name") if isinstance(parameter, dict) else None
        if name not in ("decision", "route", "reason"):
            raise bad_request(f"$triage takes decision, route and reason, not {name!r}")
        values[name] = next((v for k, v in parameter.items() if k.startswith("value")), None)
    decision = values.get("decision")
    if decision not in ("confirm", "override"):
        raise bad_request("decision must be valueCode confirm or override", code="required")
    if decision == "confirm":
        return None, values.get("reason")
    if not isinstance(values.get("route"), str):
        raise bad_request("An override names the route (valueCode)", code="required")
    return values["route"], values.get("reason")


async def _watch_the_clock(client: FhirClient, clock: Clock, every: float = 60.0) -> None:
    """Escalate breached routings every minute, whether or not anyone looks."""
    while True:
        await asyncio.sleep(every)
        try:
            await breaches(client, now=clock())
        except Exception as error:  # the gateway may be restarting: try again next minute
            log.warning("could not check the response clock: %s", type(error).__name__)


async def _keep_subscribing(app: FastAPI, client: FhirClient, settings: TriageSettings) -> None:
    """Subscribe as soon as the gateway answers (it may start after this service)."""
    delay = 0.2
    while True:
        try:
            await subscribe(client, settings.triage_public_url, settings.triage_notification_secret)
            await reporting.ensure_measure(client)
            app.state.subscribed = True
            log.info("subscribed to new referrals and returned tasks")
            return
        except (FhirError, OSError) as error:
            log.info("not subscribed yet (%s); trying again", error)
        except Exception as error:  # httpx transport errors while the gateway starts
            log.info("not subscribed yet (%s); trying again", type(error).__name__)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)
