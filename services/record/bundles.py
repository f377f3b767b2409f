"""Transaction and batch Bundles.

A transaction is all or nothing, in one database transaction, in the specification's order
(DELETE, POST, PUT/PATCH, then GET). Before anything is written, every entry gets its final
identity: new ids for creates, the match for conditional creates and updates; then
``urn:uuid:`` and conditional references (``Patient?identifier=...``) in every resource are
rewritten to those identities. A batch runs each entry on its own and answers each with its
own status.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from services.record import entries
from services.record.context import RecordRequest
from services.record.entries import BundleEntry, parse_entries
from services.record.writes import RecordWriter
from shared.errors import FhirError, bad_request
from shared.fhir.validation import is_resource_type

_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


async def process(ctx: RecordRequest, bundle: Any) -> dict[str, Any]:
    """The transaction-response or batch-response Bundle for a posted Bundle."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise bad_request("POST to the base takes a Bundle of type transaction or batch")
    kind = bundle.get("type")
    if kind not in ("transaction", "batch"):
        raise bad_request(f"Bundle.type must be transaction or batch, not {kind!r}")
    items = parse_entries(bundle)
    if kind == "transaction":
        responses = await _transaction(ctx, items)
    else:
        responses = await _batch(ctx, items)
    return {"resourceType": "Bundle", "type": f"{kind}-response", "entry": responses}


@dataclass
class _Plan:
    """Where each entry's resource will live, known before anything is written."""

    aliases: dict[str, str] = field(default_factory=dict)
    ids: dict[int, str] = field(default_factory=dict)  # entry position -> id of its resource
    matched: set[int] = field(default_factory=set)


async def _transaction(ctx: RecordRequest, items: list[BundleEntry]) -> list[dict[str, Any]]:
    responses: list[dict[str, Any] | None] = [None] * len(items)
    async with ctx.database.transaction(write=True) as connection:
        writer = ctx.writer(connection, batched=True)
        plan = await _plan(writer, items)
        for item in items:
            if item.resource is not None:
                item.resource = await _rewrite(writer, item, plan.aliases)
        for item in sorted(items, key=lambda i: _ORDER[i.method]):
            try:
                responses[item.position] = await entries.run(
                    writer,
                    item,
                    target_id=plan.ids.get(item.position),
                    matched=item.position in plan.matched,
                    settings=ctx.settings,
                )
            except FhirError as error:
                raise _in_entry(error, item) from error
        try:
            await writer.verify_references()
        except FhirError as error:
            raise FhirError(
                error.status,
                f"The transaction was not applied: {error.diagnostics}",
                code=error.code,
                issues=error.issues,
            ) from error
    ctx.committed(writer)
    return [r for r in responses if r is not None]


async def _plan(writer: RecordWriter, items: list[BundleEntry]) -> _Plan:
    plan = _Plan()
    seen_conditions: dict[str, str] = {}
    for item in items:
        try:
            await _plan_entry(writer, item, plan, seen_conditions)
        except FhirError as error:
            raise _in_entry(error, item) from error
    return plan


async def _plan_entry(
    writer: RecordWriter, item: BundleEntry, plan: _Plan, seen_conditions: dict[str, str]
) -> None:
    if item.method == "POST":
        await _plan_create(writer, item, plan, seen_conditions)
    elif item.method in ("PUT", "PATCH") and item.condition:
        await _plan_conditional_update(writer, item, plan)
    elif item.method in ("PUT", "PATCH") and item.full_url:
        plan.aliases[item.full_url] = f"{item.resource_type}/{item.resource_id}"


async def _plan_create(
    writer: RecordWriter, item: BundleEntry, plan: _Plan, seen: dict[str, str]
) -> None:
    target_id = str(uuid.uuid4())
    if item.if_none_exist:
        key = f"{item.resource_type}?{item.if_none_exist}"
        if key in seen:
            target_id = seen[key]
            plan.matched.add(item.position)
        else:
            match = await writer.find_single(item.resource_type, item.if_none_exist, "ifNoneExist")
            if match is not None:
                target_id = match.id
                plan.matched.add(item.position)
            seen[key] = target_id
    elif item.resource_type == "Patient" and item.resource is not None:
        registered = await writer.registered(item.resource)
        if registered is not None:
            target_id = registered.id
            plan.matched.add(item.position)
    plan.ids[item.position] = target_id
    if item.full_url:
        plan.aliases[item.full_url] = f"{item.resource_type}/{target_id}"


async def _plan_conditional_update(writer: RecordWriter, item: BundleEntry, plan: _Plan) -> None:
    assert item.condition is not None
    match = await writer.find_single(item.resource_type, item.condition, "The conditional update")
    target_id = match.id if match else str(uuid.uuid4())
    item.resource_id = target_id
    if item.resource is not None:
        item.resource = {**item.resource, "id": target_id}
    if item.full_url:
        plan.aliases[item.full_url] = f"{item.resource_type}/{target_id}"


async def _rewrite(writer: RecordWriter, item: BundleEntry, aliases: dict[str, str]) -> Any:
    """The entry's resource with bundle-local and conditional references made literal."""

    async def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            result = {}
            for key, child in value.items():
                if key == "reference" and isinstance(child, str):
                    result[key] = await _resolve(writer, child, aliases, item)
                else:
                    result[key] = await rewrite(child)
            return result
        if isinstance(value, list):
            return [await rewrite(child) for child in value]
        return value

    return await rewrite(item.resource)


async def _resolve(
    writer: RecordWriter, reference: str, aliases: dict[str, str], item: BundleEntry
) -> str:
    if reference in aliases:
        return aliases[reference]
    if reference.startswith("urn:uuid:") or reference.startswith("urn:oid:"):
        raise FhirError(
            422,
            f"Bundle.entry[{item.position}] refers to {reference}, which no entry's fullUrl is",
            code="not-found",
        )
    type_name, _, query = reference.partition("?")
    if query and is_resource_type(type_name) and parse_qsl(query):
        match = await writer.find_single(type_name, query, f"The reference {reference}")
        if match is None:
            raise FhirError(422, f"The reference {reference} matches nothing", code="not-found")
        aliases[reference] = match.reference
        return match.reference
    return reference


def _in_entry(error: FhirError, item: BundleEntry) -> FhirError:
    where = f"Bundle.entry[{item.position}]"
    return FhirError(
        error.status,
        f"The transaction was not applied: {where} ({item.method} {item.url}): {error.diagnostics}",
        code=error.code,
        expression=[where],
    )


async def _batch(ctx: RecordRequest, items: list[BundleEntry]) -> list[dict[str, Any]]:
    responses: list[dict[str, Any]] = []
    for item in items:
        try:
            async with ctx.database.transaction(write=item.method != "GET") as connection:
                writer = ctx.writer(connection)
                if item.resource is not None:
                    item.resource = await _rewrite(writer, item, {})
                response = await entries.run(
                    writer, item, target_id=None, matched=False, settings=ctx.settings
                )
                await writer.verify_references()
            ctx.committed(writer)
        except FhirError as error:
            response = entries.failure(error)
        responses.append(response)
    return responses
