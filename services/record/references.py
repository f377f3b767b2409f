"""Which references in a resource point into the record, and do they point at something?

A local reference ("Patient/123", or an absolute URL under this server's base) must name a
resource that exists when the write commits; references to other servers are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.errors import FhirError
from shared.fhir.validation import is_resource_type
from shared.storage import reads

_RELATIVE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]+)?$")


@dataclass(frozen=True, slots=True)
class PendingReference:
    source: str  # "Observation/abc", for the error message
    reference: str
    target: tuple[str, str] | None  # (type, id) when local


def classify(source: str, reference: str, base_url: str) -> PendingReference:
    """Work out whether ``reference`` is local; 422 if it cannot be understood at all."""
    text = reference
    base = base_url.rstrip("/") + "/" if base_url else ""
    if base and text.startswith(base):
        text = text[len(base) :]
    match = _RELATIVE.match(text)
    if match and is_resource_type(match.group(1)):
        return PendingReference(source, reference, (match.group(1), match.group(2)))
    if "://" in text:
        return PendingReference(source, reference, None)
    raise FhirError(
        422,
        f"{source} refers to '{reference}', which is neither 'Type/id' nor an absolute URL",
        code="processing",
    )


async def verify(connection: AsyncConnection, pending: list[PendingReference]) -> None:
    """422 naming every local reference whose target does not exist (or was deleted)."""
    local = [p for p in pending if p.target is not None]
    found = await reads.existing(connection, (p.target for p in local if p.target))
    broken = [p for p in local if p.target not in found]
    if not broken:
        return
    issues = [
        {
            "severity": "error",
            "code": "not-found",
            "diagnostics": f"{p.source} refers to '{p.reference}', which does not exist",
        }
        for p in broken
    ]
    raise FhirError(422, issues[0]["diagnostics"], code="not-found", issues=issues)


def localise(value: Any, base_url: str) -> Any:
    """The resource with absolute references to this server made relative ("Patient/1"), so
    one resource is always referred to one way."""
    base = base_url.rstrip("/") + "/"
    if isinstance(value, dict):
        return {
            key: child[len(base) :]
            if key == "reference" and isinstance(child, str) and child.startswith(base)
            else localise(child, base_url)
            for key, child in value.items()
        }
    if isinstance(value, list):
        return [localise(child, base_url) for child in value]
    return value
