"""``Patient/$match``: is this person already in the record? (FHIR R4, Patient-match)

POST a Parameters resource with ``resource`` (the Patient as registration knows them,
required), ``onlyCertainMatches`` (boolean, default false) and ``count`` (1..100, default
10). The answer is a searchset Bundle of the records that may be that person, best first,
each with ``search.mode = match``, ``search.score`` (0..1) and the match-grade extension
(certain, probable, possible, certainly-not), plus an OneStory extension listing how each
feature compared. A look-alike that a different NHS number rules out is returned last as
certainly-not, so that a clerk sees why it was not offered.

Candidates come from a few narrow searches through the search engine (see
``services.record.identity.lookup``), at most 200 of them, never a scan of the table;
``services.record.identity.scoring`` grades them.

This operation only reads: it never links, merges or creates anything. When more than one
record is certain (the specification would have ``onlyCertainMatches`` return none), OneStory
returns them all with a ``multiple-matches`` warning: they are probably duplicates of one
another, and nobody should link to one of them automatically until they are merged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from services.record.context import Ctx
from services.record.identity.demographics import Demographics, demographics
from services.record.identity.lookup import MAX_CANDIDATES, find_candidates
from services.record.identity.scoring import Match, score
from shared.errors import bad_request, unprocessable
from shared.fhir.validation import parse_json, validate
from shared.http.fhirjson import require_content_type
from shared.storage.rows import StoredResource

router = APIRouter(prefix="/fhir")

MATCH_GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
EVIDENCE = "https://onestory.example.nhs.uk/StructureDefinition/match-evidence"
DEFAULT_COUNT = 10
MAX_COUNT = 100
_PARAMETERS = frozenset({"resource", "onlyCertainMatches", "count"})


@dataclass(frozen=True, slots=True)
class MatchRequest:
    patient: dict[str, Any]
    only_certain: bool = False
    count: int = DEFAULT_COUNT


@dataclass(frozen=True, slots=True)
class Scored:
    stored: StoredResource
    match: Match


@router.post("/Patient/$match")
async def patient_match(request: Request, ctx: Ctx) -> Response:
    require_content_type(request)
    asked = match_request(parse_json(await request.body()))
    person = demographics(asked.patient)
    _check_matchable(person)
    async with ctx.database.transaction(write=False) as connection:
        candidates, capped = await find_candidates(connection, person, ctx.base_url)
    found = [
        Scored(stored, score(person, demographics(stored.resource()))) for stored in candidates
    ]
    return ctx.fmt.response(_bundle(rank(found, asked), ctx.base_url, capped))


# --- The request ---------------------------------------------------------------------------


def match_request(body: Any) -> MatchRequest:
    """The operation's parameters, or 400 / 422 naming what is wrong."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise bad_request("Patient/$match takes a Parameters resource", expression=["Parameters"])
    values = _parameters(body.get("parameter"))
    if "resource" not in values:
        raise bad_request(
            "The parameter 'resource' (the Patient to match) is required",
            code="required",
            expression=["Parameters.parameter"],
        )
    return MatchRequest(
        patient=_patient(values["resource"]),
        only_certain=_boolean(values.get("onlyCertainMatches")),
        count=_count(values.get("count")),
    )


def _parameters(parameters: Any) -> dict[str, dict[str, Any]]:
    if parameters is None:
        parameters = []
    if not isinstance(parameters, list) or not all(isinstance(p, dict) for p in parameters):
        raise bad_request("Parameters.parameter must be a list of parameters")
    values: dict[str, dict[str, Any]] = {}
    for position, parameter in enumerate(parameters):
        name = parameter.get("name")
        where = [f"Parameters.parameter[{position}]"]
        if name not in _PARAMETERS:
            known = ", ".join(sorted(_PARAMETERS))
            raise bad_request(f"$match takes {known}, not {name!r}", expression=where)
        if name in values:
            raise bad_request(f"The parameter '{name}' is given twice", expression=where)
        values[name] = parameter
    return values


def _patient(parameter: dict[str, Any]) -> dict[str, Any]:
    patient = parameter.get("resource")
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise bad_request(
            "The parameter 'resource' must hold a Patient resource",
            expression=["Parameters.parameter.resource"],
        )
    validate(patient)  # 422 with an issue per problem, an invalid NHS number included
    return patient


def _boolean(parameter: dict[str, Any] | None) -> bool:
    if parameter is None:
        return False
    value = parameter.get("valueBoolean")
    if not isinstance(value, bool):
        raise bad_request("onlyCertainMatches must be a valueBoolean (true or false)")
    return value


def _count(parameter: dict[str, Any] | None) -> int:
    if parameter is None:
        return DEFAULT_COUNT
    value = parameter.get("valueInteger")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise bad_request("count must be a valueInteger of 1 or more")
    return min(value, MAX_COUNT)


def _check_matchable(person: Demographics) -> None:
    if person.nhs_number or person.birth_date or any(n.family for n in person.names):
        return
    raise unprocessable(
        "The Patient has nothing to match on: give an NHS number, a birth date or a family "
        "name (better all three, with given name, gender, postcode and phone)",
        expression=["Parameters.parameter.resource"],
    )


# --- Ranking -------------------------------------------------------------------------------


def rank(found: list[Scored], asked: MatchRequest) -> list[Scored]:
    """Best first (score, then weight of evidence, then id for a stable order), cut to
    ``count``; only the certain ones if asked."""
    kept = [s for s in found if s.match.worth_reporting]
    if asked.only_certain:
        kept = [s for s in kept if s.match.grade == "certain"]
    kept.sort(key=lambda s: (-s.match.score, -s.match.weight, s.stored.id))
    return kept[: asked.count]


# --- The answer ----------------------------------------------------------------------------


def _bundle(ranked: list[Scored], base_url: str, capped: bool) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [_entry(s, base_url) for s in ranked]
    warnings = _warnings(ranked, capped)
    if warnings:
        entries.append(
            {
                "resource": {"resourceType": "OperationOutcome", "issue": warnings},
                "search": {"mode": "outcome"},
            }
        )
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(ranked),
        "link": [{"relation": "self", "url": f"{base_url}/Patient/$match"}],
    }
    if entries:
        bundle["entry"] = entries
    return bundle


def _entry(scored: Scored, base_url: str) -> dict[str, Any]:
    stored, match = scored.stored, scored.match
    evidence = [{"url": e.feature, "valueCode": e.outcome} for e in match.evidence]
    return {
        "fullUrl": f"{base_url}/Patient/{stored.id}",
        "resource": orjson.Fragment(stored.content),
        "search": {
            "extension": [
                {"url": MATCH_GRADE, "valueCode": match.grade},
                {"url": EVIDENCE, "extension": evidence},
            ],
            "mode": "match",
            "score": match.score,
        },
    }


def _warnings(ranked: list[Scored], capped: bool) -> list[dict[str, Any]]:
    warnings = []
    certain = [f"Patient/{s.stored.id}" for s in ranked if s.match.grade == "certain"]
    if len(certain) > 1:
        warnings.append(
            _issue(
                "multiple-matches",
                f"{len(certain)} records are certain matches ({', '.join(certain)}): they are"
                " probably duplicates of one person; link none of them automatically before"
                " they are reviewed and merged",
            )
        )
    if capped:
        warnings.append(
            _issue(
                "too-costly",
                f"Only the first {MAX_CANDIDATES} candidates were scored; add details "
                "(NHS number, birth date, postcode) to narrow the search",
            )
        )
    return warnings


def _issue(code: str, diagnostics: str) -> dict[str, Any]:
    return {"severity": "warning", "code": code, "diagnostics": diagnostics}
