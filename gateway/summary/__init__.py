"""``Patient/$summary``: the whole of a person's story on one page, as the caller may see it.

An International Patient Summary style document (a Bundle of type ``document`` with its
Composition) built by the gateway rather than the record, because what a summary may show
depends on who asks: their scopes, their relationship with the person, the person's consent
and, for the dynamic support register, whether they are on the person's register team. The
record is asked as the gateway; every fact then passes the caller's guard.

``GET Patient/{id}/$summary`` or ``GET Patient/$summary?identifier=system|value``; with
``_format=html`` (or ``Accept: text/html``) the same summary as a readable HTML page.

- ``gather``: the round trips to the record, and the guard;
- ``sections``: which facts belong in which section;
- ``narrative``: the lines and XHTML a person reads;
- ``document``: the Bundle and Composition.
"""

from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from gateway.call import Call, GatewayState
from gateway.summary.document import summary_document
from gateway.summary.gather import gather
from gateway.summary.narrative import page
from shared.errors import bad_request, not_found
from shared.fhir.dates import micros_to_instant
from shared.http.fhirjson import negotiate

_PARAMETERS = frozenset({"identifier", "_format", "_pretty"})
_HTML = frozenset({"html", "text/html"})


async def summary(state: GatewayState, call: Call) -> Response:
    """The answer to ``$summary``: a document Bundle, or its HTML page."""
    params = _parameters(call.request.url.query)
    html = asks_for_page(call.request)
    patient_id = call.interaction.resource_id
    if patient_id is None:
        patient_id = await _by_identifier(state, params.get("identifier"))
    await call.guard.check_patients({patient_id}, "Patient")
    gathered = await gather(state, call, patient_id)
    document = summary_document(
        gathered,
        base_url=_base_url(call),
        generated=micros_to_instant(time.time_ns() // 1000),
        document_id=str(uuid.uuid4()),
    )
    if html:
        return HTMLResponse(page(document["entry"][0]["resource"]))
    return negotiate(call.request).response(document)


def _parameters(query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in _PARAMETERS:
            known = ", ".join(sorted(_PARAMETERS))
            raise bad_request(f"$summary takes {known}, not {name!r}", code="not-supported")
        if name in params:
            raise bad_request(f"The parameter {name!r} is given twice")
        params[name] = value
    return params


def asks_for_page(request: Request) -> bool:
    """Is this a ``$summary`` asked for as an HTML page (``_format=html`` or an Accept
    header that puts text/html first)? Every other answer is FHIR JSON."""
    if not request.url.path.endswith("/$summary"):
        return False
    wanted = request.query_params.get("_format")
    if wanted is not None:
        return wanted.split(";")[0].strip().lower() in _HTML
    accept = request.headers.get("accept", "")
    return accept.split(",")[0].split(";")[0].strip().lower() == "text/html"


async def _by_identifier(state: GatewayState, identifier: str | None) -> str:
    if not identifier or "|" not in identifier:
        raise bad_request(
            "Patient/$summary needs the person: Patient/{id}/$summary, or "
            "identifier=system|value (an NHS number: https://fhir.nhs.uk/Id/nhs-number|...)",
            code="required",
        )
    found = await state.record.search("Patient", [("identifier", identifier), ("_count", "2")])
    if not found:
        raise not_found(f"No Patient has the identifier {identifier}")
    if len(found) > 1:
        raise bad_request(
            f"More than one Patient has the identifier {identifier}", code="multiple-matches"
        )
    return str(found[0]["id"])


def _base_url(call: Call) -> str:
    request = call.request
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}/fhir"
