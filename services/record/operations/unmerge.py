"""``Patient/$unmerge``: undo a ``Patient/$merge`` made in error (OneStory's own operation;
FHIR defines none).

POST a Parameters resource with ``source-patient`` and ``target-patient`` (References to the
two records, as they were named to the merge) and, optionally, ``preview`` (boolean, default
false: work it all out, write nothing).

The record looks up the latest merge of the source into the target in its Provenance (ISO
21089 lifecycle ``merge``; its entities are the versions before the merge, its targets the
versions the merge wrote). For each resource that merge wrote, it compares the two versions
element by element and, wherever the current version still holds what the merge wrote, puts
back what was there before: so references that pointed at the target before the merge stay
with the target, and anything changed since the merge (a corrected reference, a new note)
is kept. The source gets back the ``active`` value it had before the merge and loses its
``replaced-by`` link; the target loses its ``replaces`` link (and, where not changed since,
what a ``result-patient`` changed). Each change is a new version, in one transaction, with a
Provenance (ISO 21089 lifecycle ``unmerge``) naming the versions written, the versions they
replaced and the merge's Provenance, extending the caller's ``X-Provenance``. Resources
deleted since the merge, and resources that came to refer to the target after it, are left
as they are.

The answer (200) is a Parameters: ``input``, ``outcome`` (what was, or would be, done),
``result`` (the target afterwards) and ``source`` (the source afterwards).

Errors: 400 as for $merge; 404 (410) a patient not in the record (deleted); 422 source and
target the same; 409 when there is no merge of the source into the target to undo, or the
latest one was already undone. The caller needs ``*.u``, as for $merge.
"""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.record.context import Ctx
from services.record.merging.parameters import answer, outcome, unmerge_request
from services.record.merging.transaction import in_transaction
from services.record.merging.unmerger import Unmerged, unmerge
from services.record.operations.merge import read_request

router = APIRouter(prefix="/fhir")


@router.post("/Patient/$unmerge")
async def patient_unmerge(request: Request, ctx: Ctx) -> Response:
    sent, caller = await read_request(request)
    asked = unmerge_request(sent, ctx.base_url)
    unmerged = await in_transaction(
        ctx, lambda writer: unmerge(writer, asked, caller), preview=asked.preview
    )
    said = outcome(
        _summary(unmerged, asked.preview),
        Counter(stored.resource_type for stored in unmerged.restored),
    )
    return ctx.fmt.response(
        answer(sent, said, result=unmerged.target.resource(), source=unmerged.source.resource())
    )


def _summary(unmerged: Unmerged, preview: bool) -> str:
    source, target = unmerged.source.reference, unmerged.target.reference
    undone = f"the merge of {source} into {target} (Provenance/{unmerged.merge.id})"
    given_back = f"{len(unmerged.restored)} resources ({unmerged.references} elements)"
    if preview:
        return (
            f"Preview, nothing was written: undoing {undone} would give {given_back} back to "
            f"{source} and make it a record of its own again"
        )
    return f"Undid {undone}: {given_back} given back to {source}, a record of its own again"
