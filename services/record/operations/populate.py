"""``Questionnaire/$populate``: a form pre-filled with what the record already knows (SDC).

``POST [base]/Questionnaire/$populate`` and ``POST [base]/Questionnaire/{id}/$populate`` take a
Parameters resource (SDC $populate, R4):

- the Questionnaire, at type level exactly one of ``identifier`` (valueIdentifier),
  ``canonical`` (its url, optionally ``|version``), ``questionnaire`` (the resource inline) or
  ``questionnaireRef`` (valueReference); at instance level these are ignored;
- ``subject`` (valueReference to the Patient, required);
- ``context`` / ``launchContext`` (repeating: ``name`` and ``content``, a resource inline or a
  valueReference into the record), for the launch contexts the Questionnaire declares;
- ``local`` (accepted and ignored: the record's own data is always used).

The answer (200) is a Parameters with ``response``, an in-progress QuestionnaireResponse (see
``services.record.sdc.populate`` for where each answer comes from), and ``issues``, an
OperationOutcome of warnings, when there are any.

Errors: 400 for a body that is not a Parameters, a parameter this operation does not take, a
missing subject, or not exactly one way of naming the Questionnaire; 404 (410 if deleted) for
an unknown Questionnaire id in the URL; 422 for a canonical, identifier or questionnaireRef that
names no Questionnaire in the record, an invalid inline Questionnaire, and for a subject that
is not a Patient in the record (422 rather than 404: the operation exists, its input is
wrong); 403 when the token may not read Patients, or is a resident's token and the subject is
someone else. The operation only reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from services.record import reading
from services.record.context import Ctx, resource_id_of
from services.record.sdc.populate import Found, PopulateInput, Populator, Search
from shared.auth.dependency import require
from shared.auth.tokens import Principal
from shared.errors import FhirError, bad_request, unprocessable
from shared.fhir.fhirpath_types import parse_reference
from shared.fhir.queryparser import parse_search
from shared.fhir.validation import parse_json, validate
from shared.http.fhirjson import require_content_type
from shared.storage import reads
from shared.storage.search import search

router = APIRouter(prefix="/fhir")

PER_SEARCH = 100
_NAMING = ("identifier", "canonical", "questionnaire", "questionnaireRef")
_CONTEXTS = ("context", "launchContext")
_PARAMETERS = frozenset({*_NAMING, *_CONTEXTS, "subject", "local"})


@dataclass(frozen=True, slots=True)
class PopulateRequest:
    """The parameters, read: how the Questionnaire is named, whose form it is, the contexts."""

    subject: str  # the reference text, e.g. "Patient/123"
    naming: dict[str, Any] | None  # the one naming parameter, None at instance level
    contexts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@router.post("/Questionnaire/$populate")
async def populate_type(request: Request, ctx: Ctx) -> Response:
    return await _populate(request, ctx, None)


@router.post("/Questionnaire/{questionnaire_id}/$populate")
async def populate_instance(questionnaire_id: str, request: Request, ctx: Ctx) -> Response:
    return await _populate(request, ctx, resource_id_of(questionnaire_id))


async def _populate(request: Request, ctx: Ctx, questionnaire_id: str | None) -> Response:
    require_content_type(request)
    principal: Principal = request.state.principal
    require(principal, "Patient", "r")
    asked = populate_request(
        parse_json(await request.body()), instance=questionnaire_id is not None
    )
    async with ctx.database.transaction(write=False) as connection:
        questionnaire, stored_id = await _questionnaire(connection, asked, questionnaire_id)
        patient = await _patient(connection, asked.subject, ctx.base_url, principal)
        contexts = await _contexts(connection, asked.contexts, patient, principal)
        populator = Populator(
            PopulateInput(questionnaire, patient, datetime.now(UTC), stored_id, contexts),
            search=_searcher(connection, ctx.base_url),
            permits=lambda resource_type: principal.allows(resource_type, "s") is not None,
            base_url=ctx.base_url,
        )
        populated = await populator.populate()
    out: list[dict[str, Any]] = [{"name": "response", "resource": populated.response}]
    if populated.issues:
        issues = {"resourceType": "OperationOutcome", "issue": populated.issues}
        out.append({"name": "issues", "resource": issues})
    return ctx.fmt.response({"resourceType": "Parameters", "parameter": out})


# --- The request ---------------------------------------------------------------------------


def populate_request(body: Any, *, instance: bool) -> PopulateRequest:
    """The operation's parameters, or 400 naming what is wrong."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise bad_request("$populate takes a Parameters resource", expression=["Parameters"])
    single, contexts = _parameters(body.get("parameter") or [])
    subject = _subject(single.get("subject"))
    naming = [single[n] for n in _NAMING if n in single]
    if not instance and len(naming) != 1:
        raise bad_request(
            "Name the Questionnaire with exactly one of identifier, canonical, questionnaire or "
            "questionnaireRef (or call Questionnaire/{id}/$populate)",
            code="required",
        )
    return PopulateRequest(subject, None if instance else naming[0], contexts)


