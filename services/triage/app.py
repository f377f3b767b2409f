"""The triage process: notifications in, decisions out, and the clinician's and the queue's
endpoints. Everything it reads and writes goes through the gateway with its own credentials.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from services.triage import reporting, rules
from services.triage.clock import breaches
from services.triage.intake import process_message
from services.triage.queue import waiting
from services.triage.settings import TriageSettings
from services.triage.subscriptions import WANTED
from services.triage.triaging import Triage
from shared.auth.dependency import require
from shared.domain import DomainService, Operation, capabilities, evaluate_measure, every, only
from shared.errors import bad_request
from shared.fhir.measures import period_of
from shared.fhir.parameters import read_parameters
from shared.http.fhirjson import negotiate, require_content_type
from shared.http.routes import RouteDeclaration

VIEWS = ("queue", "breaches", "figures")  # reachable through the gateway too
TRIAGE_TAKES = {"decision": "Code", "route": "Code", "reason": "String"}


CAPABILITIES = capabilities(
    {
        "ServiceRequest": [
            Operation("triage", "A clinician confirms or overrides the routing"),
        ],
        "Measure": [evaluate_measure(reporting.MEASURE.id)],
    },
    system=[
        Operation(
            "process-message",
            "A referral as a message (event servicerequest-request)",
            "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message",
        )
    ],
)


def create_app(settings: TriageSettings | None = None) -> FastAPI:
    settings = settings or TriageSettings()
    try:
        table = rules.load_table(settings.decision_table)
        rules.check_deadline_overrides(settings.triage_deadlines)
    except ValueError as error:  # DecisionTableError included
        raise SystemExit(f"triage will not start: {error}") from error
    service = DomainService(
        name="triage",
        title="OneStory single point of access",
        settings=settings,
        client_id=settings.triage_client_id,
        public_url=settings.triage_public_url,
        notification_secret=settings.triage_notification_secret,
        capabilities=CAPABILITIES,
        wanted=WANTED,
        routes=[
            RouteDeclaration("/fhir/$process-message", ("POST",)),
            RouteDeclaration("/fhir/ServiceRequest/{id}/$triage", ("POST",)),
            RouteDeclaration(f"/fhir/Measure/{reporting.MEASURE_ID}/$evaluate-measure", ("GET",)),
            *(RouteDeclaration(f"/triage/{view}", ("GET",)) for view in VIEWS),
        ],
    )
    client, clock = service.client, service.clock
    triage = Triage(client, table, clock, dict(settings.triage_deadlines))

    async def escalate() -> None:
        await breaches(client, now=clock())

    async def watch_the_clock() -> None:
        """Escalate breached routings every minute, whether or not anyone looks."""
        await every(60.0, escalate, service.log, "check the response clock")

    async def ensure_measure() -> None:
        await reporting.MEASURE.ensure(client)

    service.background.append(watch_the_clock)
    service.on_subscribed.append(ensure_measure)
    app = service.app(decision_table=table.version)
    app.state.triage = triage

    @app.post(WANTED[0].path)
    async def referral_notified(request: Request) -> Response:
        focus = await service.notified_focus(request)
        if focus:
            await triage.referral_arrived(focus.split("/")[1])
        return Response(status_code=200)

    @app.post(WANTED[1].path)
    async def rejection_notified(request: Request) -> Response:
        focus = await service.notified_focus(request)
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
        route, reason = _triage_parameters(await request.body())
        clinician = principal.fhir_user or principal.subject
        task = await triage.clinician_decided(
            request_id, route=route, reason=reason, clinician=clinician
        )
        return negotiate(request).response(task)

    @app.get("/triage/queue")
    async def queue(request: Request) -> JSONResponse:
        require(request.state.principal, "Task", "s")
        only(request)
        return JSONResponse(await waiting(client, now=clock()))

    @app.get("/triage/breaches")
    async def breached(request: Request) -> JSONResponse:
        require(request.state.principal, "Task", "s")
        only(request)
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

    return service.finish(app)


def _period(request: Request, start: str, end: str, *optional: str) -> tuple[date, date]:
    """The period a report is asked for."""
    only(request, start, end, *optional)
    return period_of(request.query_params, start_name=start, end_name=end)


def _triage_parameters(body: bytes) -> tuple[str | None, str | None]:
    """The clinician's decision: (None, reason) to confirm, (route, reason) to override."""
    values: dict[str, Any] = read_parameters(body, "$triage", TRIAGE_TAKES)
    decision = values.get("decision")
    if decision not in ("confirm", "override"):
        raise bad_request("decision must be valueCode confirm or override", code="required")
    if decision == "confirm":
        return None, values.get("reason")
    if not values.get("route"):
        raise bad_request("An override names the route (valueCode)", code="required")
    return values["route"], values.get("reason")
