"""One request through the gateway: who is calling, may they, for whom, then the service.

Order: authenticate (401) -> rate limit (429) -> scopes (403) -> idempotent replay ->
patient-level rules by kind of caller (403) -> the owning service -> results withheld where
consent or relationship say so -> audit, whatever the outcome.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway import corrections, forwarding, prefill
from gateway.audit import AuditRecord
from gateway.call import Call, GatewayState, granting
from gateway.compartment import (
    PATIENT_PARAMETERS,
    confining_parameter,
    in_compartment_type,
    patients_named,
    patients_of,
)
from gateway.guards import Guard, ResidentGuard, ServiceGuard, StaffGuard, forbidden
from gateway.idempotency import KeptResponse
from gateway.provenance import provenance_header
from gateway.screening import screen
from gateway.summary import summary
from gateway.transactions import transaction
from shared.auth.tokens import Principal, bearer_token
from shared.errors import FhirError
from shared.fhir.interactions import Interaction, classify

BREAK_GLASS = "x-break-glass-reason"
# Staff and residents get whole resources: a subset could leave out the very elements (the
# subject, the security labels) their answers are checked by. FHIR lets a server ignore these.
SUBSETTING = frozenset({"_elements", "_summary"})
# What a scope limited by a query (SMART v2 "?category=...") can be checked for.
_RESTRICTABLE = frozenset({"search-type", "read", "vread", "history-instance"})


async def handle(state: GatewayState, request: Request) -> Response:
    principal = await state.verifier.verify(bearer_token(request.headers.get("authorization")))
    state.limiter.check(principal.client_id)
    segments = [s for s in request.url.path.removeprefix("/fhir").split("/") if s]
    interaction = classify(request.method, segments)
    audit = _audit_record(request, principal, interaction)
    guard: Guard | None = None
    try:
        call = _call(state, request, principal, interaction, audit)
        guard = call.guard
        response = await _idempotent(state, call)
        audit.status = response.status_code
        return response
    except FhirError as error:
        audit.status, audit.outcome_text = error.status, error.diagnostics
        raise
    finally:
        if _audited(interaction, audit):
            if isinstance(guard, StaffGuard) and guard.broke_glass:
                audit.break_glass_reason = guard.break_glass_reason
            await state.audit.enqueue(audit.event())


def _audit_record(request: Request, principal: Principal, interaction: Interaction) -> AuditRecord:
    audit = AuditRecord(
        interaction=interaction.kind,
        permission=interaction.permission,
        client_id=principal.client_id,
        subject=principal.subject,
        fhir_user=principal.fhir_user,
        organization=principal.organization,
        address=request.client.host if request.client else "",
        query=request.url.query,
        correlation=forwarding.correlation_id(request),
    )
    if interaction.resource_type == "Patient" and interaction.resource_id:
        audit.patients.add(interaction.resource_id)
    return audit


def _call(
    state: GatewayState,
    request: Request,
    principal: Principal,
    interaction: Interaction,
    audit: AuditRecord,
) -> Call:
    """The request with its caller's kind and rules; 403 when no scope grants it."""
    scope = granting(principal, interaction)
    context = scope.context
    guard: Guard = ServiceGuard()
    if context == "patient":
        if not principal.patient:
            raise forbidden("A patient/ scope needs the token's patient claim")
        guard = ResidentGuard(principal.patient)
    elif context == "user":
        guard = StaffGuard(
            principal,
            state.relationships,
            state.consents,
            break_glass_reason=request.headers.get(BREAK_GLASS),
        )
    return Call(
        request,
        principal,
        interaction,
        context,
        guard,
        audit,
        forwarding.correlation_id(request),
        restriction=scope.query,
    )


def _audited(interaction: Interaction, audit: AuditRecord) -> bool:
    """Everything that may touch patient data is audited, refusals included."""
    if interaction.kind in ("capabilities", "unknown"):
        return False
    resource_type = interaction.resource_type
    return resource_type is None or in_compartment_type(resource_type) or bool(audit.patients)


async def _idempotent(state: GatewayState, call: Call) -> Response:
    request_id = call.request.headers.get("x-request-id")
    if call.request.method != "POST" or not request_id:
        return await _dispatch(state, call)
    kept = await state.idempotency.claim(call.principal.client_id, request_id)
    if kept is not None:
        return Response(kept.body, kept.status, headers=dict(kept.headers))
    try:
        response = await _dispatch(state, call)
    except BaseException:
        await state.idempotency.release(call.principal.client_id, request_id)
        raise
    body = await _body_of(response)
    headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
    headers.append(("x-request-id", request_id))
    await state.idempotency.keep(
        call.principal.client_id, request_id, KeptResponse(response.status_code, headers, body)
    )
    return Response(body, response.status_code, headers=dict(headers))


async def _body_of(response: Response) -> bytes:
    """The whole body of an answer, streamed or not, so it can be kept."""
    if not isinstance(response, StreamingResponse):
        return bytes(response.body)
    chunks = [c if isinstance(c, bytes) else str(c).encode() async for c in response.body_iterator]
    if response.background is not None:
        await response.background()
    return b"".join(chunks)


