"""The discharge process: the hub's operations on D2A episodes and its live board. Everything
it reads and writes goes through the gateway with its own credentials."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from services.discharge.board import FILTERS, board, read_filters
from services.discharge.episodes import Hub
from services.discharge.settings import DischargeSettings
from shared.auth.dependency import require
from shared.domain import DomainService, decided_by, only
from shared.http.fhirjson import negotiate, require_content_type
from shared.http.routes import RouteDeclaration

OPERATIONS = {
    "d2a-transition": "Move the journey on (409 with the states that may follow)",
    "criteria-to-reside": "Record whether the person meets the criteria to reside",
    "d2a-delay": "Record why the person is still waiting, or that nothing holds them up",
}
CAPABILITIES = {
    "resourceType": "CapabilityStatement",
    "status": "active",
    "date": "2026-12-04",
    "kind": "instance",
    "fhirVersion": "4.3.0",
    "format": ["json"],
    "rest": [
        {
            "mode": "server",
            "resource": [
                {
                    "type": "EpisodeOfCare",
                    "operation": [
                        {
                            "name": name,
                            "definition": f"https://onestory.example.nhs.uk/OperationDefinition/{name}",
                            "documentation": documentation,
                        }
                        for name, documentation in {
                            "d2a-identify": "Start discharge to assess for an inpatient stay",
                            **OPERATIONS,
                        }.items()
                    ],
                }
            ],
        }
    ],
}


def create_app(settings: DischargeSettings | None = None) -> FastAPI:
    settings = settings or DischargeSettings()
    if settings.assessment_days < 1:
        raise SystemExit("discharge will not start: assessment_days must be 1 or more")
    service = DomainService(
        name="discharge",
        title="OneStory discharge to assess",
        settings=settings,
        client_id=settings.discharge_client_id,
        public_url=settings.discharge_public_url,
        notification_secret=settings.discharge_notification_secret,
        capabilities=CAPABILITIES,
        routes=[
            RouteDeclaration("/fhir/EpisodeOfCare/$d2a-identify", ("POST",)),
            *(
                RouteDeclaration(f"/fhir/EpisodeOfCare/{{id}}/${name}", ("POST",))
                for name in OPERATIONS
            ),
            RouteDeclaration("/discharge/board", ("GET",)),
        ],
    )
    hub = Hub(service.client, settings.assessment_days)
    clock = service.clock
    app = service.app()

    @app.post("/fhir/EpisodeOfCare/$d2a-identify")
    async def identify(request: Request) -> Response:
        require(request.state.principal, "EpisodeOfCare", "c")
        require_content_type(request)
        episode = await hub.identify(await request.body(), by=decided_by(request), now=clock())
        return negotiate(request).response(episode)

    @app.post("/fhir/EpisodeOfCare/{episode_id}/$criteria-to-reside")
    async def criteria_to_reside(episode_id: str, request: Request) -> Response:
        require(request.state.principal, "EpisodeOfCare", "u")
        require_content_type(request)
        body = await request.body()
        episode = await hub.criteria_to_reside(
            episode_id, body, by=decided_by(request), now=clock()
        )
        return negotiate(request).response(episode)

    @app.post("/fhir/EpisodeOfCare/{episode_id}/$d2a-delay")
    async def delay(episode_id: str, request: Request) -> Response:
        require(request.state.principal, "EpisodeOfCare", "u")
        require_content_type(request)
        body = await request.body()
        episode = await hub.delay(episode_id, body, by=decided_by(request), now=clock())
        return negotiate(request).response(episode)

    @app.post("/fhir/EpisodeOfCare/{episode_id}/$d2a-transition")
    async def transition(episode_id: str, request: Request) -> Response:
        require(request.state.principal, "EpisodeOfCare", "u")
        require_content_type(request)
        body = await request.body()
        episode = await hub.transition(episode_id, body, by=decided_by(request), now=clock())
        return negotiate(request).response(episode)

    @app.get("/discharge/board")
    async def live_board(request: Request) -> JSONResponse:
        require(request.state.principal, "EpisodeOfCare", "s")
        only(request, *FILTERS)
        filters = read_filters(request.query_params)
        return JSONResponse(await board(service.client, filters=filters, now=clock()))

    return service.finish(app)
