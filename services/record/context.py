"""What every record request needs: its format, its public base URL, and the record itself."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from services.record.subscriptions.matching import SubscriptionRegistry
from services.record.writes import RecordWriter
from shared.auth.dependency import require
from shared.errors import FhirError, bad_request
from shared.fhir.interactions import classify
from shared.fhir.validation import is_resource_type
from shared.http.fhirjson import Format, negotiate
from shared.settings import RecordSettings
from shared.storage.database import Database

_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


@dataclass(frozen=True, slots=True)
class RecordRequest:
    fmt: Format
    base_url: str
    database: Database
    settings: RecordSettings
    params: list[tuple[str, str]]
    subscriptions: SubscriptionRegistry

    def writer(self, connection: AsyncConnection, *, batched: bool = False) -> RecordWriter:
        return RecordWriter(
            self.database, connection, self.base_url, self.subscriptions, batched=batched
        )

    def committed(self, writer: RecordWriter) -> None:
        """After commit: wake the dispatcher if the transaction queued notifications."""
        if writer.events:
            self.subscriptions.committed.set()


def base_url_of(request: Request, settings: RecordSettings) -> str:
    """The FHIR base as the client sees it, through the gateway's X-Forwarded-* headers."""
    if settings.base_url:
        return settings.base_url.rstrip("/")
    headers = request.headers
    scheme = headers.get("x-forwarded-proto", request.url.scheme)
    host = headers.get("x-forwarded-host", headers.get("host", request.url.netloc))
    prefix = headers.get("x-forwarded-prefix", "").rstrip("/")
    return f"{scheme}://{host}{prefix}/fhir"


def _check_scope(request: Request) -> None:
    """Defence in depth behind the gateway: the token must grant this interaction."""
    principal = request.state.principal
    segments = [s for s in request.url.path.removeprefix("/fhir").split("/") if s]
    interaction = classify(request.method, segments)
    if interaction.permission:
        require(principal, interaction.resource_type or "*", interaction.permission)


def record_request(request: Request) -> RecordRequest:
    settings: RecordSettings = request.app.state.settings
    if request.url.path != "/fhir/metadata":
        _check_scope(request)
    return RecordRequest(
        fmt=negotiate(request),
        base_url=base_url_of(request, settings),
        database=request.app.state.database,
        settings=settings,
        params=list(request.query_params.multi_items()),
        subscriptions=request.app.state.subscriptions,
    )


Ctx = Annotated[RecordRequest, Depends(record_request)]


def resource_type_of(name: str) -> str:
    if not is_resource_type(name):
        raise FhirError(404, f"'{name}' is not a FHIR R4B resource type", code="not-supported")
    return name


def resource_id_of(text: str) -> str:
    if not _ID.match(text):
        raise bad_request(f"'{text}' is not a valid id (1-64 letters, digits, '-' or '.')")
    return text
