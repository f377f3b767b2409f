"""services/record: the shared care record, the FHIR store every service reads and writes.

Owns the FHIR REST interface over ``shared.storage``. It must not call other services; they
learn of changes through subscriptions.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.record.capability import capability_statement
from services.record.operations import OPERATION_ROUTERS
from services.record.questionnaires import install as install_questionnaires
from services.record.routes import router
from services.record.subscriptions import operations as subscription_operations
from services.record.subscriptions.dispatcher import Dispatcher
from services.record.subscriptions.matching import SubscriptionRegistry
from shared.auth.dependency import OPEN_PATHS, RequireToken, verifier_from_settings
from shared.health import database_ready, mount_health
from shared.http.errors import install_error_handlers
from shared.http.limits import BodySizeLimit
from shared.http.routes import ROUTES_PATH, RouteDeclaration, declare_routes
from shared.settings import RecordSettings
from shared.storage.database import Database
from shared.telemetry import (
    FASTAPI_TELEMETRY_OFF,
    TelemetryMiddleware,
    flush_telemetry,
    setup_telemetry,
)


def create_app(settings: RecordSettings | None = None) -> FastAPI:
    settings = settings or RecordSettings()
    setup_telemetry("record", settings)
    database = Database(settings.database_url, pool_size=settings.database_pool_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Building the CapabilityStatement loads every resource model: do it off the request
        # path, in the background, so the first /metadata does not wait seconds.
        warming = asyncio.get_running_loop().run_in_executor(None, capability_statement, "")
        dispatcher = Dispatcher(database, app.state.subscriptions, settings)
        delivering = asyncio.create_task(dispatcher.run())
        await install_questionnaires(database, app.state.subscriptions)
        yield
        # uvicorn has let the requests in flight finish; now the deliveries in flight.
        with contextlib.suppress(asyncio.CancelledError):
            await dispatcher.stop(delivering)
        await warming
        await database.dispose()
        flush_telemetry()

    app = FastAPI(
        title="OneStory shared care record",
        telemetry=FASTAPI_TELEMETRY_OFF,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.subscriptions = SubscriptionRegistry()
    install_error_handlers(app)
    for operation in OPERATION_ROUTERS:
        app.include_router(operation)
    app.include_router(subscription_operations.router)
    app.include_router(router)

    mount_health(app, "record", {"database": database_ready(database)})

    declare_routes(
        app,
        "record",
        [
            RouteDeclaration("/fhir", timeout_seconds=120),
            RouteDeclaration("/fhir/{rest:path}", timeout_seconds=60),
        ],
    )
    app.add_middleware(
        RequireToken,
        verifier=verifier_from_settings(settings),
        open_paths=(*OPEN_PATHS, ROUTES_PATH),
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(TelemetryMiddleware, service_name="record")
    return app
