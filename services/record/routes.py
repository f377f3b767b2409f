"""The record's FHIR REST interface: HTTP in, one rule handler called, HTTP out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.record import bundles, reading, responses
from services.record.capability import capability_statement
from services.record.context import Ctx, resource_id_of, resource_type_of
from services.record.writes import RecordWriter, WriteResult, now_micros
from shared.errors import FhirError, bad_request, outcome
from shared.fhir.dates import micros_to_instant
from shared.fhir.validation import parse_json, parse_resource, validate
from shared.http.fhirjson import JSON_PATCH, prefer, require_content_type

FORM = "application/x-www-form-urlencoded"

router = APIRouter(prefix="/fhir")


async def _write(
    ctx: Ctx,
    action: Callable[[RecordWriter], Awaitable[WriteResult | None]],
    request: Request | None = None,
) -> WriteResult | None:
    """Run one write in its own transaction; local references are checked before commit.

    An ``X-Provenance`` header (a Provenance without its target) is stored in the same
    transaction, pointing at the version written."""
    provenance = provenance_from_header(request)
    async with ctx.database.transaction(write=True) as connection:
        writer = ctx.writer(connection)
        result = await action(writer)
        if provenance is not None and result is not None and result.status in (200, 201):
            target = {"reference": responses.version_reference(result.stored)}
            await writer.create({**provenance, "target": [target]})
        await writer.verify_references()
    ctx.committed(writer)
    return result


def provenance_from_header(request: Request | None) -> dict[str, Any] | None:
    """The caller's Provenance from ``X-Provenance`` (``recorded`` set); None without one."""
    text = request.headers.get("x-provenance") if request is not None else None
    if not text:
        return None
    provenance = parse_json(text.encode())
    if not isinstance(provenance, dict) or provenance.get("resourceType") != "Provenance":
        raise bad_request("X-Provenance must hold a Provenance resource as JSON")
    provenance.setdefault("recorded", micros_to_instant(now_micros()))
    return provenance


async def _body(request: Request) -> dict[str, Any]:
    require_content_type(request)
    return parse_resource(await request.body())


def _answer(ctx: Ctx, request: Request, result: WriteResult | None) -> Response:
    if result is None or result.status == 204:
        return ctx.fmt.response(None, 204)
    return responses.written(
        result, ctx.fmt, prefer_return=prefer(request, "return"), base_url=ctx.base_url
    )


@router.get("/metadata")
async def metadata(ctx: Ctx) -> Response:
    return ctx.fmt.response(capability_statement(ctx.base_url))


@router.post("")
@router.post("/")
async def transaction_or_batch(request: Request, ctx: Ctx) -> Response:
    require_content_type(request)
    bundle = parse_json(await request.body())
    result = await bundles.process(ctx, bundle)
    return ctx.fmt.response(result)


@router.get("")
@router.get("/")
async def search_all(request: Request, ctx: Ctx) -> Response:
    return await _search(request, ctx, None, ctx.params)


@router.get("/_history")
async def system_history(ctx: Ctx) -> Response:
    return await _history(ctx, "_history")


@router.get("/{type_name}")
async def search_type(type_name: str, request: Request, ctx: Ctx) -> Response:
    return await _search(request, ctx, resource_type_of(type_name), ctx.params)


@router.post("/{type_name}/_search")
async def search_type_by_post(type_name: str, request: Request, ctx: Ctx) -> Response:
    resource_type = resource_type_of(type_name)
    require_content_type(request, FORM)
    return await _search(request, ctx, resource_type, [*ctx.params, *await _form(request)])


async def _form(request: Request) -> list[tuple[str, str]]:
    """The parameters of a form-encoded body (parsed here: no multipart library needed)."""
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as error:
        raise bad_request("The form body is not UTF-8") from error
    return parse_qsl(text, keep_blank_values=True)