def _parameters(
    parameters: Any,
) -> tuple[dict[str, dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    """The parameters that may appear once, by name; and the launch contexts, in order."""
    if not isinstance(parameters, list) or not all(isinstance(p, dict) for p in parameters):
        raise bad_request("Parameters.parameter must be a list of parameters")
    single: dict[str, dict[str, Any]] = {}
    contexts: list[tuple[str, dict[str, Any]]] = []
    for position, parameter in enumerate(parameters):
        name, where = parameter.get("name"), [f"Parameters.parameter[{position}]"]
        if name not in _PARAMETERS:
            known = ", ".join(sorted(_PARAMETERS))
            raise bad_request(f"$populate takes {known}, not {name!r}", expression=where)
        if name in _CONTEXTS:
            contexts.append(_context(parameter, where))
        elif name in single:
            raise bad_request(f"The parameter '{name}' is given twice", expression=where)
        else:
            single[name] = parameter
    return single, contexts


def _subject(parameter: dict[str, Any] | None) -> str:
    if parameter is None:
        raise bad_request(
            "The parameter 'subject' (a valueReference to the Patient) is required",
            code="required",
            expression=["Parameters.parameter"],
        )
    reference = (parameter.get("valueReference") or {}).get("reference")
    if not isinstance(reference, str) or not reference:
        raise bad_request("subject must be a valueReference such as {'reference': 'Patient/1'}")
    return reference


def _context(parameter: dict[str, Any], where: list[str]) -> tuple[str, dict[str, Any]]:
    parts = {p.get("name"): p for p in parameter.get("part") or [] if isinstance(p, dict)}
    name_part, content = parts.get("name") or {}, parts.get("content") or {}
    coding = name_part.get("valueCoding") or {}
    name = next(
        (name_part[k] for k in ("valueString", "valueCode", "valueId") if k in name_part),
        coding.get("code") if isinstance(coding, dict) else None,
    )
    if not isinstance(name, str) or not ("resource" in content or "valueReference" in content):
        raise bad_request(
            "A launch context needs a 'name' part and a 'content' part (a resource or a "
            "valueReference)",
            expression=where,
        )
    return name, content


# --- Finding what the request names --------------------------------------------------------


async def _questionnaire(
    connection: AsyncConnection, asked: PopulateRequest, questionnaire_id: str | None
) -> tuple[dict[str, Any], str | None]:
    """The Questionnaire to pre-fill, and its id in the record (None for one sent inline)."""
    if questionnaire_id is not None:
        stored = await reading.read(connection, "Questionnaire", questionnaire_id)  # 404, 410
        return stored.resource(), stored.id
    assert asked.naming is not None
    return await _named_questionnaire(connection, asked.naming)


async def _named_questionnaire(
    connection: AsyncConnection, naming: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    if isinstance(naming.get("resource"), dict):
        questionnaire = naming["resource"]
        if questionnaire.get("resourceType") != "Questionnaire":
            raise bad_request("The parameter 'questionnaire' must hold a Questionnaire")
        validate({**questionnaire, "id": questionnaire.get("id") or "inline"})
        return questionnaire, None
    if isinstance(naming.get("valueIdentifier"), dict):
        identifier = naming["valueIdentifier"]
        system, value = identifier.get("system"), identifier.get("value") or ""
        token = f"{system}|{value}" if system else str(value)
        return await _found(connection, [("identifier", token)], f"identifier {token}")
    if isinstance(naming.get("valueReference"), dict):
        text = naming["valueReference"].get("reference")
        parsed = parse_reference(text) if isinstance(text, str) else None
        if parsed is None or parsed[0] != "Questionnaire":
            raise unprocessable(f"questionnaireRef {text!r} does not name a Questionnaire")
        return await _found(connection, [("_id", parsed[1])], f"reference {text}")
    canonical = next((naming[k] for k in ("valueCanonical", "valueUri") if k in naming), None)
    if not isinstance(canonical, str) or not canonical:
        raise bad_request("Name the Questionnaire with a valueCanonical (url or url|version)")
    url, _, version = canonical.partition("|")
    params = [("url", url)] + ([("version", version)] if version else [])
    return await _found(connection, params, f"canonical {canonical}")


async def _found(
    connection: AsyncConnection, params: list[tuple[str, str]], named: str
) -> tuple[dict[str, Any], str]:
    """The newest-updated Questionnaire matching ``params``; 422 when none does."""
    query = parse_search("Questionnaire", [*params, ("_sort", "-_lastUpdated")], strict=True)
    page = await search(connection, query, page_size=1)
    if not page.matches:
        raise unprocessable(f"No Questionnaire in the record has the {named}", code="not-found")
    return page.matches[0].resource(), page.matches[0].id


async def _patient(
    connection: AsyncConnection, subject: str, base_url: str, principal: Principal
) -> dict[str, Any]:
    local = subject.removeprefix(base_url.rstrip("/") + "/") if base_url else subject
    parsed = parse_reference(local) if "://" not in local else None
    if parsed is None or parsed[0] != "Patient":
        raise unprocessable(f"The subject {subject!r} is not a Patient in this record")
    if principal.patient and principal.patient != parsed[1]:
        raise FhirError(
            403, "A resident's token may only populate their own forms", code="forbidden"
        )
    stored = await reads.current(connection, "Patient", parsed[1])
    if stored is None or stored.deleted:
        raise unprocessable(f"The subject {subject} is not in the record", code="not-found")
    return stored.resource()


async def _contexts(
    connection: AsyncConnection,
    given: list[tuple[str, dict[str, Any]]],
    patient: dict[str, Any],
    principal: Principal,
) -> dict[str, Any]:
    """The launch contexts by name, references read from the record; ``patient`` must be the
    subject (which is what ``%patient`` is anyway)."""
    contexts: dict[str, Any] = {}
    for name, content in given:
        resource = content.get("resource")
        if not isinstance(resource, dict):
            resource = await _referenced(connection, content.get("valueReference"), name)
            require(principal, resource["resourceType"], "r")
        if name == "patient":
            if resource.get("id") != patient["id"]:
                raise unprocessable("The 'patient' launch context is not the subject")
            continue
        contexts[name] = resource
    return contexts


async def _referenced(connection: AsyncConnection, reference: Any, name: str) -> dict[str, Any]:
    text = reference.get("reference") if isinstance(reference, dict) else None
    parsed = parse_reference(text) if isinstance(text, str) else None
    stored = await reads.current(connection, *parsed) if parsed else None
    if stored is None or stored.deleted:
        raise unprocessable(f"The launch context '{name}' names {text!r}, not in the record")
    return stored.resource()


def _searcher(connection: AsyncConnection, base_url: str) -> Search:
    """The engine's way to search the record: the record's own search, one page."""

    async def run(resource_type: str, params: list[tuple[str, str]]) -> Found:
        answer = await reading.run_search(
            connection,
            resource_type,
            params,
            strict=True,
            default_count=PER_SEARCH,
            max_count=PER_SEARCH,
            base_url=base_url,
        )
        page = answer.page
        return Found(
            matches=[s.resource() for s in page.matches],
            included=[s.resource() for s in page.included],
            more=page.next_cursor is not None,
        )

    return run
