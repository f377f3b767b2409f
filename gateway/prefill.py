"""``Questionnaire/$populate`` through the front door: only the pre-filled answers the
caller may see. (Whose record it reads, named in the body, is checked with the other
operations that name patients there: see ``gateway.compartment.PATIENT_PARAMETERS``.)

Each pre-filled answer names every resource it drew on (the
``prefill-source`` extension); for staff, an answer drawn from anything their guard would
withhold (the person's consent, the register's label) is taken out, and the answer's
``issues`` say how many were.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from starlette.responses import Response

from gateway import forwarding
from gateway.call import Call, GatewayState
from gateway.screening import screen
from shared.fhir.terms import PREFILL_SOURCE

Resource = dict[str, Any]


async def screened(state: GatewayState, call: Call, answer: Any) -> Response:
    """The record's answer, less the pre-filled answers drawn from what is withheld."""
    parameters = forwarding.json_body(answer)
    response = _response_of(parameters) if answer.status_code == 200 else None
    if response is None:
        return await screen(call, answer)
    sources = {
        ref for item in _items(response) for a in item.get("answer", []) for ref in _sources(a)
    }
    visible = await _visible(state, call, sources)
    withheld = 0
    for item in _items(response):
        kept = [a for a in item.get("answer", []) if set(_sources(a)) <= visible]
        withheld += len(item.get("answer", [])) - len(kept)
        if kept:
            item["answer"] = kept
        else:
            item.pop("answer", None)
    if withheld:
        _add_issue(parameters, withheld)
    return forwarding.replace_body(answer, parameters)


async def _visible(state: GatewayState, call: Call, references: set[str]) -> set[str]:
    by_type: dict[str, list[str]] = {}
    for reference in sorted(references):
        resource_type, _, resource_id = reference.partition("/")
        by_type.setdefault(resource_type, []).append(resource_id)
    searches = [f"{t}?_id={','.join(ids)}&_count={len(ids)}" for t, ids in by_type.items()]
    found = await state.record.batch_search(searches) if searches else []
    return {
        f"{r['resourceType']}/{r['id']}"
        for batch in found
        for r in batch
        if await call.guard.visible(r)
    }


def _response_of(parameters: Any) -> Resource | None:
    if not isinstance(parameters, dict) or parameters.get("resourceType") != "Parameters":
        return None
    for parameter in parameters.get("parameter") or []:
        if parameter.get("name") == "response" and isinstance(parameter.get("resource"), dict):
            response: Resource = parameter["resource"]
            return response
    return None


def _items(node: Resource) -> Iterator[Resource]:
    for item in node.get("item") or []:
        yield item
        yield from _items(item)
        for answer in item.get("answer") or []:
            yield from _items(answer)


def _sources(answer: Resource) -> list[str]:
    return [
        str(part["valueReference"]["reference"])
        for extension in answer.get("extension") or []
        if extension.get("url") == PREFILL_SOURCE
        for part in extension.get("extension") or []
        if part.get("url") == "source" and (part.get("valueReference") or {}).get("reference")
    ]


def _add_issue(parameters: Resource, withheld: int) -> None:
    issue = {
        "severity": "information",
        "code": "suppressed",
        "diagnostics": f"{withheld} pre-filled answer(s) withheld by consent or access rules",
    }
    for parameter in parameters["parameter"]:
        if parameter.get("name") == "issues" and isinstance(parameter.get("resource"), dict):
            parameter["resource"].setdefault("issue", []).append(issue)
            return
    outcome = {"resourceType": "OperationOutcome", "issue": [issue]}
    parameters["parameter"].append({"name": "issues", "resource": outcome})
