"""The register process: adding people to the dynamic support register and rating them, and
the register at a glance, for the DSR team only. Everything it reads and writes goes through
the gateway with its own credentials, under the DSR security label."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from services.dsr import entries, meetings, views
from services.dsr.reviews import ReviewRefused
from services.dsr.settings import DsrSettings
from services.dsr.stays import Watching
from shared.auth.dependency import require
from shared.auth.tokens import Principal
from shared.domain import (
    DomainService,
    Operation,
    Wanted,
    capabilities,
    decided_by,
    notification_route,
    only,
    told_now,
)
from shared.errors import FhirError, bad_request
from shared.fhir.dates import LONDON
from shared.fhir.measures import period_of
from shared.fhir.terms import DSR_TEAM_ROLE, ENCOUNTER_TYPE, MENTAL_HEALTH_ADMISSION
from shared.http.fhirjson import negotiate, require_content_type
from shared.http.routes import RouteDeclaration

WANTED = (
    Wanted(
        "/dsr/notifications/stays",
        f"Encounter?type={ENCOUNTER_TYPE}|{MENTAL_HEALTH_ADMISSION}",
        "Admissions to and discharges from mental health inpatient units",
    ),
    Wanted("/dsr/notifications/consents", "Consent", "Consent withdrawn"),
)
CAPABILITIES = capabilities(
    {
        "EpisodeOfCare": [
            Operation(
                "dsr-register",
                "Add a person to the dynamic support register (consent or a best-interests "
                "decision, a keyworker, the first rating)",
            ),
            Operation("dsr-rate", "Rate a person on the register again, with the reason"),
            Operation("dsr-review", "Record a review held, and plan the next"),
            Operation("dsr-register-review", "Record the monthly review of the whole register"),
            Operation(
                "cetr",
                "Record a Care (Education) and Treatment Review: panel, planner consent, "
                "recommendations",
            ),
        ]
    }
)


def create_app(settings: DsrSettings | None = None) -> FastAPI:
    settings = settings or DsrSettings()
    cadence = settings.cadence()
    try:
        cadence.check()
    except ReviewRefused as error:
        raise SystemExit(f"dsr will not start: {error}") from error
    service = DomainService(
        name="dsr",
        title="OneStory dynamic support register",
        settings=settings,
        client_id=settings.dsr_client_id,
        public_url=settings.dsr_public_url,
        notification_secret=settings.dsr_notification_secret,
        capabilities=CAPABILITIES,
        wanted=WANTED,
        routes=[
            RouteDeclaration("/fhir/EpisodeOfCare/$dsr-register", ("POST",)),
            RouteDeclaration("/fhir/EpisodeOfCare/{id}/$dsr-rate", ("POST",)),
            RouteDeclaration("/fhir/EpisodeOfCare/{id}/$dsr-review", ("POST",)),
            RouteDeclaration("/fhir/EpisodeOfCare/{id}/$cetr", ("POST",)),
            RouteDeclaration("/fhir/EpisodeOfCare/$dsr-register-review", ("POST",)),
            RouteDeclaration("/dsr/register", ("GET",)),
            RouteDeclaration(f"/fhir/Measure/{views.MEASURE.id}/$evaluate-measure", ("GET",)),
        ],
    )
    client, clock = service.client, service.clock

    async def ensure_measure() -> None:
        await views.MEASURE.ensure(client)

    service.on_subscribed.append(ensure_measure)
    watching = Watching(client, cadence)
    app = service.app()
    for wanted, handle in zip(
        WANTED, (watching.stay_changed, watching.consent_changed), strict=True
    ):
        notification_route(app, service, wanted.path, told_now(handle, clock))

    @app.post("/fhir/EpisodeOfCare/$dsr-register")
    async def add(request: Request) -> Response:
        _register_team_only(request.state.principal)
        require(request.state.principal, "EpisodeOfCare", "c")
        require_content_type(request)
        episode = await entries.register(
            client, await request.body(), by=decided_by(request), now=clock(), cadence=cadence
        )
        return negotiate(request).response(episode)

    @app.post("/fhir/EpisodeOfCare/{episode_id}/$dsr-rate")
    async def rate(episode_id: str, request: Request) -> Response:
        _register_team_only(request.state.principal)
        require(request.state.principal, "EpisodeOfCare", "u")
        require_content_type(request)
        body = await request.body()
        episode = await entries.rate(
            client, episode_id, body, by=decided_by(request), now=clock(), cadence=cadence
        )
        return negotiate(request).response(episode)

    @app.post("/fhir/EpisodeOfCare/{episode_id}/$dsr-review")
    async def review(episode_id: str, request: Request) -> Response:
        _register_team_only(request.state.principal)
        require(request.state.principal, "Task", "u")
        require_content_type(request)
        body = await request.body()
        answer = await meetings.review_held(
            client, episode_id, body, by=decided_by(request), now=clock(), cadence=cadence
        )
        return negotiate(request).response(answer)

    @app.post("/fhir/EpisodeOfCare/{episode_id}/$cetr")
    async def cetr(episode_id: str, request: Request) -> Response:
        _register_team_only(request.state.principal)
        require(request.state.principal, "Encounter", "c")
        require_content_type(request)
        body = await request.body()
        meeting = await meetings.cetr_held(
            client, episode_id, body, by=decided_by(request), now=clock(), cadence=cadence
        )
        return negotiate(request).response(meeting)

    @app.post("/fhir/EpisodeOfCare/$dsr-register-review")
    async def register_review(request: Request) -> Response:
        _register_team_only(request.state.principal)
        require(request.state.principal, "Task", "c")
        require_content_type(request)
        body = await request.body()
        task = await meetings.register_reviewed(client, body, by=decided_by(request), now=clock())
        return negotiate(request).response(task)

    @app.get("/dsr/register")
    async def at_a_glance(request: Request) -> JSONResponse:
        _register_team_only(request.state.principal)
        require(request.state.principal, "EpisodeOfCare", "s")
        only(request)
        return JSONResponse(await views.register(client, now=clock(), cadence=cadence))

    @app.get(f"/fhir/Measure/{views.MEASURE.id}/$evaluate-measure")
    async def assurance(request: Request) -> Response:
        _register_team_only(request.state.principal)
        require(request.state.principal, "MeasureReport", "r")
        only(request, "periodStart", "periodEnd", "reportType")
        if request.query_params.get("reportType", "population") != "population":
            raise bad_request("This Measure reports on the population only")
        first, last = period_of(
            request.query_params, start_name="periodStart", end_name="periodEnd"
        )
        since = datetime.combine(first, time(), LONDON)
        until = datetime.combine(last + timedelta(days=1), time(), LONDON)
        view = await views.register(client, now=clock(), cadence=cadence, since=since, until=until)
        report = views.measure_report(view, first_day=first, last_day=last, now=clock())
        return negotiate(request).response(report)

    return service.finish(app)


def _register_team_only(principal: Principal) -> None:
    """The register is for its own team (the dsr-lead role) and the services: 403 otherwise."""
    roles = principal.claims.get("roles") or []
    system = any(scope.context == "system" for scope in principal.scopes)
    if not system and DSR_TEAM_ROLE not in (roles if isinstance(roles, list) else []):
        raise FhirError(
            403, "The dynamic support register is for the register's team", code="forbidden"
        )
