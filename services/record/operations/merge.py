"""``Patient/$merge``: two records of one person become one (the FHIR Patient-merge
operation, R5 OperationDefinition ``Patient-merge``, served on R4).

POST a Parameters resource with:

- ``source-patient`` (Reference) and/or ``source-patient-identifier`` (Identifier, 0..*): the
  record that goes. Identifiers must all be on the record; given alone, they must find exactly
  one live record (records already merged into another are not looked at).
- ``target-patient`` and/or ``target-patient-identifier``: the record that survives.
- ``result-patient`` (Patient, optional): the target as it should be after the merge. It must
  keep the target's id and identifiers, link to the source with type ``replaces`` and stay
  active; with ``meta.versionId`` it must be made from the target's current version (412).
- ``preview`` (boolean, default false): work it all out, write nothing.

In one transaction, through the record's writer (so versions, history, search indexes and
subscription notifications follow as for any write): every current resource that refers to
the source (found on the reference index, Provenance and AuditEvent aside) gets a new version
in which every reference to the source (``Patient/s``, ``{base}/Patient/s``, and
``Patient/s/_history/n``, which becomes the target's merged version) names the target; the
source becomes inactive with a ``replaced-by`` link; the target gains a ``replaces`` link (or
becomes result-patient); a Provenance (ISO 21089 lifecycle ``merge``) names every version
written as a target and every version it replaced as an entity (role ``source``), extending
the caller's ``X-Provenance``. Old versions keep their references to the source, and the
source can still be read. ``Patient/$unmerge`` undoes a merge.

The answer (200) is a Parameters: ``input`` (what was sent), ``outcome`` (what was, or would
be, done, with how many resources of each type were moved) and ``result`` (the target as it
is, or would be, after the merge).

Errors: 400 not a Parameters, unreadable JSON, an unknown or repeated parameter, no source or
no target; 404 a reference to a patient not in the record (410 deleted); 422 source and
target the same, source already merged, target merged or inactive, identifiers matching no
live record or several, result-patient not fit; 412 stale result-patient. Nothing is written
unless everything is: a resource that cannot be rewritten fails the merge, naming it.

The caller needs to be allowed to update every resource type (``*.u``): a merge rewrites
whatever refers to the source. A resource that refers to the source only where no search
parameter looks (in an extension alone) is not found, and keeps its reference.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.record.context import Ctx
from services.record.merging.merger import Merged, merge
from services.record.merging.parameters import answer, merge_request, outcome
from services.record.merging.provenance import caller_provenance
from services.record.merging.transaction import in_transaction
from services.record.routes import provenance_from_header
from services.record.writes import now_micros
from shared.auth.dependency import require
from shared.fhir.dates import micros_to_instant
from shared.fhir.validation import parse_json
from shared.http.fhirjson import require_content_type

router = APIRouter(prefix="/fhir")


@router.post("/Patient/$merge")
async def patient_merge(request: Request, ctx: Ctx) -> Response:
    sent, caller = await read_request(request)
    asked = merge_request(sent, ctx.base_url)
    merged = await in_transaction(
        ctx, lambda writer: merge(writer, asked, caller), preview=asked.preview
    )
    said = outcome(_summary(merged, asked.preview), _moved_types(merged))
    return ctx.fmt.response(answer(sent, said, result=merged.target.resource()))


async def read_request(request: Request) -> tuple[Any, dict[str, Any]]:
    """The Parameters a merge or un-merge was sent, and the Provenance naming its caller;
    403 without write access to every type (a merge rewrites them all)."""
    principal = request.state.principal
    require(principal, "*", "u")
    require_content_type(request)
    sent = parse_json(await request.body())
    caller = caller_provenance(
        provenance_from_header(request), principal, micros_to_instant(now_micros())
    )
    return sent, caller


def _summary(merged: Merged, preview: bool) -> str:
    source, target = merged.source.reference, merged.target.reference
    moved = f"{len(merged.moved)} resources ({merged.references} references)"
    if preview:
        return (
            f"Preview, nothing was written: merging {source} into {target} would point {moved} "
            f"at {target}, and make {source} inactive, replaced by {target}"
        )
    return (
        f"{source} was merged into {target}: {moved} now point at {target}; {source} is "
        f"inactive, replaced by {target}"
    )


def _moved_types(merged: Merged) -> Counter[str]:
    return Counter(stored.resource_type for stored in merged.moved)
