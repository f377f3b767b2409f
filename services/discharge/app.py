"""The discharge process: the hub's operations on D2A episodes and its live board. Everything
it reads and writes goes through the gateway with its own credentials."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from services.discharge import reporting
from services.discharge.board import FILTERS, PAGING, read_filters, read_page
from services.discharge.episodes import Hub
from services.discharge.readmodel import ReadModel, discharge_database
from services.discharge.settings import DischargeSettings
from shared.auth.dependency import require
from shared.domain import (
    DomainService,
    Operation,
    Wanted,
    capabilities,
    decided_by,
    evaluate_measure,
    notification_route,
    only,
)
from shared.errors import FhirError, bad_request
from shared.fhir.measures import period_of
from shared.fhir.terms import (
    ACT_CODE,
    D2A_ASSESSMENT_TASK,
    DISCHARGE_TO_ASSESS,
    EPISODE_TYPE,
    TASK_CODE,
)
from shared.health import database_ready
from shared.http.fhirjson import negotiate, require_content_type
from shared.http.routes import RouteDeclaration

REPORTS = ("sitrep/daily", "sitrep/weekly", "figures")
WANTED = (
    Wanted(
        "/discharge/notifications/episodes",
        f"EpisodeOfCare?type={EPISODE_TYPE}|{DISCHARGE_TO_ASSESS}",
        "D2A episodes for the board",
    ),
    Wanted("/discharge/notifications/stays", f"Encounter?class={ACT_CODE}|IMP", "Stays and wards"),
    Wanted(
        "/discharge/notifications/assessments",
        f"Task?code={TASK_CODE}|{D2A_ASSESSMENT_TASK}",
        "Assessments after discharge",
    ),
)
OPERATIONS = {
    "d2a-transition": "Move the journey on (409 with the states that may follow)",
    "criteria-to-reside": "Record whether the person meets the criteria to reside",
    "d2a-delay": "Record why the person is still waiting, or that nothing holds them up",
}
CAPABILITIES = capabilities(
    {
        "EpisodeOfCare": [
            Operation("d2a-identify", "Start discharge to assess for an inpatient stay"),
            *(Operation(name, documentation) for name, documentation in OPERATIONS.items()),
        ],
        "Measure": [evaluate_measure(measure.id) for measure in reporting.MEASURES],
    }
)


def create_app(settings: DischargeSettings | None = None) -> FastAPI:
    settings = settings or DischargeSettings()
    if settings.assessment_days < 1:
        raise SystemExit("discharge will not start: assessment_days must be 1 or more")
    database = discharge_database(settings.discharge_database_url)
    service = DomainService(
        name="discharge",
        title="OneStory discharge to assess",
        settings=settings,
        client_id=settings.discharge_client_id,
        public_url=settings.discharge_public_url,
        notification_secret=settings.discharge_notification_secret,
        capabilities=CAPABILITIES,
        wanted=WANTED,
        routes=[
            RouteDeclaration("/fhir/EpisodeOfCare/$d2a-identify", ("POST",)),
            *(
                RouteDeclaration(f"/fhir/EpisodeOfCare/{{id}}/${name}", ("POST",))
                for name in OPERATIONS
            ),
            RouteDeclaration("/discharge/board", ("GET",)),
            *(RouteDeclaration(f"/discharge/{view}", ("GET",)) for view in REPORTS),
            *(
                RouteDeclaration(f"/fhir/Measure/{measure.id}/$evaluate-measure", ("GET",))
                for measure in reporting.MEASURES
            ),
        ],
    )
    hub = Hub(service.client, settings.assessment_days)
    clock, client = service.clock, service.client
    model = ReadModel(database, client)

    async def rebuild() -> None:
        service.log.info("board read model rebuilt: %s", await model.rebuild())

    async def stop() -> None:
        await database.dispose()

    service.on_start.append(database.migrate)
    service.ready_checks["database"] = database_ready(database)
    service.on_stop.append(stop)

    async def ensure_measures() -> None:
        for measure in reporting.MEASURES:
            await measure.ensure(client)

    service.on_subscribed.append(ensure_measures)
    service.on_subscribed.append(rebuild)
    app = service.app()
    for wanted, handle in zip(
        WANTED, (model.episode_notified, model.stay_notified, model.task_notified), strict=True
    ):
        notification_route(app, service, wanted.path, handle)

    async def on_the_board(episode: dict[str, Any]) -> None:
        """Write the hub's own change through to the board before answering (the
        notifications that follow change nothing more)."""
        await model.episode_notified(episode["id"])
        for task in await client.search("Task", [("based-on", f"EpisodeOfCare/{episode['id']}")]):
            await model.task_changed(task)

    @app.post("/fhir/EpisodeOfCare/$d2a-identify")
    async def identify(request: Request) -> Response:
        require(request.state.principal, "EpisodeOfCare", "c")
        require_content_type(request)
        episode = await hub.identify(await request.body(), by=decided_by(request), now=clock())
        await on_the_board(episode)
        return negotiate(request).response(episode)

    @app.post("/fhir/EpisodeOfCare/{episode_id}/$criteria-to-reside")
    async def criteria_to_reside(episode_id: str, request: Request) -> Response:
        require(request.state.principal, "EpisodeOfCare", "u")
        require_content_type(request)
        body = await request.body()
        episode = await hub.criteria_to_reside(
            episode_id, body, by=decided_by(request), now=clock()
        )
        await on_the_board(episode)
        return negotiate(request).response(episode)

    @app.post("/fhir/EpisodeOfCare/{episode_id}/$d2a-delay")
    async def delay(episode_id: str, request: Request) -> Response:
        require(request.state.principal, "EpisodeOfCare", "u")
        require_content_type(request)
        body = await request.body()
        episode = await hub.delay(episode_id, body, by=decided_by(request), now=clock())
        await on_the_board(episode)
        return negotiate(request).response(episode)

    @app.post("/fhir/EpisodeOfCare/{episode_id}/$d2a-transition")
    async def transition(episode_id: str, request: Request) -> Response:
        require(request.state.principal, "EpisodeOfCare", "u")
        require_content_type(request)
        body = await request.body()
        episode = await hub.transition(episode_id, body, by=decided_by(request), now=clock())
        await on_the_board(episode)
        return negotiate(request).response(episode)

    @app.get("/discharge/board")
    async def live_board(request: Request) -> JSONResponse:
        require(request.state.principal, "EpisodeOfCare", "s")
        only(request, *FILTERS, *PAGING)
        filters, page = read_filters(request.query_params), read_page(request.query_params)
        return JSONResponse(await model.board(filters, page, clock()))

    @app.get("/discharge/sitrep/daily")
    async def daily(request: Request) -> Response:
        require(request.state.principal, "EpisodeOfCare", "s")
        only(request, "date")
        found = reporting.daily_json(await reporting.daily(client, _day(request)))
        return _rendered(request, found)

    @app.get("/discharge/sitrep/weekly")
    async def weekly(request: Request) -> Response:
        require(request.state.principal, "EpisodeOfCare", "s")
        only(request, "date")
        found = reporting.weekly_json(await reporting.weekly(client, _day(request)))
        return _rendered(request, found)

    @app.get("/discharge/figures")
    async def period(request: Request) -> Response:
        require(request.state.principal, "EpisodeOfCare", "s")
        only(request, "start", "end")
        first, last = period_of(request.query_params, start_name="start", end_name="end")
        found = await reporting.period_figures(client, first, last)
        return _rendered(request, reporting.figures_json(found, first, last))

    @app.get("/fhir/Measure/{measure_id}/$evaluate-measure")
    async def evaluate(measure_id: str, request: Request) -> Response:
        require(request.state.principal, "MeasureReport", "r")
        only(request, "periodStart", "periodEnd", "reportType")
        if request.query_params.get("reportType", "population") != "population":
            raise bad_request("These Measures report on the population only")
        first, last = period_of(
            request.query_params, start_name="periodStart", end_name="periodEnd"
        )
        if measure_id == reporting.DAILY.id:
            report = reporting.daily_report(await reporting.daily(client, last), clock())
        elif measure_id == reporting.WEEKLY.id:
            report = reporting.weekly_report(await reporting.weekly(client, last), clock())
        elif measure_id == reporting.PERIOD.id:
            found = await reporting.period_figures(client, first, last)
            report = reporting.figures_report(found, first, last, clock())
        else:
            raise FhirError(
                404, f"Measure/{measure_id} is not the discharge hub's", code="not-found"
            )
        return negotiate(request).response(report)

    return service.finish(app)


def _day(request: Request) -> date:
    """The day a situation report is for (YYYY-MM-DD, required)."""
    first, _ = period_of(
        {"date": request.query_params.get("date", ""), "to": request.query_params.get("date", "")},
        start_name="date",
        end_name="to",
    )
    return first


def _rendered(request: Request, found: dict[str, Any]) -> Response:
    """JSON, or CSV for ``_format=csv`` (or Accept: text/csv)."""
    wanted = request.query_params.get("_format") or request.headers.get("accept", "")
    if "csv" in wanted:
        return PlainTextResponse(reporting.as_csv(found), media_type="text/csv")
    return JSONResponse(found)
