"""``Patient/{id}/$everything``: the whole of one person's record in one call.

Everything in the patient's compartment (as the specification's CompartmentDefinition draws
it), with the practitioners, organisations and other resources it refers to, page by page.
Parameters: ``_since``, ``_type``, ``_count`` (and the paging cursor of the next link).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from services.record import reading, responses
from services.record.context import Ctx, resource_id_of
from shared.errors import bad_request
from shared.fhir.dates import date_range
from shared.fhir.validation import is_resource_type
from shared.storage import compartment
from shared.storage.paging import Cursor
from shared.storage.search import SearchPage

router = APIRouter(prefix="/fhir")
_PARAMETERS = frozenset(
    {"_since", "_type", "_count", "_cursor", "_format", "_pretty", "start", "end"}
)


@router.get("/Patient/{patient_id}/$everything")
async def everything(patient_id: str, ctx: Ctx) -> Response:
    rid = resource_id_of(patient_id)
    options = _options(ctx.params, ctx.settings.max_page_size)
    async with ctx.database.transaction(write=False) as connection:
        await reading.read(connection, "Patient", rid)  # 404 / 410 as for a read
        members, following = await compartment.page(connection, rid, **options)
        included = await compartment.referenced(connection, members)
        total = None
        if "_cursor" not in dict(ctx.params):
            total = await compartment.count(
                connection, rid, types=options["types"], since=options["since"]
            )
    page = SearchPage(
        matches=members,
        included=included,
        total=total,
        next_cursor=following.encode() if following else None,
    )
    bundle = responses.searchset(
        page,
        base_url=ctx.base_url,
        path=f"Patient/{rid}/$everything",
        params=ctx.params,
        summary=None,
        elements=(),
        warnings=[],
    )
    return ctx.fmt.response(bundle)


def _options(params: list[tuple[str, str]], max_count: int) -> dict[str, Any]:
    values = dict(params)
    unknown = sorted({name for name, _ in params} - _PARAMETERS)
    if unknown:
        raise bad_request(f"$everything does not take {', '.join(unknown)}")
    types = tuple(t for t in values.get("_type", "").split(",") if t)
    for name in types:
        if not is_resource_type(name):
            raise bad_request(f"_type: {name!r} is not a resource type")
    since = None
    if "_since" in values:
        try:
            since = date_range(values["_since"])[0]
        except ValueError as error:
            raise bad_request(f"_since={values['_since']} is not a FHIR instant") from error
    count = values.get("_count", "100")
    if not count.isdigit() or int(count) == 0:
        raise bad_request("_count must be a positive whole number")
    cursor = Cursor.decode(values["_cursor"]) if "_cursor" in values else None
    return {
        "types": types,
        "since": since,
        "cursor": cursor,
        "page_size": min(int(count), max_count),
    }
