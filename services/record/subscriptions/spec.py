"""What a Subscription resource asks for, checked when it is written."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from shared.errors import FhirError
from shared.fhir.indexvalues import IndexValues
from shared.fhir.queryparser import parse_search
from shared.fhir.searchquery import Criterion, SearchQuery
from shared.fhir.validation import is_resource_type

PAYLOAD_CONTENT = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content"
)
CHANNELS = frozenset({"rest-hook"})
CONTENTS = frozenset({"empty", "id-only", "full-resource"})
# Which statuses still collect events: requested and error subscriptions keep theirs waiting.
COLLECTING = ("requested", "active", "error")


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    id: str
    version: int
    status: str
    resource_type: str
    criteria: tuple[tuple[str, str], ...]
    endpoint: str
    headers: tuple[tuple[str, str], ...]
    content: str  # empty | id-only | full-resource

    def query_for(self, *resource_ids: str) -> SearchQuery:
        """The criteria, narrowed to these resources: which of them match?"""
        narrowed = [*self.criteria, ("_id", ",".join(resource_ids))]
        return parse_search(self.resource_type, narrowed, strict=True)

    def could_match(self, index: IndexValues) -> bool:
        """False when a plain token criterion (``code=x``, ``status=active``) names only codes
        this version has none of, so the search in ``query_for`` would find nothing; True
        whenever that cannot be told from the index values alone."""
        for criterion in _plain_tokens(self.resource_type, self.criteria):
            wanted = {v.parts[-1].lower() for v in criterion.values}
            if "" in wanted:
                continue  # "system|": any code of that system
            held = {
                t.code.lower() for t in index.tokens if t.param == criterion.param.code and t.code
            }
            if not held & wanted:
                return False
        return True


@lru_cache(maxsize=256)
def _plain_tokens(resource_type: str, criteria: tuple[tuple[str, str], ...]) -> list[Criterion]:
    """The plain token criteria among a subscription's (no modifier, chain or _ parameter)."""
    query = parse_search(resource_type, list(criteria), strict=True)
    return [
        c
        for c in query.criteria
        if isinstance(c, Criterion)
        and c.param.type == "token"
        and not c.param.code.startswith("_")
        and c.modifier is None
        and c.chain is None
        and c.target_type is None
        and c.values
    ]


def unprocessable(message: str, expression: str) -> FhirError:
    return FhirError(422, message, code="invalid", expression=[f"Subscription.{expression}"])


def read_spec(resource: dict[str, Any], version: int = 0) -> SubscriptionSpec:
    """The subscription's request, or 422 naming what cannot be honoured."""
    channel = resource.get("channel") or {}
    if channel.get("type") not in CHANNELS:
        raise unprocessable(
            f"The channel type {channel.get('type')!r} is not supported; use rest-hook",
            "channel.type",
        )
    endpoint = str(channel.get("endpoint") or "")
    if urlsplit(endpoint).scheme not in ("http", "https") or not urlsplit(endpoint).netloc:
        raise unprocessable(
            "The rest-hook endpoint must be an http or https URL", "channel.endpoint"
        )
    resource_type, params = _criteria(str(resource.get("criteria") or ""))
    return SubscriptionSpec(
        id=str(resource.get("id", "")),
        version=version,
        status=str(resource.get("status", "")),
        resource_type=resource_type,
        criteria=tuple(params),
        endpoint=endpoint,
        headers=_headers(channel),
        content=_content(channel),
    )


def _criteria(criteria: str) -> tuple[str, list[tuple[str, str]]]:
    resource_type, _, query = criteria.partition("?")
    if not is_resource_type(resource_type):
        raise unprocessable(
            f"The criteria {criteria!r} must start with a resource type", "criteria"
        )
    params = parse_qsl(query, keep_blank_values=True)
    try:
        parse_search(resource_type, params, strict=True)
    except FhirError as error:
        raise unprocessable(
            f"The criteria cannot be searched: {error.diagnostics}", "criteria"
        ) from error
    return resource_type, params


def _headers(channel: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    headers = []
    for line in channel.get("header", []) or []:
        name, colon, value = str(line).partition(":")
        if not colon or not name.strip():
            raise unprocessable(f"The header {line!r} is not 'Name: value'", "channel.header")
        headers.append((name.strip(), value.strip()))
    return tuple(headers)


def _content(channel: dict[str, Any]) -> str:
    if not channel.get("payload"):
        return "empty"
    payload_ext = channel.get("_payload") or {}
    for extension in payload_ext.get("extension", []) or []:
        if extension.get("url") == PAYLOAD_CONTENT:
            content = str(extension.get("valueCode"))
            if content not in CONTENTS:
                raise unprocessable(
                    f"Payload content {content!r} is not one of " + ", ".join(sorted(CONTENTS)),
                    "channel.payload",
                )
            return content
    return "full-resource"