async def _dispatch(state: GatewayState, call: Call) -> Response:
    if call.interaction.operation == "$summary" and call.interaction.resource_type == "Patient":
        return await summary(state, call)  # the gateway's own: it depends on who asks
    route = forwarding.route_for(state.routes, call.request)
    headers = forwarding.upstream_headers(call.request, call.correlation)
    interaction = call.interaction
    writes = interaction.writes or interaction.kind == "transaction"
    if writes and "x-provenance" not in call.request.headers:
        headers["x-provenance"] = provenance_header(call.principal)
    if interaction.kind == "transaction":
        return await transaction(state, call, route, headers)
    if call.restriction:
        await _check_restriction(state, call)
    if interaction.operation in PATIENT_PARAMETERS:
        await _check_named_patients(call, PATIENT_PARAMETERS[interaction.operation])
    if call.context == "system" and not _needs_body(call) and not call.restriction:
        _note_query_patients(call)
        return await forwarding.stream(state.upstream, route, call.request, headers)
    body = await call.request.body() if call.request.method in ("POST", "PUT", "PATCH") else None
    if (
        call.context == "patient"
        and interaction.kind == "create"
        and interaction.resource_type == "Task"
    ):
        body = await corrections.addressed(state, call, body or b"")
    if interaction.writes:
        await _check_write(state, call, body)
    if (
        interaction.resource_type == "Patient"
        and interaction.resource_id
        and not interaction.writes
    ):
        # Opening a person's record (read, history, $everything): decided before it is fetched.
        await call.guard.check_patients({interaction.resource_id}, "Patient")
    extra = [*(_confinement(call) or []), *_restricted_search(call)]
    answer = await forwarding.buffered(
        state.upstream,
        route,
        call.request,
        headers,
        body,
        extra,
        drop=SUBSETTING if call.context != "system" else frozenset(),
    )
    if interaction.operation == "$populate" and call.context == "user":
        return await prefill.screened(state, call, answer)
    return await screen(call, answer)


async def _check_named_patients(call: Call, names: tuple[str, ...]) -> None:
    """An operation naming people in its body ($populate, $merge): the caller must be
    allowed to open each of their records, and the call is audited against them."""
    patients = patients_named(await call.request.body(), names)
    call.audit.patients |= patients
    await call.guard.check_patients(patients, "Patient")


def _needs_body(call: Call) -> bool:
    """A service's write is read to learn whose record it touches, for the audit trail."""
    return call.interaction.writes and call.request.method in ("POST", "PUT")


def _note_query_patients(call: Call) -> None:
    for name, value in parse_qsl(call.request.url.query):
        if name in ("patient", "subject") and value:
            call.audit.patients |= {v.removeprefix("Patient/") for v in value.split(",") if v}


async def _check_restriction(state: GatewayState, call: Call) -> None:
    """A SMART v2 scope with a query (``patient/Observation.rs?category=laboratory``) grants
    only the resources that query finds: reads are checked against it, searches narrowed."""
    interaction = call.interaction
    if interaction.kind not in _RESTRICTABLE or interaction.resource_type is None:
        raise forbidden("A scope limited by a query grants reads and searches of one type only")
    if interaction.resource_id:
        found = await state.record.search(
            interaction.resource_type, [("_id", interaction.resource_id), *call.restriction]
        )
        if not found:
            raise forbidden("This resource is outside what the token's scope query allows")


def _restricted_search(call: Call) -> list[tuple[str, str]]:
    return list(call.restriction) if call.interaction.kind == "search-type" else []


def _confinement(call: Call) -> list[tuple[str, str]] | None:
    """A resident's searches are kept to their own compartment, and their operations on a
    Patient ($everything, $summary) to their own."""
    interaction = call.interaction
    if call.context != "patient":
        return None
    if interaction.resource_type == "Patient" and interaction.resource_id not in (
        None,
        call.principal.patient,
    ):
        raise forbidden("A resident's token reaches only their own record")
    if interaction.kind != "search-type":
        return None
    assert call.principal.patient and interaction.resource_type
    if not in_compartment_type(interaction.resource_type):
        return None
    criterion = confining_parameter(interaction.resource_type, call.principal.patient)
    if criterion is None:
        raise forbidden(f"{interaction.resource_type} cannot be searched with a resident's token")
    call.audit.patients.add(call.principal.patient)
    return [criterion]


async def _check_write(state: GatewayState, call: Call, body: bytes | None) -> None:
    """Whose record a write touches, and may the caller touch it."""
    interaction = call.interaction
    if interaction.resource_type is None:
        return  # a system-level operation ($process-message): the service checks its body
    patients: set[str] = set()
    if call.request.method in ("POST", "PUT") and body is not None:
        try:
            resource = orjson.loads(body)
        except orjson.JSONDecodeError:
            return  # the service answers malformed bodies with its own 400
        if isinstance(resource, dict):
            patients |= patients_of(resource)
    if call.context != "system" and (criteria := _existing_criteria(call)):
        for resource in await state.record.search(interaction.resource_type, criteria):
            patients |= patients_of(resource)
    call.audit.patients |= patients
    if interaction.resource_id:
        call.audit.resources.append(f"{interaction.resource_type}/{interaction.resource_id}")
    await call.guard.check_patients(patients, interaction.resource_type)
    if call.context == "patient" and not in_compartment_type(interaction.resource_type):
        raise forbidden(f"A resident cannot change {interaction.resource_type} resources")


def _existing_criteria(call: Call) -> list[tuple[str, str]]:
    """How to find the resources a write would change or answer with: by id, by a conditional
    update's, patch's or delete's criteria, or by a conditional create's If-None-Exist."""
    request, resource_id = call.request, call.interaction.resource_id
    if request.method in ("PATCH", "DELETE", "PUT"):
        if resource_id:
            return [("_id", resource_id)]
        return parse_qsl(request.url.query)
    if request.method == "POST" and (condition := request.headers.get("if-none-exist")):
        return parse_qsl(condition.split("?", 1)[-1])
    return []