async def _search(
    request: Request, ctx: Ctx, resource_type: str | None, params: list[tuple[str, str]]
) -> Response:
    strict = prefer(request, "handling") == "strict"
    async with ctx.database.transaction(write=False) as connection:
        answer = await reading.run_search(
            connection,
            resource_type,
            params,
            strict=strict,
            default_count=ctx.settings.default_page_size,
            max_count=ctx.settings.max_page_size,
            base_url=ctx.base_url,
        )
    bundle = responses.searchset(
        answer.page,
        base_url=ctx.base_url,
        path=resource_type or "",
        params=answer.used_params,
        summary=answer.query.summary,
        elements=answer.query.elements,
        warnings=answer.warnings,
    )
    return ctx.fmt.response(bundle)


@router.get("/{type_name}/_history")
async def type_history(type_name: str, ctx: Ctx) -> Response:
    return await _history(ctx, f"{type_name}/_history", resource_type_of(type_name))


async def _history(
    ctx: Ctx, path: str, resource_type: str | None = None, resource_id: str | None = None
) -> Response:
    async with ctx.database.transaction(write=False) as connection:
        page = await reading.history(
            connection,
            ctx.params,
            resource_type=resource_type,
            resource_id=resource_id,
            default_count=ctx.settings.default_page_size,
            max_count=ctx.settings.max_page_size,
        )
    return ctx.fmt.response(
        responses.history(page, base_url=ctx.base_url, path=path, params=ctx.params)
    )


@router.post("/{type_name}")
async def create(type_name: str, request: Request, ctx: Ctx) -> Response:
    resource_type = resource_type_of(type_name)
    _no_search_parameters(ctx)
    body = await _body(request)
    _same_type(body, resource_type)
    if_none_exist = request.headers.get("if-none-exist")
    result = await _write(
        ctx, lambda writer: writer.create(body, if_none_exist=if_none_exist), request
    )
    return _answer(ctx, request, result)


@router.put("/{type_name}")
async def conditional_update(type_name: str, request: Request, ctx: Ctx) -> Response:
    resource_type = resource_type_of(type_name)
    body = await _body(request)
    _same_type(body, resource_type)
    condition = _condition(request)
    if_match = request.headers.get("if-match")
    result = await _write(
        ctx,
        lambda w: w.conditional_update(resource_type, condition, body, if_match=if_match),
        request,
    )
    return _answer(ctx, request, result)


@router.delete("/{type_name}")
async def conditional_delete(type_name: str, request: Request, ctx: Ctx) -> Response:
    resource_type = resource_type_of(type_name)
    condition = _condition(request)
    await _write(ctx, lambda writer: writer.conditional_delete(resource_type, condition))
    return ctx.fmt.response(None, 204)


@router.post("/{type_name}/$validate")
async def validate_type(type_name: str, request: Request, ctx: Ctx) -> Response:
    return await _validate(request, ctx, resource_type_of(type_name), None)


@router.get("/{type_name}/{resource_id}")
async def read(type_name: str, resource_id: str, request: Request, ctx: Ctx) -> Response:
    resource_type, rid = resource_type_of(type_name), resource_id_of(resource_id)
    async with ctx.database.transaction(write=False) as connection:
        stored = await reading.read(connection, resource_type, rid)
    if request.headers.get("if-none-match") == responses.etag(stored):
        return ctx.fmt.response(None, 304, headers=responses.version_headers(stored))
    params = dict(ctx.params)
    elements = tuple(e for e in params.get("_elements", "").split(",") if e)
    return responses.read(stored, ctx.fmt, summary=params.get("_summary"), elements=elements)


@router.put("/{type_name}/{resource_id}")
async def update(type_name: str, resource_id: str, request: Request, ctx: Ctx) -> Response:
    resource_type, rid = resource_type_of(type_name), resource_id_of(resource_id)
    body = await _body(request)
    if_match = request.headers.get("if-match")
    result = await _write(
        ctx, lambda w: w.update(resource_type, rid, body, if_match=if_match), request
    )
    return _answer(ctx, request, result)


