"""The caseload process: proactive case management for the integrated neighbourhood teams.

Case finding (eFI RiskAssessments, recomputed by Subscription and nightly; a team's candidates
as a Group), enrolment with clinical confirmation and auto-allocation, rebalancing, leaving,
touchpoints and admission alerts, and the caseload views. Everything it reads and writes goes
through the gateway with its own credentials.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from services.caseload import careplans, casefinding, enrolment, mdt, rebalancing, views
from services.caseload.alerts import Alerting
from services.caseload.deficits import load_deficits
from services.caseload.settings import CaseloadSettings
from services.caseload.touchpoints import check_cadence, check_weights
from shared.auth.dependency import require
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
from shared.fhir.dates import LONDON
from shared.fhir.terms import TASK_CODE, TOUCHPOINT_TASK
from shared.http.fhirjson import negotiate, require_content_type
from shared.http.routes import RouteDeclaration

CAPABILITIES = capabilities(
    {
        "EpisodeOfCare": [
            Operation(
                "enrol",
                "Put a person on a neighbourhood team's caseload (clinical confirmation "
                "needed; the case manager is auto-allocated)",
            ),
            Operation(
                "care-plan",
                "Start the personalised care and support plan from what matters to the "
                "person, with a contingency plan",
            ),
            Operation("leave", "Take a person off the caseload, with the reason"),
        ],
        "CareTeam": [
            Operation("case-finding", "The team's candidates for the caseload, as a Group"),
            Operation("mdt-review", "Record an MDT meeting: outcomes and actions"),
            Operation("rebalance", "Hand on a leaving or absent case manager's caseload"),
        ],
    }
)
WANTED = (
    Wanted("/caseload/notifications/conditions", "Condition", "Conditions change the eFI"),
    Wanted(
        "/caseload/notifications/encounters",
        "Encounter",
        "Encounters change the eFI; admissions and ED visits alert the case manager",
    ),
    Wanted(
        "/caseload/notifications/touchpoints",
        f"Task?status=completed&code={TASK_CODE}|{TOUCHPOINT_TASK}",
        "A touchpoint done plans the next",
    ),
)
VIEWS = ("/caseload/teams/{id}", "/caseload/case-managers/{id}")


def create_app(settings: CaseloadSettings | None = None) -> FastAPI:
    settings = settings or CaseloadSettings()
    try:
        table = load_deficits()
        check_cadence(settings.touchpoint_days)
        check_weights(settings.caseload_weights)
    except ValueError as error:  # DeficitTableError included
        raise SystemExit(f"caseload will not start: {error}") from error
    service = DomainService(
        name="caseload",
        title="OneStory proactive case management",
        settings=settings,
        client_id=settings.caseload_client_id,
        public_url=settings.caseload_public_url,
        notification_secret=settings.caseload_notification_secret,
        capabilities=CAPABILITIES,
        wanted=WANTED,
        routes=[
            RouteDeclaration("/fhir/EpisodeOfCare/$enrol", ("POST",)),
            RouteDeclaration("/fhir/EpisodeOfCare/{id}/$leave", ("POST",)),
            RouteDeclaration("/fhir/CareTeam/{id}/$case-finding", ("POST",)),
            RouteDeclaration("/fhir/CareTeam/{id}/$rebalance", ("POST",)),
            RouteDeclaration("/fhir/CareTeam/{id}/$mdt-review", ("POST",)),
            RouteDeclaration("/fhir/EpisodeOfCare/{id}/$care-plan", ("POST",)),
            RouteDeclaration("/caseload/case-finding", ("POST",), timeout_seconds=600.0),
            *(RouteDeclaration(view, ("GET",)) for view in VIEWS),
        ],
    )
    client, clock = service.client, service.clock
    policy = enrolment.Policy(settings.touchpoint_days, settings.caseload_weights)
    alerting = Alerting(client, table, settings.touchpoint_days, settings.discharge_follow_up_hours)

    async def assess_everyone() -> dict[str, int]:
        now = clock()
        people = await casefinding.adults_to_assess(
            client, today=now.date(), minimum_age=table.minimum_age
        )
        written = 0
        for patient_id in people:
            assessed = await casefinding.assess(client, patient_id, table=table, now=now)
            written += bool(assessed and assessed.written)
        return {"assessed": len(people), "written": written}

    async def case_finding_each_night() -> None:
        while True:
            await asyncio.sleep(seconds_until(settings.case_finding_hour, clock()))
            try:
                service.log.info("nightly case finding: %s", await assess_everyone())
            except Exception as error:  # the gateway may be restarting: tomorrow, then
                service.log.warning("nightly case finding failed: %s", type(error).__name__)

    service.background.append(case_finding_each_night)
    app = service.app(deficit_table=table.version)

    for wanted, handle in zip(
        WANTED,
        (alerting.condition_changed, alerting.encounter_changed, alerting.task_changed),
        strict=True,
    ):
        notification_route(app, service, wanted.path, told_now(handle, clock))

    @app.post("/fhir/EpisodeOfCare/$enrol")
    async def enrol(request: Request) -> Response:
        require(request.state.principal, "EpisodeOfCare", "c")
        require_content_type(request)
        answer = await enrolment.enrol(
            client, await request.body(), clinician=decided_by(request), policy=policy, now=clock()
        )
        return negotiate(request).response(answer)

    @app.post("/fhir/EpisodeOfCare/{episode_id}/$leave")
    async def leave(episode_id: str, request: Request) -> Response:
        require(request.state.principal, "EpisodeOfCare", "u")
        require_content_type(request)
        episode = await enrolment.leave(
            client, episode_id, await request.body(), clinician=decided_by(request), now=clock()
        )
        return negotiate(request).response(episode)

    @app.post("/fhir/CareTeam/{team_id}/$case-finding")
    async def case_finding(team_id: str, request: Request) -> Response:
        require(request.state.principal, "Group", "c")
        team = await client.read(f"CareTeam/{team_id}")
        return negotiate(request).response(
            await casefinding.candidate_list(client, team, now=clock())
        )

    @app.post("/fhir/CareTeam/{team_id}/$rebalance")
    async def rebalance(team_id: str, request: Request) -> Response:
        require(request.state.principal, "EpisodeOfCare", "u")
        require_content_type(request)
        moves = await rebalancing.rebalance(
            client,
            team_id,
            await request.body(),
            clinician=decided_by(request),
            weights=settings.caseload_weights,
            now=clock(),
        )
        return negotiate(request).response(moves)

    @app.post("/fhir/EpisodeOfCare/{episode_id}/$care-plan")
    async def care_plan(episode_id: str, request: Request) -> Response:
        require(request.state.principal, "CarePlan", "c")
        require_content_type(request)
        plan = await careplans.start_plan(
            client, episode_id, await request.body(), clinician=decided_by(request), now=clock()
        )
        return negotiate(request).response(plan)

    @app.post("/fhir/CareTeam/{team_id}/$mdt-review")
    async def mdt_review(team_id: str, request: Request) -> Response:
        require(request.state.principal, "Encounter", "c")
        require_content_type(request)
        written = await mdt.record_review(
            client, team_id, await request.body(), clinician=decided_by(request), now=clock()
        )
        return negotiate(request).response(written)

    @app.post("/caseload/case-finding")
    async def run_case_finding(request: Request) -> JSONResponse:
        require(request.state.principal, "RiskAssessment", "c")
        only(request)
        return JSONResponse(await assess_everyone())

    @app.get("/caseload/teams/{team_id}")
    async def team_caseload(team_id: str, request: Request) -> JSONResponse:
        require(request.state.principal, "EpisodeOfCare", "s")
        only(request)
        found = await views.team_view(
            client, team_id, weights=settings.caseload_weights, now=clock()
        )
        return JSONResponse(found)

    @app.get("/caseload/case-managers/{practitioner_id}")
    async def own_caseload(practitioner_id: str, request: Request) -> JSONResponse:
        require(request.state.principal, "EpisodeOfCare", "s")
        only(request)
        found = await views.case_manager_view(
            client, practitioner_id, weights=settings.caseload_weights, now=clock()
        )
        return JSONResponse(found)

    return service.finish(app)


def seconds_until(hour: int, now: datetime) -> float:
    """Seconds from ``now`` to the next ``hour``:00 in Portsmouth."""
    local = now.astimezone(LONDON)
    target = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target <= local:
        target = (target + timedelta(days=1)).replace(hour=hour)
    return (target.astimezone(UTC) - now.astimezone(UTC)).total_seconds()  # across a clock change
