"""Service views through the one front door: the operational lists a service serves as plain
JSON beside FHIR (the triage queue, breaches and figures; later the discharge board), each a
route the service declares outside ``/fhir``.

A view lists many people at once, so it is for staff and services only: a resident's token
(patient/ scopes alone) is refused. The caller's token goes on to the service, which checks the
scopes the view needs. Every call is audited like a search: the path and query asked, and
every person the answer names (``Patient/{id}`` anywhere in it).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway import forwarding
from gateway.audit import AuditRecord
from gateway.call import GatewayState
from gateway.guards import forbidden
from shared.auth.tokens import Principal, bearer_token
from shared.errors import FhirError

_PATIENT = re.compile(r"Patient/([A-Za-z0-9\-.]{1,64})")


async def handle(state: GatewayState, request: Request) -> Response:
    principal = await state.verifier.verify(bearer_token(request.headers.get("authorization")))
    state.limiter.check(principal.client_id)
    audit = _audit_record(request, principal)
    try:
        route = forwarding.route_for(state.routes, request)
        if not any(scope.context in ("user", "system") for scope in principal.scopes):
            raise forbidden("Service views list many people: they are for staff and services")
        headers = forwarding.upstream_headers(request, forwarding.correlation_id(request))
        body = await request.body() if request.method in ("POST", "PUT", "PATCH") else None
        answer = await forwarding.buffered(state.upstream, route, request, headers, body)
        audit.status = answer.status_code
        audit.patients.update(_people_named(forwarding.json_body(answer)))
        return forwarding.as_response(answer)
    except FhirError as error:
        audit.status, audit.outcome_text = error.status, error.diagnostics
        raise
    finally:
        await state.audit.enqueue(audit.event())


def _audit_record(request: Request, principal: Principal) -> AuditRecord:
    query = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return AuditRecord(
        interaction="operation",
        permission="r" if request.method == "GET" else "u",
        client_id=principal.client_id,
        subject=principal.subject,
        fhir_user=principal.fhir_user,
        organization=principal.organization,
        address=request.client.host if request.client else "",
        query=query,
        correlation=forwarding.correlation_id(request),
    )


def _people_named(answer: Any) -> set[str]:
    """Every patient id an answer names, wherever it is."""
    if answer is None:
        return set()
    return set(_PATIENT.findall(orjson.dumps(answer).decode()))