@router.patch("/{type_name}/{resource_id}")
async def patch(type_name: str, resource_id: str, request: Request, ctx: Ctx) -> Response:
    resource_type, rid = resource_type_of(type_name), resource_id_of(resource_id)
    require_content_type(request, JSON_PATCH)
    operations = parse_json(await request.body())
    if not isinstance(operations, list):
        raise bad_request("A JSON Patch document is a JSON array of operations")
    if_match = request.headers.get("if-match")
    result = await _write(ctx, lambda w: w.patch(resource_type, rid, operations, if_match=if_match))
    return _answer(ctx, request, result)


@router.delete("/{type_name}/{resource_id}")
async def delete(type_name: str, resource_id: str, ctx: Ctx) -> Response:
    resource_type, rid = resource_type_of(type_name), resource_id_of(resource_id)
    await _write(ctx, lambda writer: writer.delete(resource_type, rid))
    return ctx.fmt.response(None, 204)


@router.post("/{type_name}/{resource_id}/$validate")
async def validate_instance(
    type_name: str, resource_id: str, request: Request, ctx: Ctx
) -> Response:
    return await _validate(request, ctx, resource_type_of(type_name), resource_id_of(resource_id))


@router.get("/{type_name}/{resource_id}/_history")
async def instance_history(type_name: str, resource_id: str, ctx: Ctx) -> Response:
    resource_type, rid = resource_type_of(type_name), resource_id_of(resource_id)
    return await _history(ctx, f"{resource_type}/{rid}/_history", resource_type, rid)


@router.get("/{type_name}/{resource_id}/_history/{version_id}")
async def version_read(type_name: str, resource_id: str, version_id: str, ctx: Ctx) -> Response:
    resource_type, rid = resource_type_of(type_name), resource_id_of(resource_id)
    async with ctx.database.transaction(write=False) as connection:
        stored = await reading.vread(connection, resource_type, rid, version_id)
    return responses.read(stored, ctx.fmt)


async def _validate(
    request: Request, ctx: Ctx, resource_type: str, resource_id: str | None
) -> Response:
    """$validate: 200 with an OperationOutcome saying what is wrong, or that nothing is."""
    body = _validation_subject(await _body(request))
    try:
        _same_type(body, resource_type)
        if resource_id is not None and body.get("id") != resource_id:
            raise bad_request(f"The resource's id must be {resource_id!r} to update it")
        validate({**body, "id": body.get("id") or "validation"})
        await _check_references(ctx, body)
    except FhirError as error:
        return ctx.fmt.response(error.outcome(), 200)
    return ctx.fmt.response(
        outcome("information", "informational", f"The {resource_type} is valid")
    )


def _validation_subject(body: dict[str, Any]) -> dict[str, Any]:
    if body["resourceType"] != "Parameters":
        return body
    for parameter in body.get("parameter", []):
        if parameter.get("name") == "resource" and isinstance(parameter.get("resource"), dict):
            return dict(parameter["resource"])
    raise bad_request("$validate with Parameters needs a 'resource' parameter")


async def _check_references(ctx: Ctx, body: dict[str, Any]) -> None:
    from services.record.references import classify, verify
    from shared.fhir.validation import local_references

    source = f"{body['resourceType']}/{body.get('id', '(new)')}"
    pending = [
        classify(source, r, ctx.base_url) for r in local_references(body) if not r.startswith("#")
    ]
    async with ctx.database.transaction(write=False) as connection:
        await verify(connection, pending)


def _same_type(body: dict[str, Any], resource_type: str) -> None:
    if body["resourceType"] != resource_type:
        raise bad_request(
            f"The body is a {body['resourceType']}, but the URL names {resource_type}"
        )


def _no_search_parameters(ctx: Ctx) -> None:
    """A create takes its condition in If-None-Exist; criteria in the URL would be silently
    ignored and make a duplicate, so they are refused."""
    stray = sorted({name for name, _ in ctx.params} - {"_format", "_pretty"})
    if stray:
        raise bad_request(
            f"A create takes no URL parameters ({', '.join(stray)}); "
            "send a conditional create's criteria in the If-None-Exist header"
        )


def _condition(request: Request) -> str:
    condition = request.url.query
    if not condition:
        raise bad_request("A conditional update or delete needs search parameters in the URL")
    return condition
