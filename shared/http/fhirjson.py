"""FHIR JSON on the wire: content negotiation (Accept, _format, _pretty), request content
types, and turning errors into OperationOutcome responses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from shared.errors import FhirError

FHIR_JSON = "application/fhir+json"
JSON_PATCH = "application/json-patch+json"
_JSON_TYPES = frozenset({FHIR_JSON, "application/json", "application/json+fhir", "json"})
_ANY = frozenset({"*/*", "application/*", ""})


@dataclass(frozen=True, slots=True)
class Format:
    pretty: bool = False

    def dumps(self, value: Any) -> bytes:
        compact = orjson.dumps(value)
        if not self.pretty:
            return compact
        # Stored JSON travels as orjson.Fragment, which orjson copies verbatim: parse it back
        # so that every level is indented (_pretty is for people reading, not for speed).
        return orjson.dumps(orjson.loads(compact), option=orjson.OPT_INDENT_2)

    def response(
        self, value: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        body = b"" if value is None else self.dumps(value)
        return Response(
            body, status, headers=headers, media_type=None if value is None else CONTENT_TYPE
        )


CONTENT_TYPE = f"{FHIR_JSON}; charset=utf-8"


def negotiate(request: Request) -> Format:
    """JSON or nothing: 406 for XML or any other format a client insists on."""
    pretty = request.query_params.get("_pretty", "false").lower() == "true"
    wanted = request.query_params.get("_format")
    if wanted is not None:
        if wanted.split(";")[0].strip().lower() not in _JSON_TYPES:
            raise FhirError(
                406, f"_format={wanted} is not supported; use json", code="not-supported"
            )
        return Format(pretty)
    accept = request.headers.get("accept", "")
    offered = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if any(media in _JSON_TYPES or media in _ANY for media in offered):
        return Format(pretty)
    raise FhirError(
        406, f"Cannot answer in {accept!r}: OneStory speaks {FHIR_JSON}", code="not-supported"
    )


def require_content_type(request: Request, *accepted: str) -> None:
    """415 unless the body is declared as one of ``accepted`` (FHIR JSON by default)."""
    declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
    allowed = set(accepted) if accepted else _JSON_TYPES
    if declared not in allowed:
        raise FhirError(
            415,
            f"Content-Type {declared or '(none)'!r} is not supported here; send "
            + " or ".join(sorted(allowed - {"json"})),
            code="not-supported",
        )


def error_response(error: FhirError, pretty: bool = False) -> Response:
    return Format(pretty).response(error.outcome(), error.status, headers=error.headers)


def prefer(request: Request, name: str) -> str | None:
    """One preference of the Prefer header: prefer(request, "return") -> "minimal"."""
    for part in request.headers.get("prefer", "").split(";"):
        for item in part.split(","):
            key, _, value = item.strip().partition("=")
            if key.strip().lower() == name:
                return value.strip().strip('"')
    return None
